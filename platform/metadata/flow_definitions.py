"""Frozen definitions of flows: approval flows, automations, pools and
assignment rules (the JSON formats are described in ``docs/flows.md``).

``trellis.metadata.flow_build`` builds these from checked JSON; the flow
engine (``trellis.flows``) only ever sees these objects. Formulas are
``CompiledExpression`` objects compiled against the flow's object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.metadata.definitions import Label


@dataclass(frozen=True, slots=True)
class PeopleDef:
    """Who: approvers of a node, recipients of a notification, pool members.

    ``type`` is one of user, role, department_head, manager, manager_chain,
    field, formula, owner, submitter, approvers.
    """

    type: str
    users: tuple[str, ...] = ()  # user: usernames
    role: str | None = None  # role
    department: str | None = None  # department_head: api_name (None: of the person)
    of: str | None = None  # manager / manager_chain / department_head: "submitter" or "owner"
    levels: int | None = None  # manager_chain: this many levels up
    until_role: str | None = None  # manager_chain: up to the first manager with this role
    field: str | None = None  # field: a user field of the record
    formula: Any = None  # formula: CompiledExpression giving usernames (text) or a user id


@dataclass(frozen=True, slots=True)
class ActionDef:
    """One step an approval or automation takes.

    ``type`` is one of update_fields, create_record, notify, webhook, assign,
    move_to_pool, submit_for_approval. ``values`` maps field names to
    compiled formulas (update_fields: on the record; create_record: formulas
    on the triggering record giving the new record's values).
    """

    type: str
    values: Mapping[str, Any] = field(default_factory=dict)
    object: str | None = None  # create_record: the object to create
    recipients: tuple[PeopleDef, ...] = ()  # notify
    channels: tuple[str, ...] = ("in_app",)  # notify: in_app, email, wecom
    title: Label | None = None  # notify
    message: Label | None = None  # notify: plain text with {field} placeholders
    wecom_robot: str | None = None  # notify via wecom: a robot name from the configuration
    url: str | None = None  # webhook
    secret: str | None = None  # webhook: the name of a signing secret in the configuration
    rule: str | None = None  # assign: assignment rule api_name
    pool: str | None = None  # move_to_pool: pool api_name (None: the first that accepts it)
    flow: str | None = None  # submit_for_approval: flow api_name (None: by entry criteria)


@dataclass(frozen=True, slots=True)
class BranchDef:
    """One way out of a condition node; ``when`` None is the 'otherwise' branch."""

    next: str
    when: Any = None  # CompiledExpression (BOOLEAN) or None


@dataclass(frozen=True, slots=True)
class SLADef:
    remind_after_hours: float | None = None
    escalate_after_hours: float | None = None
    escalate_to: tuple[PeopleDef, ...] = ()
    auto_approve_after_hours: float | None = None


@dataclass(frozen=True, slots=True)
class NodeDef:
    """One node of an approval flow.

    ``type``: approval, condition, parallel, join, notify, end.
    """

    id: str
    type: str
    label: Label | None = None
    next: str | None = None  # approval, join, notify
    branches: tuple[BranchDef, ...] = ()  # condition: in order; parallel: every branch runs
    join: str | None = None  # parallel: the join node where the branches meet
    approvers: tuple[PeopleDef, ...] = ()  # approval
    mode: str = "any"  # approval: any (或签), all (会签), ratio
    ratio: float | None = None  # mode ratio: share of approvers needed
    min_approvals: int | None = None  # mode ratio: M of N
    if_no_approver: str = "admin"  # skip, admin or reject
    editable_fields: tuple[str, ...] = ()  # approvers may edit these while pending
    sla: SLADef | None = None
    on_approve: tuple[ActionDef, ...] = ()
    on_reject: tuple[ActionDef, ...] = ()
    recipients: tuple[PeopleDef, ...] = ()  # notify (抄送)
    message: Label | None = None  # notify


@dataclass(frozen=True, slots=True)
class FlowDef:
    """An approval flow bound to an object."""

    api_name: str
    object_name: str
    label: Label
    start: str
    nodes: Mapping[str, NodeDef]
    active: bool = True
    priority: int = 100  # lower runs first when several flows' entry criteria match
    entry_criteria: Any = None  # CompiledExpression (BOOLEAN) or None
    on_submit: tuple[ActionDef, ...] = ()
    on_approved: tuple[ActionDef, ...] = ()
    on_rejected: tuple[ActionDef, ...] = ()
    on_recalled: tuple[ActionDef, ...] = ()
    description: str = ""
    provenance: str = "custom"
    #: the effective JSON this was built from: an instance stores it at
    #: submission and keeps running on it after the flow changes
    source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.object_name}.{self.api_name}"


@dataclass(frozen=True, slots=True)
class TriggerDef:
    """When an automation runs.

    ``type``: created, updated, created_or_updated, deleted, time, schedule, manual.
    """

    type: str
    fields: tuple[str, ...] = ()  # updated: only when one of these changed
    condition: Any = None  # updated: BOOLEAN over the record and ``old.<field>``
    after: Any = None  # time: DATE/DATETIME formula; None means the triggering write
    offset_minutes: int = 0  # time: may be negative (before a date)
    cron: str | None = None  # schedule: five-field cron in ``time_zone``
    time_zone: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class AutomationDef:
    api_name: str
    object_name: str
    label: Label
    trigger: TriggerDef
    actions: tuple[ActionDef, ...]
    condition: Any = None  # BOOLEAN on the record, re-checked when a timed run is due
    active: bool = True
    order: int = 100  # automations of one trigger run by (order, api_name)
    description: str = ""
    provenance: str = "custom"
    #: set when the platform made this automation from another definition
    #: (a pool's recycle rule: "pool:lead.east_leads")
    source: str | None = None

    @property
    def key(self) -> str:
        return f"{self.object_name}.{self.api_name}"


@dataclass(frozen=True, slots=True)
class PoolDef:
    """A pool (公海池) of records without an owner, claimed by its members."""

    api_name: str
    object_name: str
    label: Label
    members: tuple[PeopleDef, ...]
    condition: Any = None  # BOOLEAN: which records this pool takes
    claims_per_day: int | None = None
    max_held: int | None = None  # records of the object a member may own at once
    active: bool = True
    provenance: str = "custom"

    @property
    def key(self) -> str:
        return f"{self.object_name}.{self.api_name}"


@dataclass(frozen=True, slots=True)
class AssignmentEntryDef:
    method: str  # round_robin or load
    users: tuple[PeopleDef, ...]
    when: Any = None  # BOOLEAN or None (always)
    load_filter: Any = None  # load: BOOLEAN on the object's records that count as load


@dataclass(frozen=True, slots=True)
class AssignmentRuleDef:
    """Who gets a record (分配规则): the first entry whose condition holds decides."""

    api_name: str
    object_name: str
    label: Label
    entries: tuple[AssignmentEntryDef, ...]
    on_create: bool = False
    active: bool = True
    order: int = 100
    provenance: str = "custom"

    @property
    def key(self) -> str:
        return f"{self.object_name}.{self.api_name}"
