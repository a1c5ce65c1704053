"""ApprovalService: submit, approve, reject, recall, transfer, 加签, delegate, read.

Every action runs in one transaction (its own, or the caller's ``ctx.conn``)
and starts by locking the instance row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's write transaction holds the database), then re-reads
the task. State changes are conditional updates (a task ``WHERE status =
'pending'``, the instance ``WHERE version = :v``), so two actions racing on
one node end in exactly one outcome and the loser gets a 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from trellis.flows.approvals import history, lock, routing, sla, tasks, view
from trellis.flows.approvals.pins import PinnedFlows
from trellis.flows.approvals.run import ACTIVE, Run, as_id, lock_instance
from trellis.flows.record_values import formula_env, holds, load_row
from trellis.flows.tables import approval_task_table, delegation_table, flow_instance_table
from trellis.metadata.flow_definitions import FlowDef
from trellis.runtime.errors import Conflict, Forbidden, Invalid, NotFound
from trellis.runtime.system_tables import user_table

T = approval_task_table
I = flow_instance_table  # noqa: E741  (the instance table, as T is the task table)

#: Why a task that is not pending cannot act, by its status.
NOT_PENDING = {
    "approved": "was already approved; a task acts once",
    "rejected": "was already rejected; a task acts once",
    "waiting": "is not open yet: it waits for earlier approvers",
    "cancelled": "is no longer needed: its node was decided or the approval ended",
    "transferred": "was transferred to someone else",
}


class ApprovalService:
    def __init__(self, flows):
        self.flows = flows
        self.pins = PinnedFlows()
        lock.install(self)
        sla.register(self)

    @contextmanager
    def _session(self, ctx, write: bool = True) -> Iterator[tuple[sa.Connection, Any, Any]]:
        with self.flows.records.session(ctx, write=write) as (conn, compiled):
            yield conn, compiled, ctx.on(conn)

    # -- submit ---------------------------------------------------------------

    def submit(
        self,
        ctx,
        object_name: str,
        record_id: int,
        *,
        flow: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        """Start an approval of one record (by a user who can read it, or an automation)."""
        with self._session(ctx) as (conn, compiled, ctx):
            self.flows.records.get(ctx, object_name, record_id)  # 404 unless readable
            record_id = as_id(record_id)
            row = load_row(conn, compiled, object_name, record_id, lock=True)
            chosen = self._choose(conn, compiled, ctx, object_name, row, flow)
            _refuse_second(conn, object_name, record_id)
            snapshot = self.flows.records.get(
                ctx.acting_for("approval:snapshot"), object_name, record_id
            )
            instance = _insert(conn, ctx, chosen, compiled.version, row, snapshot, comment)
            self.pins.remember(chosen, compiled.version)
            run = Run(self.flows, conn, compiled, ctx, instance, chosen, submitting=True)
            history.write(run, "submit", comment=comment)
            routing.run_actions(run, chosen.on_submit)
            routing.enter(run, chosen.start)
            run.submitting = False
            run.save()
            return view.instance(conn, ctx, run.instance, chosen)

    def _choose(self, conn, compiled, ctx, object_name, row, name) -> FlowDef:
        """The named flow, or the first active flow (by priority) whose entry criteria hold."""
        flows = compiled.definitions.approval_flows
        mine = sorted(
            (f for f in flows.values() if f.object_name == object_name and f.active),
            key=lambda f: (f.priority, f.api_name),
        )
        if name is not None:
            chosen = flows.get(f"{object_name}.{name}")
            if chosen is None or not chosen.active:
                names = ", ".join(f.api_name for f in mine) or "none"
                raise Invalid(
                    f"{object_name} has no active approval flow {str(name)[:60]!r}; "
                    f"active flows: {names}"
                )
            mine = [chosen]
        env = formula_env(
            conn,
            compiled,
            ctx,
            object_name,
            row,
            [f.entry_criteria for f in mine if f.entry_criteria is not None],
        )
        for candidate in mine:
            where = f"entry criteria of approval flow {candidate.key}"
            if holds(candidate.entry_criteria, env, ctx, where):
                return candidate
        if name is not None:
            raise Invalid(
                f"this {object_name} does not meet the entry criteria of approval flow "
                f"{mine[0].api_name!r} ({mine[0].entry_criteria.source})"
            )
        raise Invalid(
            f"no active approval flow of {object_name} accepts this record"
            + (
                f" (entry criteria: {'; '.join(_criteria(f) for f in mine)})"
                if mine
                else "; an administrator must define one first"
            )
        )

    # -- acting on a task -------------------------------------------------------

    def approve(self, ctx, task_id: int, *, comment: str | None = None) -> dict[str, Any]:
        with self._session(ctx) as (conn, compiled, ctx):
            run, task, node = self._task_run(conn, compiled, ctx, task_id)
            tasks.act(run, task, "approved", comment)
            history.write(run, "approve", node=node.id, task_id=task["id"], comment=comment)
            routing.after_task(run, node, task["visit"])
            return self._done(run)

    def reject(
        self, ctx, task_id: int, *, comment: str | None = None, to_node: str | None = None
    ) -> dict[str, Any]:
        """Reject: the instance ends rejected, or with ``to_node`` goes back there (退回)."""
        with self._session(ctx) as (conn, compiled, ctx):
            run, task, node = self._task_run(conn, compiled, ctx, task_id)
            if to_node is not None:
                routing.check_return(run, node, to_node)
            tasks.act(run, task, "rejected", comment)
            details = {"to_node": to_node} if to_node else None
            history.write(
                run, "reject", node=node.id, task_id=task["id"], comment=comment, details=details
            )
            routing.after_task(run, node, task["visit"], to_node=to_node)
            return self._done(run)

    def transfer(
        self, ctx, task_id: int, to_user: int, *, comment: str | None = None
    ) -> dict[str, Any]:
        """转交: hand a pending task to another user."""
        with self._session(ctx) as (conn, compiled, ctx):
            run, task, node = self._task_run(conn, compiled, ctx, task_id)
            to_user = _active_user(conn, to_user)
            _refuse_holder(conn, task, to_user, "transfer the task to")
            new_id = tasks.transfer(run, node, task, to_user)
            history.write(
                run,
                "transfer",
                node=node.id,
                task_id=task["id"],
                comment=comment,
                details={"from": task["assignee_id"], "to": to_user, "task": new_id},
            )
            return self._done(run)

    def add_approver(
        self, ctx, task_id: int, user: int, *, position: str, comment: str | None = None
    ) -> dict[str, Any]:
        """加签: ``user`` approves before you (your task waits) or after you."""
        if position not in ("before", "after"):
            raise Invalid(f"position must be 'before' or 'after', not {str(position)[:20]!r}")
        with self._session(ctx) as (conn, compiled, ctx):
            run, task, node = self._task_run(conn, compiled, ctx, task_id)
            user = _active_user(conn, user)
            _refuse_holder(conn, task, user, "add")
            new_id = tasks.add(run, node, task, user, position)
            history.write(
                run,
                "add_approver",
                node=node.id,
                task_id=task["id"],
                comment=comment,
                details={"user": user, "position": position, "task": new_id},
            )
            return self._done(run)

    def _task_run(self, conn, compiled, ctx, task_id) -> tuple[Run, dict, Any]:
        """Lock the task's instance, then check that ``ctx`` may act on the task now."""
        task_id = as_id(task_id)
        instance_id = conn.execute(sa.select(T.c.instance_id).where(T.c.id == task_id)).scalar()
        if instance_id is None:
            raise NotFound(f"there is no approval task {task_id} that you can see")
        instance = lock_instance(conn, instance_id)
        task = dict(conn.execute(sa.select(T).where(T.c.id == task_id)).mappings().one())
        if not self._may_act(conn, ctx, task):
            if not _involved(conn, ctx.user_id, instance):
                raise NotFound(f"there is no approval task {task_id} that you can see")
            raise Forbidden(
                f"approval task {task_id} is assigned to {_name(conn, task['assignee_id'])}; "
                "only they (or their delegate) may act on it"
            )
        if instance["status"] != "pending":
            raise Conflict(
                f"approval {instance['id']} is already {instance['status']}; nothing more can "
                "be done on it"
            )
        if task["status"] != "pending":
            raise Conflict(f"approval task {task_id} {NOT_PENDING[task['status']]}")
        flow = self.pins.flow(compiled, instance)
        return Run(self.flows, conn, compiled, ctx, instance, flow), task, flow.nodes[task["node"]]

    def _may_act(self, conn, ctx, task) -> bool:
        if task["assignee_id"] == ctx.user_id:
            return True
        return tasks.delegate_of(conn, task["assignee_id"], ctx.local_now.date()) == ctx.user_id

    def _done(self, run: Run) -> dict[str, Any]:
        run.save()
        return view.instance(run.conn, run.ctx, run.instance, run.flow)

    # -- recall ---------------------------------------------------------------

    def recall(self, ctx, instance_id: int, *, comment: str | None = None) -> dict[str, Any]:
        """撤回: the submitter takes a pending approval back."""
        with self._session(ctx) as (conn, compiled, ctx):
            instance = lock_instance(conn, instance_id)
            if instance["submitted_by"] != ctx.user_id:
                if not self._may_read(conn, ctx, instance):
                    raise NotFound(f"there is no approval {instance['id']} that you can see")
                raise Forbidden(
                    f"only the submitter ({_name(conn, instance['submitted_by'])}) may recall "
                    f"approval {instance['id']}"
                )
            if instance["status"] != "pending":
                raise Conflict(
                    f"approval {instance['id']} is already {instance['status']}; only a pending "
                    "approval can be recalled"
                )
            run = Run(self.flows, conn, compiled, ctx, instance, self.pins.flow(compiled, instance))
            history.write(run, "recall", comment=comment)
            routing.finish(run, "recalled")
            return self._done(run)

    # -- delegation -----------------------------------------------------------

    def delegate(
        self, ctx, delegate_id: int, starts_on: dt.date, ends_on: dt.date
    ) -> dict[str, Any]:
        """代理: from ``starts_on`` to ``ends_on`` (inclusive) your new tasks go to the delegate,
        who may also act on the tasks you hold."""
        if not isinstance(starts_on, dt.date) or not isinstance(ends_on, dt.date):
            raise Invalid("starts_on and ends_on must be dates (YYYY-MM-DD)")
        if ends_on < starts_on:
            raise Invalid(f"ends_on ({ends_on}) is before starts_on ({starts_on})")
        with self._session(ctx) as (conn, compiled, ctx):
            delegate_id = _active_user(conn, delegate_id)
            if delegate_id == ctx.user_id:
                raise Invalid("you cannot delegate to yourself; choose another user")
            new_id = conn.execute(
                sa.insert(delegation_table).values(
                    user_id=ctx.user_id,
                    delegate_id=delegate_id,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    created_at=ctx.stamp,
                )
            ).inserted_primary_key[0]
            from trellis.flows.people import usernames

            names = usernames(conn, [ctx.user_id, delegate_id])
            return {
                "id": new_id,
                "user": names.get(ctx.user_id),
                "delegate": names.get(delegate_id),
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
            }

    # -- reading --------------------------------------------------------------

    def instance(self, ctx, instance_id: int) -> dict[str, Any]:
        """An instance, for whoever can read its record, its submitter and its approvers."""
        with self._session(ctx, write=False) as (conn, compiled, ctx):
            row = conn.execute(sa.select(I).where(I.c.id == as_id(instance_id))).mappings().first()
            if row is None:
                raise NotFound(f"there is no approval {instance_id} that you can see")
            row = dict(row)
            record = self._readable_record(ctx, row)
            if record is None and not _involved(conn, ctx.user_id, row):
                raise NotFound(f"there is no approval {instance_id} that you can see")
            # A reader of the record sees the snapshot's fields they may see today; the
            # submitter and approvers see what was submitted.
            visible = None
            if record is not None and not _involved(conn, ctx.user_id, row):
                visible = set(record)
            return view.instance(
                conn, ctx, row, self.pins.flow(compiled, row), visible_fields=visible
            )

    def tasks(self, ctx, *, status: str = "pending") -> list[dict[str, Any]]:
        """My tasks: ``pending`` (mine and those of people I stand in for today), ``waiting``
        (my turn comes later) or ``done`` (acted on)."""
        statuses = {
            "pending": ("pending",),
            "waiting": ("waiting",),
            "done": ("approved", "rejected", "transferred"),
        }
        if status not in statuses:
            raise Invalid(f"status must be one of {', '.join(statuses)}, not {str(status)[:20]!r}")
        with self._session(ctx, write=False) as (conn, compiled, ctx):
            holders = [ctx.user_id]
            if status == "pending":
                holders += tasks.delegators(conn, ctx.user_id, ctx.local_now.date())
            query = (
                sa.select(T, I.c.flow, I.c.object, I.c.record_id, I.c.snapshot, I.c.submitted_by)
                .join(I, I.c.id == T.c.instance_id)
                .where(T.c.assignee_id.in_(holders), T.c.status.in_(statuses[status]))
                .order_by(T.c.id.desc())
                .limit(500)
            )
            rows = [dict(r) for r in conn.execute(query).mappings()]
            return [self._task_summary(conn, compiled, ctx, r) for r in rows]

    def _task_summary(self, conn, compiled, ctx, row) -> dict[str, Any]:
        from trellis.flows.people import usernames

        users = usernames(
            conn, [row["assignee_id"], row["original_assignee_id"], row["submitted_by"]]
        )
        out = view.task(row, users, ctx)
        rt = compiled.objects.get(row["object"])
        name_field = rt.definition.name_field if rt is not None else None
        out["approval"] = {
            "id": row["instance_id"],
            "flow": row["flow"],
            "object": row["object"],
            "record_id": row["record_id"],
            "record_name": (row["snapshot"] or {}).get(name_field) if name_field else None,
            "submitted_by": users.get(row["submitted_by"]),
        }
        return out

    def _readable_record(self, ctx, row) -> dict[str, Any] | None:
        try:
            return self.flows.records.get(ctx, row["object"], row["record_id"])
        except (NotFound, Forbidden):
            return None

    def _may_read(self, conn, ctx, row) -> bool:
        return _involved(conn, ctx.user_id, row) or self._readable_record(ctx, row) is not None

    # -- SLA jobs -------------------------------------------------------------

    def sla_step(self, conn, ctx, kind: str, task_id: int) -> None:
        """Remind, escalate or auto-approve a task still pending when its job is due."""
        from trellis.flows.approvals import escalation

        escalation.run_step(self, conn, ctx, kind, task_id)

    # -- the record lock ------------------------------------------------------

    def end_with_record(self, conn, ctx, instance: dict[str, Any]) -> None:
        """The record was deleted: cancel its pending approval (no actions: nothing to act on)."""
        instance = lock_instance(conn, instance["id"])
        compiled = self.flows.cache.get(conn)
        run = Run(
            self.flows, conn, compiled, ctx.on(conn), instance, self.pins.flow(compiled, instance)
        )
        tasks.close_all(run)
        run.changes.update(status="recalled", finished_at=run.stamp, pending_key=None)
        history.write(run, "recalled", details={"reason": f"the {run.object_name} was deleted"})
        run.save()

    def pending_for(self, conn, object_name: str, record_id: int) -> dict[str, Any] | None:
        """The pending instance of a record, if any."""
        query = sa.select(I).where(I.c.pending_key == f"{object_name}:{record_id}")
        row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None


