// The dashboard form: each tile's measure picker shows only the measures of the report the
// tile shows (the picker lists every report's, grouped by report); choosing another report
// clears measures of the previous one. Without JavaScript all groups stay visible and the
// server keeps only the chosen report's measures.
(function () {
  "use strict";

  function narrow(tile) {
    var report = tile.querySelector("[data-tile-report]");
    var picker = tile.querySelector("[data-tile-measures]");
    if (!report || !picker) return;
    picker.querySelectorAll("optgroup").forEach(function (group) {
      var mine = group.dataset.report === report.value;
      group.hidden = !mine;
      group.disabled = !mine;
      if (!mine) group.querySelectorAll("option").forEach(function (o) { o.selected = false; });
    });
  }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-tile-report]")) narrow(evt.target.closest(".tile-row"));
  });

  document.addEventListener("rows:changed", function (evt) {
    evt.target.querySelectorAll(".tile-row").forEach(narrow);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".tile-row").forEach(narrow);
  });
})();
