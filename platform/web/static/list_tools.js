// List page helpers for the Kanban link, the save-view form and the bulk bar. The list's
// filters change through htmx, which updates the address bar but not the links and forms
// that carry the list's arguments: at click or submit they take the arguments shown now.
// Without this file the pages still work with the arguments of the page as first loaded.
(function () {
  "use strict";

  function currentArgs(keepFrom) {
    var params = new URLSearchParams(window.location.search);
    params.delete("cursor");
    params.delete("saved");
    if (!params.has("view") && keepFrom) {
      var kept = new URLSearchParams(keepFrom.split("?")[1] || "");
      if (kept.has("view")) params.set("view", kept.get("view"));
    }
    return params.toString();
  }

  function withArgs(address) {
    var query = currentArgs(address);
    return address.split("?")[0] + (query ? "?" + query : "");
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-list-args]");
    if (link) link.href = withArgs(link.getAttribute("href"));
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-list-args")) {
      form.setAttribute("action", withArgs(form.getAttribute("action")));
    }
  });

  // <input type="checkbox" data-pick-all>: ticks or clears every row's checkbox.
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.hasAttribute || !all.hasAttribute("data-pick-all")) return;
    document.querySelectorAll('input[type="checkbox"][form="bulk-form"][name="ids"]')
      .forEach(function (box) { box.checked = all.checked; });
  });
})();
