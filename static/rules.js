// «Email-уведомления»: the modal, its tabs and dependent blocks, row selection.
// The server renders every state; this file only opens/closes the <dialog>,
// switches tabs and shows/hides blocks while the user clicks. Without it the
// page still works with plain form posts.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var opener = null; // the element that opened the dialog gets focus back

  function dialog() { return document.getElementById("rule-dialog"); }

  // --- dependent blocks --------------------------------------------------------
  function syncForm(form) {
    if (!form) return;
    var missed = form.querySelector("[data-missed]");
    if (missed) {
      form.querySelectorAll("[data-missed-only]").forEach(function (block) { block.disabled = !missed.checked; });
      var note = form.querySelector("[data-missed-note]");
      if (note) note.hidden = missed.checked;
    }
    form.querySelectorAll(".reveal[data-when]").forEach(function (box) {
      var radio = form.querySelector("input[type=radio][data-reveal='" + box.id + "']:checked");
      if (radio && radio.value === box.getAttribute("data-when")) box.removeAttribute("data-off");
      else box.setAttribute("data-off", "");
    });
  }

  // --- tabs (WAI-ARIA tabs pattern) -----------------------------------------------
  function selectTab(tab, focus) {
    var form = tab.closest("form");
    form.querySelectorAll("[role=tab]").forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (on) panel.removeAttribute("data-inactive"); else panel.setAttribute("data-inactive", "");
    });
    var field = form.querySelector("[data-tab-field]");
    if (field) field.value = tab.getAttribute("data-tab");
    if (focus) tab.focus();
  }

  // --- the modal --------------------------------------------------------------------
  function openDialog() {
    var d = dialog();
    if (!d || d.open && d.matches(":modal")) return;
    if (d.open) d.removeAttribute("open"); // rendered open for no-JS: re-open as a modal
    d.showModal();
    syncForm(d.querySelector("form"));
    var first = d.querySelector("[autofocus]") || d.querySelector("[role=tab][aria-selected=true]");
    if (first) first.focus();
  }

  function closeDialog() {
    var d = dialog();
    if (d && d.open) d.close();
  }

  document.addEventListener("close", function (event) {
    if (event.target.id !== "rule-dialog") return;
    event.target.remove();
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }, true);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target && target.id === "dialog-host") opener = event.detail.elt;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dialog-host") openDialog();
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("#rule-form") : null;
    if (form || event.detail.elt.id === "rule-form") {
      form = document.getElementById("rule-form");
      syncForm(form);
      // After a failed save, the first invalid field of the open tab; else what the action asked for.
      var invalid = form.querySelector(".flash-error") &&
        form.querySelector(".tab-panel:not([data-inactive]) [aria-invalid=true]:not([disabled])");
      var focus = invalid || form.querySelector("[autofocus]");
      if (focus) focus.focus();
    }
    syncSelection();
  });

  // HX-Trigger from the server after a save or delete: the list reloads itself
  // (hx-trigger on #rules-list); the message is shown once the new list is in.
  var pending = null;
  document.body ? listen() : document.addEventListener("DOMContentLoaded", listen);
  function listen() {
    document.body.addEventListener("rule-dialog-close", closeDialog);
    document.body.addEventListener("rules-changed", function (event) {
      pending = event.detail && (event.detail.message || (event.detail.value && event.detail.value.message));
    });
  }
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id !== "rules-list") return;
    syncSelection();
    var status = document.getElementById("rules-status");
    if (status && pending) {
      status.textContent = pending;
      status.classList.add("shown");
    }
    pending = null;
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (dialog()) openDialog();
    document.querySelectorAll(".js-enable").forEach(function (el) { el.disabled = false; });
    syncSelection();
  });

  // --- clicks and keys ----------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target : null;
    if (!el) return;
    var close = el.closest("[data-close-dialog]");
    if (close && dialog() && dialog().matches(":modal")) {
      event.preventDefault();
      closeDialog();
      return;
    }
    var tab = el.closest("#rule-form [role=tab]");
    if (tab) selectTab(tab, false);
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("#rule-form");
    if (form) syncForm(form);
    if (event.target.id === "rules-select-all") {
      document.querySelectorAll("#rules-table input[name=ids]").forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.closest("#rules-table")) syncSelection();
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    var tab = el.closest && el.closest("#rule-form [role=tab]");
    if (tab && (event.key === "ArrowRight" || event.key === "ArrowLeft" || event.key === "Home" || event.key === "End")) {
      var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role=tab]"));
      var i = tabs.indexOf(tab);
      var next = event.key === "Home" ? 0 : event.key === "End" ? tabs.length - 1
        : (i + (event.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length;
      selectTab(tabs[next], true);
      event.preventDefault();
      return;
    }
    // Enter in the search or number field adds, instead of saving the rule.
    if (event.key === "Enter" && el.hasAttribute && el.hasAttribute("data-enter")) {
      event.preventDefault();
      var button = el.form.querySelector("button[name=action][value='" + el.getAttribute("data-enter") + "']");
      if (button) button.click();
    }
  });

  // --- row selection ----------------------------------------------------------------------
  function syncSelection() {
    var table = document.getElementById("rules-table");
    if (!table) return;
    var boxes = table.querySelectorAll("input[name=ids]");
    var checked = table.querySelectorAll("input[name=ids]:checked").length;
    var all = document.getElementById("rules-select-all");
    if (all) {
      all.disabled = false;
      all.checked = checked > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    table.querySelectorAll("[data-bulk]").forEach(function (button) { button.disabled = checked === 0; });
    var label = document.getElementById("rules-selected");
    if (label) label.textContent = checked ? "Отмечено: " + checked : "Отметьте правила, чтобы изменить или удалить несколько сразу";
  }
})();
