// The layout designer (admin_ui/layout_pages.py). Fields are dragged (SortableJS) from the
// palette into sections, sections and related lists are dragged into order; after every
// change the page writes the sections, related lists and buttons as JSON into the form's
// hidden "layout" field and refreshes the preview (the form's Preview button posts to the
// preview iframe). Saving is the form's ordinary submit, so the server sees exactly what
// the preview showed. Without this file the form still saves the layout as it was loaded.
(function () {
  "use strict";

  var PREVIEW_DELAY = 400;

  function fieldEntry(item) {
    var entry = { field: item.dataset.field };
    var required = item.querySelector('[data-prop="required"]');
    var readOnly = item.querySelector('[data-prop="read_only"]');
    if (required && required.checked && !required.disabled) entry.required = true;
    if (readOnly && readOnly.checked) entry.read_only = true;
    return entry.required || entry.read_only ? entry : entry.field;
  }

  function sectionEntry(section) {
    var zh = section.querySelector('[data-prop="label_zh"]').value.trim();
    var en = section.querySelector('[data-prop="label_en"]').value.trim();
    var out = {
      label: { "zh-CN": zh || en, en: en || zh },
      columns: parseInt(section.querySelector('[data-prop="columns"]').value, 10),
      fields: Array.prototype.map.call(
        section.querySelectorAll("[data-fields] > [data-field]"), fieldEntry),
    };
    if (section.dataset.apiName) out.api_name = section.dataset.apiName;
    return out;
  }

  function picked(form, selector) {
    return Array.prototype.filter.call(form.querySelectorAll(selector), function (row) {
      return row.querySelector("[data-pick]").checked;
    });
  }

  function layoutJson(form) {
    var out = {
      sections: Array.prototype.map.call(
        form.querySelectorAll("[data-sections] > [data-section]"), sectionEntry),
      related_lists: picked(form, "[data-related] > li").map(function (row) {
        return { object: row.dataset.object, via: row.dataset.via };
      }),
    };
    if (form.querySelector("[data-buttons]")) {
      out.buttons = picked(form, "[data-buttons] > li").map(function (row) {
        return row.dataset.button;
      });
    }
    return JSON.stringify(out);
  }

  function start() {
    var form = document.querySelector("[data-layout-designer]");
    if (!form || !window.Sortable) return;
    var hidden = form.querySelector("[data-layout-json]");
    var palette = form.querySelector("[data-palette]");
    var sections = form.querySelector("[data-sections]");
    var previewButton = form.querySelector("[data-preview-button]");
    var timer = null;

    function preview() {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { form.requestSubmit(previewButton); }, PREVIEW_DELAY);
    }

    function changed() {
      hidden.value = layoutJson(form);
      preview();
    }

    function fieldList(list, isPalette) {
      window.Sortable.create(list, {
        group: "layout-fields",
        animation: 150,
        // Mouse and touch events rather than the browser's native drag: the same on phones.
        forceFallback: true,
        fallbackTolerance: 3,
        sort: !isPalette,
        filter: "input, label, button, select",
        preventOnFilter: false,
        onSort: changed,
      });
    }

    function sectionCard(section) {
      fieldList(section.querySelector("[data-fields]"), false);
    }

    fieldList(palette, true);
    sections.querySelectorAll("[data-section]").forEach(sectionCard);
    window.Sortable.create(sections, {
      animation: 150, handle: ".ld-section-handle", draggable: "[data-section]",
      forceFallback: true, fallbackTolerance: 3, onSort: changed,
    });
    form.querySelectorAll("[data-related], [data-buttons]").forEach(function (list) {
      window.Sortable.create(list, {
        animation: 150, handle: ".ld-handle", forceFallback: true, fallbackTolerance: 3,
        onSort: changed,
      });
    });

    form.addEventListener("click", function (event) {
      var button = event.target.closest("button[type=button]");
      if (!button) return;
      var item = button.closest("[data-field]");
      var section = button.closest("[data-section]");
      if (button.hasAttribute("data-remove-field")) {
        palette.appendChild(item);
      } else if (button.hasAttribute("data-add-field")) {
        var last = sections.querySelector("[data-section]:last-of-type [data-fields]");
        if (!last) return;
        last.appendChild(item);
      } else if (button.hasAttribute("data-remove-section")) {
        section.querySelectorAll("[data-field]").forEach(function (f) { palette.appendChild(f); });
        section.remove();
      } else if (button.hasAttribute("data-add-section")) {
        var copy = document.getElementById("ld-section-template").content.firstElementChild;
        var added = copy.cloneNode(true);
        sections.appendChild(added);
        sectionCard(added);
        added.querySelector('[data-prop="label_zh"]').focus();
      } else {
        return;
      }
      changed();
    });

    form.addEventListener("change", function (event) {
      var select = event.target.closest('[data-prop="columns"]');
      if (select) {
        var list = select.closest("[data-section]").querySelector("[data-fields]");
        list.className = list.className.replace(/\bcols-\d\b/, "cols-" + select.value);
      }
      if (!event.target.name || event.target.name === "record_types" || event.target.name === "roles"
          || event.target.name.indexOf("label_") === 0) changed();
    });
    form.addEventListener("input", function (event) {
      if (event.target.matches("input[type=text], input:not([type])")) changed();
    });
    form.addEventListener("submit", function (event) {
      hidden.value = layoutJson(form);
      if (event.submitter !== previewButton) window.clearTimeout(timer);
    });

    form.classList.add("draggable");
    hidden.value = layoutJson(form);
    form.requestSubmit(previewButton);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
