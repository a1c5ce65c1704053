// Small behaviours of the Trellis pages. The pages work without this file (forms submit,
// links navigate); it only saves clicks. No inline scripts anywhere: the CSP allows
// scripts from this site only, so behaviour hangs off data- attributes.
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing a value submits its form (list view picker).
  function submitOnChange(root) {
    root.querySelectorAll("[data-submit-on-change]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () {
        if (el.form) el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
      });
    });
  }

  // <span class="tag" data-color="#2e7d32">: picklist colours come from metadata, and the
  // CSP refuses style="" attributes, so the colour is set through the CSSOM.
  var COLOR = /^#[0-9a-fA-F]{3,8}$/;
  function paintTags(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      if (COLOR.test(el.dataset.color)) el.style.setProperty("--tag", el.dataset.color);
    });
  }

  // Dependent picklists: <select data-controlled-by="industry"> offers only the options
  // whose data-valid-for lists the controlling field's current value.
  function dependentPicklists(root) {
    root.querySelectorAll("select[data-controlled-by]").forEach(function (dependent) {
      var form = dependent.form;
      if (!form || dependent.dataset.bound) return;
      var controlling = form.elements[dependent.dataset.controlledBy];
      if (!controlling) return;
      dependent.dataset.bound = "1";
      var filter = function () {
        var chosen = controlling.value;
        Array.prototype.forEach.call(dependent.options, function (option) {
          if (!option.value) return;
          var allowed = (option.dataset.validFor || "").split(" ").indexOf(chosen) >= 0;
          option.hidden = !allowed;
          option.disabled = !allowed;
          if (!allowed && option.selected) dependent.value = "";
        });
      };
      controlling.addEventListener("change", filter);
      filter();
    });
  }

  // Close an open <details> menu when the user clicks elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  function bind(root) {
    submitOnChange(root);
    paintTags(root);
    dependentPicklists(root);
  }

  window.Trellis = { bind: bind };
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  // Content htmx swaps in gets the same behaviours.
  document.addEventListener("htmx:afterSettle", function (event) { bind(event.target); });
})();
