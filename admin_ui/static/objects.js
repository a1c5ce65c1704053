// The objects and fields designer (admin_ui/objects_*.py).
// - New object: once the admin types an API name, the English label stops proposing one.
// - New field: the API name follows the English label (snake_case) until the admin edits it.
// - Picklist values: drag rows to reorder (SortableJS); the rows are posted in the order
//   shown, which is the order saved. Add and remove rows; a colour's swatch follows its code.
// Without this file the forms still work: the name is typed, blank rows add values.
(function () {
  "use strict";

  function snakeCase(text) {
    return text.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")
      .replace(/^([0-9])/, "n_$1").slice(0, 40).replace(/_+$/, "");
  }

  function watchObjectName(root) {
    root.addEventListener("input", function (evt) {
      if (!evt.target.matches("[data-api-name-input]")) return;
      var edited = root.querySelector("[data-api-name-edited]");
      if (edited) edited.value = evt.target.value ? "1" : "";
    });
  }

  function watchFieldName(form) {
    var name = form.querySelector("[data-field-api-name]");
    var english = form.querySelector('input[name="label_en"]');
    if (!name || !english) return;
    var touched = name.value !== "";
    function propose() {
      if (touched) return;
      name.value = snakeCase(english.value);
      name.dispatchEvent(new Event("proposed")); // htmx checks the proposed name too
    }
    name.addEventListener("input", function () { touched = name.value !== ""; });
    english.addEventListener("input", propose);
    if (english.value && !touched) propose(); // typed before this script ran
  }

  // A label typed before the page's scripts ran (slow connection, or the browser restoring the
  // form) is already in the box when htmx sets up its "changed" filter, so typing nothing more
  // would never check it. Inputs marked data-recheck are asked once when the page has loaded.
  function recheckEarlyInput() {
    document.querySelectorAll("[data-recheck]").forEach(function (input) {
      if (input.value) input.dispatchEvent(new Event("recheck"));
    });
  }

  function paintSwatch(input) {
    var swatch = input.parentNode.querySelector("[data-swatch]");
    if (!swatch) return;
    var ok = /^#[0-9a-fA-F]{6}$/.test(input.value);
    swatch.style.backgroundColor = ok ? input.value : "transparent";
    swatch.classList.toggle("empty", !ok);
  }

  function setUpValues(editor) {
    var body = editor.querySelector("[data-sortable-values]");
    var template = editor.querySelector("template[data-value-template]");
    if (!body) return;
    if (window.Sortable) {
      window.Sortable.create(body, { handle: ".drag-handle", animation: 150, draggable: ".value-row" });
    }
    editor.querySelectorAll("[data-color-input]").forEach(paintSwatch);
    editor.addEventListener("input", function (evt) {
      if (evt.target.matches("[data-color-input]")) paintSwatch(evt.target);
    });
    editor.addEventListener("click", function (evt) {
      var remove = evt.target.closest("[data-remove-value]");
      if (remove) {
        remove.closest(".value-row").remove();
        return;
      }
      if (evt.target.closest("[data-add-value]") && template) {
        body.appendChild(template.content.cloneNode(true));
        var rows = body.querySelectorAll(".value-row");
        var added = rows[rows.length - 1];
        added.querySelectorAll("[data-color-input]").forEach(paintSwatch);
        added.querySelector("input").focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var objectForm = document.querySelector('[data-testid="object-form"]');
    if (objectForm) watchObjectName(objectForm);
    document.querySelectorAll('[data-testid="field-form"]').forEach(watchFieldName);
    document.querySelectorAll(".picklist-editor").forEach(setUpValues);
  });
  window.addEventListener("load", recheckEarlyInput);
})();
