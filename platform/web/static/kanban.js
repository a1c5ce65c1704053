// The kanban board: drag a card to another column (SortableJS) and the move goes to the
// server through the card's own move form (same fields, same CSRF token), asking for JSON.
// A refused move (a validation rule, an approval lock, a stale version, no edit right) puts
// the card back where it was and shows the server's message above the board; a move that
// succeeds takes the card's new version and the columns' new counts and sums.
// Without this file (or without JavaScript) each card's select and button do the move.
(function () {
  "use strict";

  function message(text) {
    var box = document.getElementById("board-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function updateColumns(board, columns) {
    columns.forEach(function (c) {
      var column = board.querySelector('.board-column[data-value="' + CSS.escape(c.value) + '"]');
      if (!column) return;
      var count = column.querySelector("[data-count]");
      var sum = column.querySelector("[data-sum]");
      if (count) count.textContent = c.count;
      if (sum && c.sum !== null) sum.textContent = c.sum;
    });
  }

  function putBack(evt) {
    var before = evt.from.children[evt.oldIndex] || null;
    evt.from.insertBefore(evt.item, before);
    var select = evt.item.querySelector("form.card-move select[name=value]");
    if (select) select.value = evt.from.dataset.value;
    evt.item.classList.add("refused");
    window.setTimeout(function () { evt.item.classList.remove("refused"); }, 2500);
  }

  function moved(board, evt) {
    if (evt.from === evt.to) return;
    var form = evt.item.querySelector("form.card-move");
    if (!form) return putBack(evt);
    form.elements.value.value = evt.to.dataset.value;
    evt.item.classList.add("moving");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        evt.item.classList.remove("moving");
        if (!answer.ok) {
          putBack(evt);
          message(answer.body.message || board.dataset.failedMessage);
          return;
        }
        form.elements.version.value = answer.body.version;
        updateColumns(board, answer.body.columns || []);
        message("");
      })
      .catch(function () {
        evt.item.classList.remove("moving");
        putBack(evt);
        message(board.dataset.failedMessage);
      });
  }

  function start() {
    var board = document.querySelector(".board");
    if (!board || !window.Sortable) return;
    board.classList.add("draggable");
    board.querySelectorAll(".board-cards").forEach(function (list) {
      window.Sortable.create(list, {
        group: { name: "board", put: !list.hasAttribute("data-no-drop") },
        animation: 150,
        filter: ".card-move",
        preventOnFilter: false,
        onEnd: function (evt) { moved(board, evt); },
      });
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
