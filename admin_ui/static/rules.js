// The repeated rows of the rule, report and dashboard forms (admin_ui/rules_common.py):
// a list `[data-rows="<prefix>"]` of rows whose controls are named `<prefix>-<n>-<name>`.
// Rows are dragged into order (SortableJS, by the handle) or moved with the arrow buttons,
// added from the list's <template> and removed; after each change the rows are renumbered
// in the order shown, so the form posts them in that order. Without JavaScript the rows
// the server rendered still post as they are.
(function () {
  "use strict";

  function escaped(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function renumber(list) {
    var prefix = list.dataset.rows;
    var pattern = new RegExp("^" + escaped(prefix) + "-(\\d+|__i__)-");
    Array.prototype.forEach.call(list.children, function (row, i) {
      row.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(pattern, prefix + "-" + i + "-");
      });
      // The formula editor's live check names the field it checks (hx-vals formula_source).
      row.querySelectorAll("[hx-vals]").forEach(function (el) {
        try {
          var vals = JSON.parse(el.getAttribute("hx-vals"));
          if (typeof vals.formula_source !== "string") return;
          vals.formula_source = vals.formula_source.replace(pattern, prefix + "-" + i + "-");
          el.setAttribute("hx-vals", JSON.stringify(vals));
        } catch (e) { /* not JSON: leave it */ }
      });
      row.querySelectorAll("[data-row-number]").forEach(function (el) {
        el.textContent = String(i + 1);
      });
    });
    list.dispatchEvent(new CustomEvent("rows:changed", { bubbles: true }));
  }

  // A row (or a [data-toggle-scope] part of a form) shows the parts its [data-toggles]
  // select's value calls for: <div data-shown-for="sum avg"> only for those functions.
  var SCOPE = "[data-rows] > *, [data-toggle-scope]";

  function showFor(scope) {
    var select = scope.querySelector("[data-toggles]");
    if (!select) return;
    var value = select.type === "radio" ? (scope.querySelector("[data-toggles]:checked") || {}).value : select.value;
    scope.querySelectorAll("[data-shown-for]").forEach(function (part) {
      part.hidden = part.dataset.shownFor.split(" ").indexOf(value || "") < 0;
    });
  }

  function addRow(list) {
    var template = document.getElementById(list.dataset.template);
    if (!template) return;
    var row = template.content.firstElementChild.cloneNode(true);
    list.appendChild(row);
    renumber(list);
    showFor(row);
    var focus = row.querySelector("input, select, textarea");
    if (focus) focus.focus();
  }

  function move(row, step) {
    var list = row.parentElement;
    if (step < 0 && row.previousElementSibling) list.insertBefore(row, row.previousElementSibling);
    if (step > 0 && row.nextElementSibling) list.insertBefore(row.nextElementSibling, row);
    renumber(list);
  }

  document.addEventListener("click", function (evt) {
    var add = evt.target.closest("[data-add-row]");
    if (add) {
      evt.preventDefault();
      var list = document.getElementById(add.dataset.addRow);
      if (list) addRow(list);
      return;
    }
    var button = evt.target.closest("[data-remove-row], [data-move]");
    if (!button) return;
    evt.preventDefault();
    var row = button.closest("[data-rows] > *");
    if (!row) return;
    if (button.hasAttribute("data-remove-row")) {
      var parent = row.parentElement;
      row.remove();
      renumber(parent);
    } else {
      move(row, button.dataset.move === "up" ? -1 : 1);
      button.focus();
    }
  });

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-toggles]")) {
      var scope = evt.target.closest(SCOPE);
      if (scope) showFor(scope);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-toggle-scope]").forEach(showFor);
    document.querySelectorAll("[data-rows]").forEach(function (list) {
      Array.prototype.forEach.call(list.children, showFor);
      if (window.Sortable && list.hasAttribute("data-sortable")) {
        window.Sortable.create(list, {
          handle: ".drag-handle",
          animation: 150,
          onEnd: function () { renumber(list); },
        });
      }
    });
  });
})();
