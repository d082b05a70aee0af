// Small progressive enhancements; every page also works without JavaScript.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (status === 401) return; // HX-Redirect to the login page follows
  var box = document.getElementById("htmx-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "htmx-error";
    box.className = "flash flash-error";
    box.setAttribute("role", "alert");
    (document.getElementById("main") || document.body).prepend(box);
  }
  box.textContent = status ? "Ошибка сервера (" + status + "). Повторите попытку." : "Нет связи с сервером.";
});

// Copy buttons: <button data-copy="#field-id"> copies that field's value (Telegram links).
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  var label = button.getAttribute("data-label") || button.textContent;
  button.setAttribute("data-label", label);
  var done = function () {
    button.textContent = "Скопировано";
    setTimeout(function () { button.textContent = label; }, 2000);
  };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});

// A link to a collapsed card (/settings/#webhook) opens it.
document.addEventListener("DOMContentLoaded", function () {
  var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  if (target && target.tagName === "DETAILS") target.open = true;
});
