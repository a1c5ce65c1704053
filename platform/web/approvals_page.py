"""My approvals inbox (pending, done, submitted by me) and the posts behind every approval
button: submit, approve, reject, transfer, add approver, recall.

Each action calls ``runtime().flows.approvals`` exactly as the REST API does, so the engine
decides who may act and refuses a second click (409). Here a refusal becomes a plain message:
an action already taken says so ("already done") and changes nothing; a task or approval
the user may not see answers 404 and one they may see but not act on 403, as in the API.
Buttons in the inbox post with htmx and get their row back; the record page's panel posts
a normal form and comes back to the record.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _

from trellis.flows.tables import flow_instance_table
from trellis.runtime.errors import Conflict, Forbidden, NotFound, TrellisError
from trellis.web import pages
from trellis.web.metadata_view import compiled, object_runtime
from trellis.web.sessions import _local_path, page_context, runtime

TABS = ("pending", "done", "submitted")
#: Rows one tab shows (the engine's task list stops at 500).
TAB_ROWS = 200
TASK_ACTIONS = ("approve", "reject", "transfer", "add_approver")


def approvals():
    return runtime().flows.approvals


# -- shown times ------------------------------------------------------------------------


def moment(iso: str | None) -> dt.datetime | None:
    """An ISO moment from the engine's answers (already in the viewer's zone)."""
    return dt.datetime.fromisoformat(iso) if iso else None


def shown_time(iso: str | None) -> str:
    when = moment(iso)
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def waited(since: str | None, until: str | None = None) -> str:
    """How long from ``since`` to ``until`` (now when None), in words of the page language."""
    start = moment(since)
    if start is None:
        return ""
    end = moment(until) or dt.datetime.now(dt.UTC)
    return format_timedelta(max(end - start, dt.timedelta(0)), threshold=1.5)


# -- labels of flows and nodes ------------------------------------------------------------


def flow_def(key: str):
    return compiled().definitions.approval_flows.get(key)


def flow_label(key: str):
    flow = flow_def(key)
    return flow.label if flow is not None else key


def node_label(flow_key: str, node_id: str | None):
    flow = flow_def(flow_key)
    node = flow.nodes.get(node_id) if flow is not None and node_id else None
    return node.label if node is not None and node.label is not None else (node_id or "")


def person(user: dict | None) -> str:
    return user["display_name"] if user else ""


# -- reads the engine has no listing for --------------------------------------------------


def submitted_moments(instance_ids: list[int]) -> dict[int, str]:
    """When each approval was submitted (ISO, viewer's zone): the task list leaves it out."""
    if not instance_ids:
        return {}
    t = flow_instance_table
    with runtime().engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.id, t.c.submitted_at).where(t.c.id.in_(instance_ids))
        ).all()
    zone = page_context().zone
    return {r.id: r.submitted_at.replace(tzinfo=dt.UTC).astimezone(zone).isoformat() for r in rows}


def submitted_by_me(limit: int = TAB_ROWS) -> list[dict]:
    """The viewer's own submissions, newest first. The engine lists tasks by approver, not
    instances by submitter; the submitter may always read their own (the engine's rule)."""
    t = flow_instance_table
    ctx = page_context()
    query = (
        sa.select(
            t.c.id,
            t.c.flow,
            t.c.object,
            t.c.record_id,
            t.c.status,
            t.c.submitted_at,
            t.c.finished_at,
            t.c.snapshot,
        )
        .where(t.c.submitted_by == ctx.user_id)
        .order_by(t.c.id.desc())
        .limit(limit)
    )
    with runtime().engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]

    def iso(value):
        return value.replace(tzinfo=dt.UTC).astimezone(ctx.zone).isoformat() if value else None

    return [
        {**r, "submitted_at": iso(r["submitted_at"]), "finished_at": iso(r["finished_at"])}
        for r in rows
    ]


def latest_instance(object_name: str, record_id: int) -> dict | None:
    """The record's most recent approval (pending or finished) as the engine pins it:
    ``id``, ``flow``, ``metadata_version`` and ``definition``; None if it never had one."""
    t = flow_instance_table
    query = (
        sa.select(t.c.id, t.c.flow, t.c.metadata_version, t.c.definition)
        .where(t.c.object == object_name, t.c.record_id == record_id)
        .order_by(t.c.id.desc())
        .limit(1)
    )
    with runtime().engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


# -- the inbox ----------------------------------------------------------------------------


def _object(name: str):
    rt = compiled().objects.get(name)
    return rt.definition if rt is not None else None


def task_row(task: dict, submitted_at: str | None) -> dict:
    """One inbox row from the engine's task summary."""
    approval = task["approval"]
    waiting_since = task["created_at"]
    return {
        "task_id": task["id"],
        "status": task["status"],
        "object": _object(approval["object"]),
        "object_name": approval["object"],
        "record_id": approval["record_id"],
        "record_name": approval["record_name"] or f"#{approval['record_id']}",
        "flow": flow_label(approval["flow"]),
        "node": node_label(approval["flow"], task["node"]),
        "submitter": person(approval["submitted_by"]),
        "submitted_at": shown_time(submitted_at),
        "waiting": waited(waiting_since, task["acted_at"]),
        "acted_at": shown_time(task["acted_at"]),
        "comment": task["comment"],
        "for_whom": person(task["original_assignee"]) if task["original_assignee"] else "",
    }


