// The permission grid (admin/role_edit.html). A column header ticks or clears its whole
// column; every change is checked on the server as a dry run (the same save, not kept) and
// each problem is shown in its cell, so an invalid grid is seen before it is saved. The
// form itself saves without this file.
(function () {
  "use strict";

  var timer = null;

  function clearProblems(form) {
    form.querySelectorAll(".cell-problem.live").forEach(function (el) { el.remove(); });
    form.querySelectorAll(".has-problem.live").forEach(function (el) {
      el.classList.remove("has-problem", "live");
    });
  }

  function showProblems(form, answer) {
    clearProblems(form);
    var box = document.getElementById("grid-message");
    Object.keys(answer.cells || {}).forEach(function (place) {
      var cell = form.querySelector('[data-pointer="' + CSS.escape(place) + '"]');
      if (!cell) return;
      cell.classList.add("has-problem", "live");
      answer.cells[place].forEach(function (text) {
        var note = document.createElement("span");
        note.className = "cell-problem live";
        note.setAttribute("role", "alert");
        note.textContent = text;
        (cell.querySelector("th") || cell).appendChild(note);
      });
      var details = cell.closest("details");
      if (details) details.open = true;
    });
    if (box) {
      var rest = (answer.elsewhere || []).map(function (p) { return p.message; });
      box.textContent = answer.ok ? "" : rest.join(" ") || answer.message || "";
      box.hidden = answer.ok || !box.textContent;
    }
  }

  function check(form) {
    fetch(form.dataset.checkUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) { showProblems(form, answer); })
      .catch(function () { /* the save itself checks again */ });
  }

  function changed(form) {
    var note = document.getElementById("unsaved");
    if (note) note.hidden = false;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { check(form); }, 400);
  }

  function toggleColumn(form, right) {
    var boxes = form.querySelectorAll('input[type=checkbox][data-right="' + CSS.escape(right) + '"]');
    var allTicked = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    boxes.forEach(function (b) { b.checked = !allTicked; });
    changed(form);
  }

  function start() {
    var form = document.getElementById("role-form");
    if (!form) return;
    form.addEventListener("change", function () { changed(form); });
    form.addEventListener("input", function (evt) {
      if (evt.target.type === "text" || evt.target.tagName === "TEXTAREA") changed(form);
    });
    form.querySelectorAll("button.column-toggle").forEach(function (button) {
      button.addEventListener("click", function () { toggleColumn(form, button.dataset.column); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
