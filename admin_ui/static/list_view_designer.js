// The list view designer (admin_ui/list_view_pages.py): drag fields between "Other fields"
// and "Columns" and into order (SortableJS), or press Add / Remove. Each row carries its
// hidden "columns" input; a row outside the columns list has it disabled, so the form sends
// exactly the columns shown, in their order. Without this file the form sends the columns
// as they were loaded.
(function () {
  "use strict";

  function sync(form) {
    form.querySelectorAll("[data-column]").forEach(function (row) {
      row.querySelector('input[name="columns"]').disabled = !row.closest("[data-columns]");
    });
  }

  function start() {
    var form = document.querySelector("[data-list-view-designer]");
    if (!form || !window.Sortable) return;
    var chosen = form.querySelector("[data-columns]");
    var available = form.querySelector("[data-available]");
    [chosen, available].forEach(function (list) {
      window.Sortable.create(list, {
        group: "view-columns",
        animation: 150,
        sort: list === chosen,
        filter: "button",
        preventOnFilter: false,
        onSort: function () { sync(form); },
      });
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest("button[type=button]");
      if (!button) return;
      var row = button.closest("[data-column]");
      if (button.hasAttribute("data-add-column")) chosen.appendChild(row);
      else if (button.hasAttribute("data-remove-column")) available.appendChild(row);
      else return;
      sync(form);
    });
    form.classList.add("draggable");
  }

  document.addEventListener("DOMContentLoaded", start);
})();
