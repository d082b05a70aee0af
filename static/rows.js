// Add and remove rows of a repeated field (work intervals, dates, contact numbers).
// Without JS the form still shows every saved row plus one empty row per list.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  // With JS, rows are added by the buttons: drop the spare empty row where others exist.
  document.querySelectorAll(".row-item.spare").forEach(function (row) {
    if (row.parentNode.querySelectorAll(".row-item").length > 1) row.remove();
  });
});
document.addEventListener("click", function (event) {
  var add = event.target.closest("[data-add-row]");
  if (add) {
    var list = document.getElementById(add.getAttribute("data-add-row"));
    var row = list.querySelector("template").content.firstElementChild.cloneNode(true);
    list.insertBefore(row, list.querySelector("template"));
    row.querySelector("input").focus();
    return;
  }
  var remove = event.target.closest("[data-remove-row]");
  if (remove) {
    var item = remove.closest(".row-item");
    var rows = item.parentNode.querySelectorAll(".row-item");
    if (rows.length > 1) {
      item.remove();
    } else {
      item.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    }
  }
});