def _task_rows(status: str) -> list[dict]:
    found = approvals().tasks(page_context(), status=status)[:TAB_ROWS]
    moments = submitted_moments(sorted({t["approval"]["id"] for t in found}))
    return [task_row(t, moments.get(t["approval"]["id"])) for t in found]


def _row_now(task_id: int) -> dict | None:
    """The task's inbox row as it is now (after an action), None if it left my lists."""
    for status in ("done", "pending"):
        for task in approvals().tasks(page_context(), status=status):
            if task["id"] == task_id:
                moments = submitted_moments([task["approval"]["id"]])
                return task_row(task, moments.get(task["approval"]["id"]))
    return None


def _submitted_rows() -> list[dict]:
    rows = []
    for r in submitted_by_me():
        obj = _object(r["object"])
        name = (r["snapshot"] or {}).get(obj.name_field) if obj and obj.name_field else None
        rows.append(
            {
                "instance_id": r["id"],
                "status": r["status"],
                "object": obj,
                "object_name": r["object"],
                "record_id": r["record_id"],
                "record_name": name or f"#{r['record_id']}",
                "flow": flow_label(r["flow"]),
                "submitted_at": shown_time(r["submitted_at"]),
                "waiting": waited(r["submitted_at"], r["finished_at"]),
            }
        )
    return rows


@pages.get("/approvals")
def approvals_inbox():
    tab = request.args.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    rows = _submitted_rows() if tab == "submitted" else _task_rows(tab)
    return render_template("approvals.html", tab=tab, tabs=TABS, rows=rows)


# -- acting -------------------------------------------------------------------------------


def _comment() -> str | None:
    return request.form.get("comment", "").strip() or None


def _chosen_user(field: str) -> int | None:
    value = request.form.get(field, "")
    return int(value) if value.isdigit() else None


def _act(task_id: int, action: str) -> dict:
    ctx, comment = page_context(), _comment()
    if action == "approve":
        return approvals().approve(ctx, task_id, comment=comment)
    if action == "reject":
        to_node = request.form.get("to_node") or None
        return approvals().reject(ctx, task_id, comment=comment, to_node=to_node)
    user = _chosen_user("user")
    if user is None:
        raise _NoUser()
    if action == "transfer":
        return approvals().transfer(ctx, task_id, user, comment=comment)
    position = request.form.get("position", "after")
    return approvals().add_approver(ctx, task_id, user, position=position, comment=comment)


class _NoUser(Exception):
    """Transfer or add-approver sent without choosing a person."""


DONE_MESSAGES = {
    "approve": lambda: _("Approved."),
    "reject": lambda: _("Rejected."),
    "transfer": lambda: _("The task was transferred."),
    "add_approver": lambda: _("The approver was added."),
}


def _refusal(exc: TrellisError) -> str:
    """What the user reads when the engine says no (Forbidden and NotFound become pages)."""
    if isinstance(exc, Conflict):
        return _(
            "Already done: this approval has moved on, nothing was changed (%(why)s).",
            why=exc.message,
        )
    return _("Not done: %(why)s", why=exc.message)


def _back(default: str):
    return redirect(_local_path(request.form.get("next") or default), code=303)


@pages.post("/approvals/tasks/<int:task_id>")
def act_on_task(task_id: int):
    """Approve, reject, transfer or add an approver to one of my tasks."""
    action = request.form.get("action", "")
    if action not in TASK_ACTIONS:
        flash(_("Choose approve, reject, transfer or add approver."))
        return _back(url_for("pages.approvals_inbox"))
    message, done = None, False
    try:
        _act(task_id, action)
        message, done = DONE_MESSAGES[action](), True
    except _NoUser:
        message = _("Choose a person first.")
    except (NotFound, Forbidden):
        raise
    except TrellisError as exc:
        message = _refusal(exc)
    if request.headers.get("HX-Request"):
        return render_template(
            "_approval_row.html", row=_row_now(task_id), message=message, done=done
        )
    flash(message)
    return _back(url_for("pages.approvals_inbox"))


@pages.post("/o/<object_name>/<int:record_id>/approvals")
def submit_for_approval(object_name: str, record_id: int):
    object_runtime(object_name)  # 404 for an object the viewer may not read
    back = url_for("pages.record_page", object_name=object_name, record_id=record_id)
    flow = request.form.get("flow") or None
    try:
        approvals().submit(page_context(), object_name, record_id, flow=flow, comment=_comment())
    except (NotFound, Forbidden):
        raise
    except Conflict as exc:
        flash(
            _("Already submitted: this record is waiting for approval (%(why)s).", why=exc.message)
        )
        return _back(back)
    except TrellisError as exc:
        flash(_refusal(exc))
        return _back(back)
    flash(_("Submitted for approval."))
    return _back(back)


@pages.post("/approvals/<int:instance_id>/recall")
def recall_approval(instance_id: int):
    try:
        approvals().recall(page_context(), instance_id, comment=_comment())
    except (NotFound, Forbidden):
        raise
    except TrellisError as exc:
        flash(_refusal(exc))
        return _back(url_for("pages.approvals_inbox", tab="submitted"))
    flash(_("The approval was recalled."))
    return _back(url_for("pages.approvals_inbox", tab="submitted"))