def _insert(conn, ctx, flow: FlowDef, version: int, row, snapshot, comment) -> dict[str, Any]:
    values = {
        "flow": flow.key,
        "metadata_version": version,
        "definition": dict(flow.source),
        "object": flow.object_name,
        "record_id": row["id"],
        "status": "pending",
        "submitted_by": ctx.user_id,
        "submitted_at": ctx.stamp,
        "snapshot": snapshot,
        "comment": comment,
        "pending_key": f"{flow.object_name}:{row['id']}",
        "version": 1,
    }
    try:
        with conn.begin_nested():
            new_id = conn.execute(sa.insert(I).values(values)).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        raise _second_submission(flow.object_name, row["id"]) from None
    return {**values, "id": new_id, "finished_at": None}


def _refuse_second(conn, object_name: str, record_id: int) -> None:
    query = sa.select(I.c.id).where(I.c.pending_key == f"{object_name}:{record_id}")
    existing = conn.execute(query).scalar()
    if existing is not None:
        raise _second_submission(object_name, record_id, existing)


def _second_submission(object_name, record_id, existing=None) -> Conflict:
    which = f" (approval {existing})" if existing else ""
    return Conflict(
        f"this {object_name} is already waiting for approval{which}; wait for it to finish "
        "or recall it before submitting again"
    )


