// The approval chain designer (/admin/approvals/<name>): the flow is drawn as a column of
// cards from start to end; condition and parallel cards split it into branches that meet
// again below them. Cards are added from templates, reordered by drag and drop (SortableJS,
// also between branches) and deleted; after every change the flow's JSON is rebuilt from the
// cards into the form's definition field and the form fires "chain-changed", on which htmx
// posts it to the server's check. The check answers each problem with the node it points to;
// this script copies each onto its card. Saving posts the same JSON.
(function () {
  "use strict";

  var form = document.getElementById("approval-form");
  if (!form) return;
  var output = document.getElementById("approval-definition");
  var jsonMode = form.hasAttribute("data-json-mode");

  function own(step) {
    return step.querySelector(":scope > .node-card");
  }

  // A formula is the shared editor's textarea inside the element that names it.
  function field(scope, attr, key) {
    var el = scope.querySelector("[" + attr + '="' + key + '"]');
    var editor = el && el.querySelector(":scope > [data-formula-editor]");
    if (editor) el = editor.querySelector("textarea.formula-text");
    return el;
  }

  function text(scope, attr, key) {
    var el = field(scope, attr, key);
    return el ? el.value.trim() : "";
  }

  function bilingual(scope, attr, key) {
    var zh = text(scope, attr, key + ".zh-CN");
    var en = text(scope, attr, key + ".en");
    if (!zh && !en) return undefined;
    return { "zh-CN": zh || en, en: en || zh };
  }

  function number(value) {
    if (value === "") return undefined;
    var n = Number(value);
    return isNaN(n) ? value : n;
  }

  // -- people -----------------------------------------------------------------------------

  function person(row) {
    var p = { type: text(row, "data-p", "type") };
    var v = function (key) { return text(row, "data-p", key); };
    if (p.type === "user") {
      p.users = v("users").split(/[\s,，、]+/).filter(Boolean);
    } else if (p.type === "role") {
      p.role = v("role");
    } else if (p.type === "field") {
      p.field = v("field");
    } else if (p.type === "formula") {
      p.formula = v("formula");
    } else if (p.type === "manager_chain") {
      if (v("levels")) p.levels = number(v("levels"));
      else if (v("until_role")) p.until_role = v("until_role");
    }
    if (p.type === "department_head" && v("department")) p.department = v("department");
    if (["department_head", "manager", "manager_chain"].indexOf(p.type) >= 0 && v("of")) {
      p.of = v("of");
    }
    return p;
  }

  function people(box) {
    if (!box) return [];
    return Array.prototype.map.call(box.querySelectorAll(":scope > .people-rows > .person"), person);
  }

  // -- nodes ------------------------------------------------------------------------------

  function base(step) {
    var node = JSON.parse(step.dataset.extra || "{}");
    node.id = step.dataset.nodeId;
    node.type = step.dataset.kind;
    var name = bilingual(own(step), "data-k", "label");
    if (name) node.label = name;
    return node;
  }

  function approval(step, next) {
    var card = own(step);
    var node = base(step);
    var approvers = people(field(card, "data-k", "approvers"));
    if (approvers.length) node.approvers = approvers;
    node.mode = text(card, "data-k", "mode");
    if (node.mode === "ratio") {
      var ratio = text(card, "data-k", "ratio");
      var least = text(card, "data-k", "min_approvals");
      if (ratio) node.ratio = number(ratio);
      if (least) node.min_approvals = number(least);
    }
    node.if_no_approver = text(card, "data-k", "if_no_approver");
    var sla = {};
    ["remind_after_hours", "escalate_after_hours", "auto_approve_after_hours"].forEach(function (k) {
      var value = text(card, "data-k", "sla." + k);
      if (value) sla[k] = number(value);
    });
    var escalate = people(field(card, "data-k", "sla.escalate_to"));
    if (escalate.length) sla.escalate_to = escalate;
    if (Object.keys(sla).length) node.sla = sla;
    var editable = card.querySelectorAll('[data-k="editable_fields"] input:checked');
    if (editable.length) {
      node.editable_fields = Array.prototype.map.call(editable, function (el) { return el.value; });
    }
    eventActions(card.querySelectorAll(".node-more > .event-actions"), node);
    node.next = next;
    return node;
  }

  function notify(step, next) {
    var card = own(step);
    var node = base(step);
    var recipients = people(field(card, "data-k", "recipients"));
    if (recipients.length) node.recipients = recipients;
    var message = bilingual(card, "data-k", "message");
    if (message) node.message = message;
    node.next = next;
    return node;
  }

  function branchesOf(step) {
    return step.querySelectorAll(":scope > .branches > .branch");
  }

  function chainOf(branch) {
    return branch.querySelector(":scope > .chain");
  }

  function firstOf(chain, after) {
    var first = chain.querySelector(":scope > .step");
    return first ? first.dataset.nodeId : after;
  }

  function condition(step, next, out) {
    var node = base(step);
    node.branches = [];
    out.push(node);
    branchesOf(step).forEach(function (branch) {
      var entry = {};
      var when = text(branch.querySelector(":scope > .branch-head"), "data-k", "when");
      if (when) entry.when = when;
      entry.next = firstOf(chainOf(branch), next);
      node.branches.push(entry);
      emitChain(chainOf(branch), next, out);
    });
  }

  function parallel(step, next, out) {
    var node = base(step);
    var join = JSON.parse(step.dataset.join || "{}");
    join.type = "join";
    node.join = join.id;
    node.branches = [];
    out.push(node);
    branchesOf(step).forEach(function (branch) {
      node.branches.push(firstOf(chainOf(branch), join.id));
      emitChain(chainOf(branch), join.id, out);
    });
    join.next = next;
    out.push(join);
  }

  function emitChain(chain, after, out) {
    var steps = chain.querySelectorAll(":scope > .step");
    steps.forEach(function (step, i) {
      var next = i + 1 < steps.length ? steps[i + 1].dataset.nodeId : after;
      var kind = step.dataset.kind;
      if (kind === "approval") out.push(approval(step, next));
      else if (kind === "notify") out.push(notify(step, next));
      else if (kind === "condition") condition(step, next, out);
      else parallel(step, next, out);
    });
  }

  // -- actions on submit / approve / reject / recall ----------------------------------------

  function actions(set) {
    var out = [];
    var values = {};
    set.querySelectorAll(":scope > .set-fields > .set-field").forEach(function (row) {
      values[text(row, "data-a", "field")] = text(row, "data-a", "formula");
    });
    if (Object.keys(values).length) out.push({ type: "update_fields", values: values });
    var others = text(set, "data-a", "others");
    if (others) {
      try {
        out = out.concat(JSON.parse(others));
      } catch (e) {
        return others; // not JSON: sent as it is, so the check names the problem here
      }
    }
    return out;
  }

  // Each event's actions onto ``target`` (the flow or a node); an event left empty is left
  // out unless the definition had it (as an empty list).
  function eventActions(sets, target) {
    sets.forEach(function (set) {
      var list = actions(set);
      if (list.length || set.dataset.present === "1") target[set.dataset.event] = list;
    });
  }

  // -- the whole flow -----------------------------------------------------------------------

  function definition() {
    var settings = form.querySelector(".flow-settings");
    var end = form.querySelector(".chain-end").dataset.endId;
    var root = form.querySelector(".chain-root > .chain");
    var flow = {
      api_name: text(settings, "data-f", "api_name"),
      object: form.dataset.object,
      label: bilingual(settings, "data-f", "label") || { "zh-CN": "", en: "" },
      active: field(settings, "data-f", "active").checked,
      priority: number(text(settings, "data-f", "priority")),
    };
    if (flow.priority === undefined) delete flow.priority;
    var criteria = text(settings, "data-f", "entry_criteria");
    if (criteria) flow.entry_criteria = criteria;
    var description = text(settings, "data-f", "description");
    if (description) flow.description = description;
    var nodes = [];
    emitChain(root, end, nodes);
    nodes.push({ id: end, type: "end" });
    flow.start = firstOf(root, end);
    flow.nodes = nodes;
    eventActions(form.querySelectorAll(".flow-actions .event-actions"), flow);
    return flow;
  }

  var suggestedName = !field(form, "data-f", "api_name").value;

  function changed() {
    if (!jsonMode) output.value = JSON.stringify(definition(), null, 2);
    form.dispatchEvent(new CustomEvent("chain-changed"));
  }

  // -- editing: add, delete, reorder ---------------------------------------------------------

  var PREFIX = { approval: "approval", notify: "cc", condition: "route", parallel: "split", join: "join" };

  function usedIds() {
    var used = {};
    form.querySelectorAll("[data-node-id]").forEach(function (el) { used[el.dataset.nodeId] = true; });
    form.querySelectorAll("[data-join]").forEach(function (el) {
      used[JSON.parse(el.dataset.join).id] = true;
    });
    used[form.querySelector(".chain-end").dataset.endId] = true;
    return used;
  }

  function newId(kind) {
    var used = usedIds();
    var n = 1;
    while (used[PREFIX[kind] + "_" + n]) n += 1;
    return PREFIX[kind] + "_" + n;
  }

  var copies = 0;

  // A copied formula editor gets its own field name (its ids, htmx targets and check
  // parameters are made from it), so each editor checks and shows its own formula.
  function renameFormulas(root) {
    root.querySelectorAll("[data-formula-editor]").forEach(function (editor) {
      var old = editor.querySelector("textarea.formula-text").name;
      copies += 1;
      var fresh = old + "-" + Date.now().toString(36) + copies;
      [editor].concat(Array.prototype.slice.call(editor.querySelectorAll("*"))).forEach(function (el) {
        Array.prototype.forEach.call(el.attributes, function (a) {
          if (a.value.indexOf(old) >= 0) el.setAttribute(a.name, a.value.split(old).join(fresh));
        });
      });
    });
  }

  function copy(templateId) {
    var el = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    renameFormulas(el);
    return el;
  }

  function activate(el) {
    if (window.htmx) window.htmx.process(el);
  }

  function addStep(menu, kind) {
    var step = copy("tpl-" + kind);
    step.dataset.nodeId = newId(kind);
    var card = own(step);
    if (card) card.dataset.testid = "node-" + step.dataset.nodeId;
    if (kind === "parallel") {
      var join = JSON.parse(step.dataset.join || "{}");
      join.id = newId("join");
      step.dataset.join = JSON.stringify(join);
    }
    menu.previousElementSibling.appendChild(step);
    activate(step);
    step.querySelectorAll(".chain").forEach(sortable);
    return step;
  }

  function addBranch(step) {
    var kind = step.dataset.kind;
    var branch = copy("tpl-branch-" + kind);
    var box = step.querySelector(":scope > .branches");
    var branches = branchesOf(step);
    var last = branches[branches.length - 1];
    if (kind === "condition" && last) box.insertBefore(branch, last);
    else box.appendChild(branch);
    activate(branch);
    sortable(chainOf(branch));
  }

  // Up or down one place in its chain (for keyboards and small screens; drag does more).
  function move(step, by) {
    var other = by < 0 ? step.previousElementSibling : step.nextElementSibling;
    if (!other) return;
    step.parentElement.insertBefore(step, by < 0 ? other : other.nextElementSibling);
    step.querySelector(".move-step").focus();
  }

  function clicked(event) {
    var button = event.target.closest("button");
    if (!button || !form.contains(button)) return;
    if (button.dataset.add) {
      addStep(button.closest(".add-step"), button.dataset.add);
    } else if (button.classList.contains("move-step")) {
      move(button.closest(".step"), Number(button.dataset.move));
    } else if (button.classList.contains("delete-step")) {
      button.closest(".step").remove();
    } else if (button.classList.contains("delete-branch")) {
      button.closest(".branch").remove();
    } else if (button.classList.contains("add-branch")) {
      addBranch(button.closest(".step"));
    } else if (button.classList.contains("add-person")) {
      button.parentElement.querySelector(":scope > .people-rows").appendChild(copy("tpl-person"));
    } else if (button.classList.contains("remove-person")) {
      button.closest(".person").remove();
    } else if (button.classList.contains("add-set-field")) {
      button.parentElement.querySelector(":scope > .set-fields").appendChild(copy("tpl-set-field"));
    } else if (button.classList.contains("remove-set-field")) {
      button.closest(".set-field").remove();
    } else {
      return;
    }
    changed();
  }

  function edited(event) {
    var el = event.target;
    if (el.matches('[data-p="type"]')) el.closest(".person").dataset.type = el.value;
    if (el.matches('[data-k="mode"]')) el.closest(".node-card").dataset.mode = el.value;
    if (el.matches('[data-k^="label."]')) retitle(el.closest(".node-card"));
    if (el.matches('[data-f="label.en"]') && suggestedName) suggestName(el.value);
    if (el.matches('[data-f="api_name"]')) suggestedName = false;
    changed();
  }

  // The card's title: its name in the page's language (the other one while that is empty).
  function retitle(card) {
    var title = card && card.querySelector("[data-title]");
    if (!title) return;
    var zh = text(card, "data-k", "label.zh-CN");
    var en = text(card, "data-k", "label.en");
    var chinese = (document.documentElement.lang || "zh").indexOf("zh") === 0;
    title.textContent = chinese ? zh || en : en || zh;
  }

  function suggestName(label) {
    var name = label.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (name && !/^[a-z]/.test(name)) name = "flow_" + name;
    field(form, "data-f", "api_name").value = name.slice(0, 40);
  }

  function sortable(chain) {
    if (!window.Sortable || chain.dataset.sortable) return;
    chain.dataset.sortable = "1";
    window.Sortable.create(chain, {
      group: "approval-chain",
      handle: ".drag-handle",
      draggable: ".step",
      animation: 150,
      fallbackOnBody: true,
      swapThreshold: 0.65,
      onEnd: changed,
    });
  }

  // -- the check's problems, each at its node --------------------------------------------------

  function problemList(item) {
    if (item.dataset.place) return form.querySelector('[data-problems-for="' + item.dataset.place + '"]');
    var id = item.dataset.node;
    if (!id) return null;
    var end = form.querySelector(".chain-end");
    if (end.dataset.endId === id) return end.querySelector("[data-problems]");
    var step = form.querySelector('.step[data-node-id="' + CSS.escape(id) + '"]');
    if (!step) return null;
    if (item.dataset.branch !== undefined) {
      var branch = branchesOf(step)[Number(item.dataset.branch)];
      return branch ? branch.querySelector(":scope > .branch-head [data-problems]") : null;
    }
    return own(step).querySelector(":scope > [data-problems]");
  }

  function placeProblems() {
    form.querySelectorAll("[data-problems]").forEach(function (list) {
      list.textContent = "";
      list.hidden = true;
    });
    form.querySelectorAll(".has-problems").forEach(function (el) { el.classList.remove("has-problems"); });
    document.querySelectorAll("#approval-check li[data-message]").forEach(function (item) {
      var list = problemList(item);
      if (!list) return;
      var li = document.createElement("li");
      li.textContent = item.dataset.message;
      list.appendChild(li);
      list.hidden = false;
      var card = list.closest(".node-card, .branch, .chain-end");
      if (card) card.classList.add("has-problems");
    });
  }

  function start() {
    form.addEventListener("click", clicked);
    form.addEventListener("input", edited);
    form.addEventListener("change", edited);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "approval-check") placeProblems();
    });
    if (!jsonMode) {
      form.querySelectorAll(".chain").forEach(sortable);
      output.value = JSON.stringify(definition(), null, 2);
    }
    form.classList.add("designer-ready");
  }

  start();
})();
