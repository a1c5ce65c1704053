"""Automations: triggers (record events, time, schedule, manual) checked and frozen."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from croniter import croniter

from trellis.expressions import ExprType
from trellis.metadata.definitions import Label
from trellis.metadata.flow_actions import actions
from trellis.metadata.flow_definitions import AutomationDef, TriggerDef
from trellis.metadata.flow_scope import FlowScope, a

#: The keys each trigger type takes (besides ``type``).
TRIGGER_KEYS = {
    "created": {"condition"},
    "updated": {"fields", "condition"},
    "created_or_updated": {"fields", "condition"},
    "deleted": {"condition"},
    "time": {"after", "offset"},
    "schedule": {"cron", "time_zone"},
    "manual": set(),
}
#: Triggers whose condition may compare with the values before the write.
WITH_OLD_VALUES = ("updated", "created_or_updated")
#: Actions that need the record to still exist.
ON_A_RECORD = ("update_fields", "assign", "move_to_pool", "submit_for_approval")
DEFAULT_TIME_ZONE = "Asia/Shanghai"
OLD_VALUE = re.compile(r"\bold\.[a-z]")


def build_automation(scope: FlowScope, raw: dict[str, Any], provenance: str) -> AutomationDef:
    trigger = _trigger(scope, "/trigger", raw["trigger"])
    if trigger.type == "deleted":
        for i, step in enumerate(raw["actions"]):
            if step["type"] in ON_A_RECORD:
                scope.problem(
                    f"/actions/{i}/type",
                    f"{a(step['type'])} action needs the record, which a 'deleted' trigger has "
                    "already removed; notify or call a webhook instead",
                )
    return AutomationDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        trigger=trigger,
        actions=actions(scope, "/actions", raw["actions"]),
        condition=scope.formula("/condition", raw.get("condition"), ExprType.BOOLEAN),
        active=raw.get("active", True),
        order=raw.get("order", 100),
        description=raw.get("description", ""),
        provenance=provenance,
    )


def _trigger(scope: FlowScope, place: str, raw: dict[str, Any]) -> TriggerDef:
    kind = raw["type"]
    scope.unknown_keys(place, raw, TRIGGER_KEYS[kind] | {"type"}, f"{a(kind)} trigger")
    for i, name in enumerate(raw.get("fields", ())):
        if scope.live_field(name) is None:
            scope.problem(f"{place}/fields/{i}", f"{name!r} is not a field of {scope.object_name}")
    old = _old_names(scope) if kind in WITH_OLD_VALUES else None
    condition = raw.get("condition")
    if old is None and OLD_VALUE.search(condition or ""):
        scope.problem(
            f"{place}/condition",
            "old.<field> (the value before the write) exists only for 'updated' and "
            "'created_or_updated' triggers",
        )
        condition = None
    return TriggerDef(
        type=kind,
        fields=tuple(raw.get("fields", ())),
        condition=scope.formula(f"{place}/condition", condition, ExprType.BOOLEAN, extra_names=old),
        after=scope.formula_giving(
            f"{place}/after",
            raw.get("after"),
            (ExprType.DATE, ExprType.DATETIME),
            "a date or a date-time (such as `BLANKVALUE(last_followed_up_at, created_at)`)",
        ),
        offset_minutes=_offset_minutes(raw.get("offset", {})),
        cron=_cron(scope, f"{place}/cron", raw.get("cron")),
        time_zone=_time_zone(scope, f"{place}/time_zone", raw.get("time_zone")),
    )


def _old_names(scope: FlowScope) -> dict[str, ExprType]:
    """``old.<field>``: the stored values before the write, for an update trigger's condition."""
    env = scope.compiler.env(scope.object_name)
    return {f"old.{f.api_name}": env[f.api_name] for f in scope.obj.live_fields if f.stored}


def _offset_minutes(raw: Mapping[str, int]) -> int:
    return raw.get("days", 0) * 1440 + raw.get("hours", 0) * 60 + raw.get("minutes", 0)


def _cron(scope: FlowScope, place: str, cron: str | None) -> str | None:
    if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
        scope.problem(
            place,
            f"{cron!r} is not a five-field cron expression (minute hour day-of-month month "
            "day-of-week), such as '0 9 * * 1-5' for 09:00 on weekdays",
        )
    return cron


def _time_zone(scope: FlowScope, place: str, name: str | None) -> str:
    if name is None:
        return DEFAULT_TIME_ZONE
    try:
        dt.datetime.now(zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        scope.problem(
            place, f"{name!r} is not a time zone; use an IANA name such as 'Asia/Shanghai'"
        )
    return name
