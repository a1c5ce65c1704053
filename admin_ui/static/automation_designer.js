// The automation designer (admin/automation_designer.html). The form works without this
// file: each card's fields are posted in page order, and Save / Test run are plain submits.
// Here: drag the action cards into order (SortableJS; or the ↑ ↓ buttons), add an action or a
// row (the server renders it, htmx swaps it in), remove one, and show only the trigger
// options the chosen trigger type takes.
(function () {
  "use strict";

  function list() { return document.getElementById("automation-actions"); }

  function nextId(nodes, attribute) {
    var most = -1;
    nodes.forEach(function (el) { most = Math.max(most, parseInt(el.getAttribute(attribute), 10) || 0); });
    return most + 1;
  }

  function fetchInto(url, params, target, swap) {
    var query = Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
    return window.htmx.ajax("GET", url + "?" + query, { target: target, swap: swap });
  }

  function addAction() {
    var actions = list();
    var type = document.getElementById("new-action-type").value;
    var slot = nextId(actions.querySelectorAll("li[data-slot]"), "data-slot");
    fetchInto(actions.dataset.cardUrl, { object: actions.dataset.object, slot: slot, type: type },
      actions, "beforeend");
  }

  function addRow(button) {
    var actions = list();
    var card = button.closest("li[data-slot]");
    var rows = card.querySelector('[data-rows="' + button.dataset.addRow + '"]');
    var row = nextId(rows.querySelectorAll("[data-row]"), "data-row");
    var typeSelect = card.querySelector("select[data-testid=action-type]");
    var objectSelect = card.querySelector('select[name$="-object"]');
    fetchInto(actions.dataset.rowUrl, {
      object: actions.dataset.object, slot: card.dataset.slot, row: row,
      kind: button.dataset.addRow, type: typeSelect ? typeSelect.value : "",
      target: objectSelect ? objectSelect.value : ""
    }, rows, "beforeend");
  }

  function move(card, direction) {
    if (direction === "up" && card.previousElementSibling) {
      card.parentNode.insertBefore(card, card.previousElementSibling);
    } else if (direction === "down" && card.nextElementSibling) {
      card.parentNode.insertBefore(card.nextElementSibling, card);
    }
  }

  document.addEventListener("click", function (evt) {
    var el = evt.target.closest("[data-add-action], [data-add-row], [data-remove-card], [data-remove-row], [data-move]");
    if (!el || !el.closest("#automation-form")) return;
    if (el.hasAttribute("data-add-action")) addAction();
    else if (el.hasAttribute("data-add-row")) addRow(el);
    else if (el.hasAttribute("data-remove-card")) el.closest("li[data-slot]").remove();
    else if (el.hasAttribute("data-remove-row")) el.closest("[data-row]").remove();
    else move(el.closest("li[data-slot]"), el.dataset.move);
  });

  function showTriggerOptions() {
    var select = document.querySelector("select[data-trigger-type]");
    if (!select) return;
    document.querySelectorAll("#automation-form [data-for]").forEach(function (el) {
      el.hidden = el.dataset.for.split(" ").indexOf(select.value) === -1;
    });
  }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("select[data-trigger-type]")) showTriggerOptions();
  });

  document.addEventListener("DOMContentLoaded", function () {
    showTriggerOptions();
    var actions = list();
    if (actions && window.Sortable) {
      window.Sortable.create(actions, { handle: ".drag-handle", animation: 150, draggable: "li[data-slot]" });
    }
  });
})();
