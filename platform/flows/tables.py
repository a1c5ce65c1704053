"""The flow engine's tables: durable jobs, done-markers, approval instances,
tasks and their history, delegations, notifications, pools and assignment
state. They sit in the same MetaData as the platform's other tables, so
``create_system_tables`` creates them."""

from __future__ import annotations

import sqlalchemy as sa

from trellis.metadata.store import meta

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# -- jobs and effects -------------------------------------------------------

#: Durable work: timed automation runs, SLA reminders, outbox deliveries
#: (email, WeCom, webhooks). ``trellis worker`` drains due rows.
job_table = sa.Table(
    "trellis_job",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    # One live job per key (e.g. "time:lead.recycle:42"): scheduling again moves it.
    sa.Column("unique_key", sa.String(255), unique=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending, running, done, dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="5"),
    sa.Column("locked_by", sa.String(80)),
    sa.Column("heartbeat_at", sa.DateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Index("ix_trellis_job_due", "status", "due_at"),
)

#: Done-markers: an effect writes its key in the same transaction as the
#: effect itself, so a retried or duplicated job cannot do it twice.
effect_table = sa.Table(
    "trellis_effect",
    meta,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

automation_log_table = sa.Table(
    "trellis_automation_log",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("automation", sa.String(120), nullable=False),
    sa.Column("object", sa.String(40)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),  # done, skipped, stopped, failed
    sa.Column("message", sa.Text),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Index("ix_trellis_automation_log_record", "object", "record_id"),
)

notification_table = sa.Table(
    "trellis_notification",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("object", sa.String(40)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("source", sa.String(200)),  # the automation or approval that sent it
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("read_at", sa.DateTime),
    sa.Index("ix_trellis_notification_user", "user_id", "read_at"),
)

# -- approvals ----------------------------------------------------------------

flow_instance_table = sa.Table(
    "trellis_flow_instance",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("flow", sa.String(120), nullable=False),  # "object.api_name"
    # The definition as it was at submission: a running instance keeps its version.
    sa.Column("metadata_version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("object", sa.String(40), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending, approved, rejected, recalled
    sa.Column("submitted_by", sa.BigInteger, nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("snapshot", sa.JSON, nullable=False),  # the record's values at submission
    sa.Column("comment", sa.Text),
    # "object:record" while pending, NULL after: at most one pending instance per record.
    sa.Column("pending_key", sa.String(80), unique=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_trellis_flow_instance_record", "object", "record_id"),
)

approval_task_table = sa.Table(
    "trellis_approval_task",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column(
        "instance_id",
        sa.ForeignKey("trellis_flow_instance.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("node", sa.String(60), nullable=False),
    sa.Column("visit", sa.Integer, nullable=False, server_default="1"),  # grows after 退回
    sa.Column("sequence", sa.Integer, nullable=False, server_default="1"),  # 逐级 / 加签 order
    sa.Column("assignee_id", sa.BigInteger, nullable=False),
    sa.Column("original_assignee_id", sa.BigInteger),  # before transfer or delegation
    # waiting (a later sequence), pending, approved, rejected, transferred, cancelled
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("added_by", sa.BigInteger),  # 加签: who added this approver
    # 加签: the task this one was added to, and whether it comes before or after it
    sa.Column("added_for", sa.BigInteger),
    sa.Column("position", sa.String(6)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("acted_at", sa.DateTime),
    sa.Column("comment", sa.Text),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_trellis_approval_task_assignee", "assignee_id", "status"),
    sa.Index("ix_trellis_approval_task_instance", "instance_id", "node", "visit"),
)

#: Everything that happened to an instance: submit, approve, reject, recall,
#: transfer, add_approver, remind, escalate, auto_approve, skip, notify.
approval_event_table = sa.Table(
    "trellis_approval_event",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column(
        "instance_id",
        sa.ForeignKey("trellis_flow_instance.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("task_id", sa.BigInteger),
    sa.Column("node", sa.String(60)),
    sa.Column("actor_id", sa.BigInteger),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("details", sa.JSON),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Index("ix_trellis_approval_event_instance", "instance_id"),
)

#: 代理: a user's new tasks go to a delegate between two dates (inclusive).
delegation_table = sa.Table(
    "trellis_delegation",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("delegate_id", sa.BigInteger, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
    sa.Index("ix_trellis_delegation_user", "user_id"),
)

# -- pools and assignment ----------------------------------------------------------

pool_entry_table = sa.Table(
    "trellis_pool_entry",
    meta,
    sa.Column("object", sa.String(40), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
    sa.Column("pool", sa.String(80), nullable=False),
    sa.Column("entered_at", sa.DateTime, nullable=False),
    sa.Column("previous_owner", sa.BigInteger),
    sa.Column("reason", sa.String(20), nullable=False),  # recycled, released, moved
    sa.Index("ix_trellis_pool_entry_pool", "object", "pool", "entered_at"),
)

pool_claim_table = sa.Table(
    "trellis_pool_claim",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("object", sa.String(40), nullable=False),
    sa.Column("pool", sa.String(80), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("claimed_at", sa.DateTime, nullable=False),
    sa.Index("ix_trellis_pool_claim_user", "user_id", "claimed_at"),
)

assignment_state_table = sa.Table(
    "trellis_assignment_state",
    meta,
    sa.Column("entry", sa.String(160), primary_key=True),  # "object.rule#index"
    sa.Column("position", sa.Integer, nullable=False),
)
