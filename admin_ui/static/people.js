// The department tree (admin/departments.html): drag a department by its handle into
// another department's list, or up and down among its siblings (SortableJS nested lists). The move goes to the server as the
// department's own move form would send it, asking for JSON; a refused move (e.g. under one
// of its own sub-departments) puts the department back and shows the server's reason.
// Without this file each department's "Move under" form does the same.
(function () {
  "use strict";

  function message(text) {
    var box = document.getElementById("tree-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function putBack(evt) {
    evt.item.remove(); // so that the children are counted as they were before the drag
    var before = evt.from.children[evt.oldIndex] || null;
    evt.from.insertBefore(evt.item, before);
    evt.item.classList.add("refused");
    window.setTimeout(function () { evt.item.classList.remove("refused"); }, 2500);
  }

  function syncMoveForm(item, parent) {
    var select = item.querySelector(":scope > .dept-row form.dept-move select[name=parent]");
    if (select) select.value = parent;
  }

  function moved(root, evt) {
    if (evt.from === evt.to && evt.oldDraggableIndex === evt.newDraggableIndex) return;
    var parent = evt.to.dataset.parent || "";
    var body = new FormData();
    body.append("csrf_token", root.dataset.csrf);
    body.append("parent", parent);
    body.append("index", String(evt.newDraggableIndex)); // its place among the siblings
    evt.item.classList.add("moving");
    message("");
    fetch(evt.item.dataset.moveUrl, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (answer) { return { ok: response.ok, body: answer }; });
      })
      .then(function (answer) {
        evt.item.classList.remove("moving");
        if (!answer.ok) {
          putBack(evt);
          message(answer.body.message || root.dataset.failedMessage);
          return;
        }
        syncMoveForm(evt.item, parent);
        evt.item.classList.add("moved");
        window.setTimeout(function () { evt.item.classList.remove("moved"); }, 1500);
      })
      .catch(function () {
        evt.item.classList.remove("moving");
        putBack(evt);
        message(root.dataset.failedMessage);
      });
  }

  function start() {
    var root = document.getElementById("department-tree");
    if (!root || typeof Sortable === "undefined") return;
    root.classList.add("draggable");
    var lists = [root].concat(Array.prototype.slice.call(root.querySelectorAll("ul.dept-list")));
    lists.forEach(function (list) {
      Sortable.create(list, {
        group: "departments",
        handle: ".dept-handle",
        draggable: "li.dept",
        animation: 150,
        // Mouse and touch events rather than the browser's native drag: the same on phones.
        forceFallback: true,
        fallbackTolerance: 3,
        fallbackOnBody: true,
        swapThreshold: 0.65,
        emptyInsertThreshold: 12,
        onEnd: function (evt) { moved(root, evt); },
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
