"""Required fields, picklists per record type, and validation rules."""

from __future__ import annotations

from typing import Any

from trellis.runtime.compiled import ObjectRuntime


def check(
    rt: ObjectRuntime,
    values: dict[str, Any],
    env: dict[str, Any],
    ctx,
    changed: set[str] | None = None,
) -> list[dict]:
    """Every rule a record breaks, as error details (empty when valid)."""
    errors = _required(rt, values)
    errors += _picklists(rt, values, changed)
    if errors:
        return errors  # rules assume required fields are present
    for rule in rt.definition.validation_rules:
        if (
            rule.active
            and rule.error_condition is not None
            and rule.error_condition.evaluate(env, now=ctx.local_now) is True
        ):
            detail = {"rule": rule.api_name, "message": rule.message.get(ctx.locale)}
            if rule.field:
                detail["field"] = rule.field
            errors.append(detail)
    return errors


def _required(rt: ObjectRuntime, values: dict[str, Any]) -> list[dict]:
    return [
        {"field": f.api_name, "message": f"{f.label.en} ({f.label.zh}) is required"}
        for f in rt.definition.live_fields
        if f.required and f.writable and values.get(f.api_name) is None
    ]


def _picklists(rt: ObjectRuntime, values: dict[str, Any], changed: set[str] | None) -> list[dict]:
    """Inactive values and values of another record type may stay, but not be newly chosen."""
    errors = []
    record_type = rt.definition.record_types and next(
        (t for t in rt.definition.record_types if t.api_name == values.get("record_type")), None
    )
    for f, specs in rt.picklists:
        value = values.get(f.api_name)
        if value is None or (changed is not None and f.api_name not in changed):
            continue
        spec = specs[value]
        if not spec.get("active", True):
            errors.append(
                {
                    "field": f.api_name,
                    "message": f"{value!r} is no longer offered; choose another value",
                }
            )
        elif (
            record_type
            and f.api_name in record_type.picklist_values
            and value not in record_type.picklist_values[f.api_name]
        ):
            errors.append(
                {
                    "field": f.api_name,
                    "message": f"{value!r} is not offered for record type {record_type.api_name!r}",
                }
            )
        ctl = f.options.get("controlling_field")
        if ctl and "valid_for" in spec and values.get(ctl) not in spec["valid_for"]:
            errors.append(
                {
                    "field": f.api_name,
                    "message": f"{value!r} cannot be chosen when "
                    f"{ctl} is {values.get(ctl)!r}; it goes with {', '.join(spec['valid_for'])}",
                }
            )
    return errors
