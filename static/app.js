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
