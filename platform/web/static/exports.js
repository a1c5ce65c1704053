// Export links of a list page (<a data-export href="/o/lead/export.csv?...">): the list's
// filters change through htmx, which updates the address bar but not these links, so a
// click takes the arguments of the list shown now. Without this file the links still
// export the list as the page was first loaded.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-export]");
    if (!link) return;
    var params = new URLSearchParams(window.location.search);
    params.delete("cursor");
    var query = params.toString();
    link.href = link.href.split("?")[0] + (query ? "?" + query : "");
  });
})();
