// The shared formula editor (admin/_formula.html). htmx does the live check (the textarea
// posts to /admin/formulas/check as the admin types); this file inserts what the pickers
// offer at the cursor, moves the cursor to an error's position, and marks the textarea
// invalid while the check says so. Without it the textarea is a plain form field.
(function () {
  "use strict";

  function textareaOf(el) {
    var editor = el.closest("[data-formula-editor]");
    return editor ? editor.querySelector("textarea.formula-text") : null;
  }

  // Replace the selection with ``text`` and put the cursor ``back`` characters before its end.
  function insert(area, text, back) {
    var start = area.selectionStart, end = area.selectionEnd;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    var pad = before && !/[\s(,]$/.test(before) ? " " : "";
    area.value = before + pad + text + after;
    var cursor = start + pad.length + text.length - (back || 0);
    area.focus();
    area.setSelectionRange(cursor, cursor);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("change", function (evt) {
    var picker = evt.target.closest("select[data-formula-insert]");
    if (!picker || !picker.value) return;
    var area = textareaOf(picker);
    if (area) {
      if (picker.dataset.formulaInsert === "function") insert(area, picker.value + "()", 1);
      else insert(area, picker.value, 0);
    }
    picker.value = "";
  });

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-formula-goto]");
    if (!button) return;
    var area = textareaOf(button);
    if (!area) return;
    var at = parseInt(button.dataset.formulaGoto, 10) || 0;
    var length = parseInt(button.dataset.formulaLength, 10) || 0;
    area.focus();
    area.setSelectionRange(at, at + length);
  });

  function markValidity(root) {
    root.querySelectorAll("[data-formula-editor]").forEach(function (editor) {
      var area = editor.querySelector("textarea.formula-text");
      var state = editor.querySelector("[data-formula-state]");
      if (!area || !state) return;
      if (state.dataset.formulaState === "error") area.setAttribute("aria-invalid", "true");
      else area.removeAttribute("aria-invalid");
    });
  }

  document.addEventListener("htmx:afterSwap", function (evt) {
    var editor = evt.target.closest && evt.target.closest("[data-formula-editor]");
    if (editor) markValidity(editor.parentNode || document);
  });
  document.addEventListener("DOMContentLoaded", function () { markValidity(document); });
})();