def _criteria(flow: FlowDef) -> str:
    return f"{flow.api_name}: {flow.entry_criteria.source if flow.entry_criteria else 'always'}"


def _active_user(conn, user_id) -> int:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise Invalid(f"{str(user_id)[:40]!r} is not a user") from None
    query = sa.select(user_table.c.id).where(user_table.c.id == user_id, user_table.c.is_active)
    if conn.execute(query).scalar() is None:
        raise Invalid(f"user {user_id} does not exist or is deactivated; choose an active user")
    return user_id


def _refuse_holder(conn, task, user: int, verb: str) -> None:
    if user in tasks.active_holders(conn, task["instance_id"], task["node"], task["visit"]):
        raise Invalid(
            f"{_name(conn, user)} already has an open task at this node; you cannot {verb} them"
        )


def _involved(conn, user_id: int, instance) -> bool:
    """The submitter, or someone who holds or held a task of the instance."""
    if instance["submitted_by"] == user_id:
        return True
    query = sa.select(T.c.id).where(
        T.c.instance_id == instance["id"],
        sa.or_(T.c.assignee_id == user_id, T.c.original_assignee_id == user_id),
    )
    return conn.execute(query.limit(1)).first() is not None


def _name(conn, user_id) -> str:
    row = conn.execute(
        sa.select(user_table.c.username, user_table.c.display_name).where(
            user_table.c.id == user_id
        )
    ).first()
    return f"{row.display_name} ({row.username})" if row else f"user {user_id}"


__all__ = ["ACTIVE", "ApprovalService"]
