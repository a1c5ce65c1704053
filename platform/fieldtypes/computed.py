"""Values the platform computes: auto-number, formula and roll-up summary."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldType
from trellis.fieldtypes.registry import FIELD_TYPES, register

RETURN_TYPES = ["text", "integer", "decimal", "currency", "percent", "boolean", "date", "datetime"]
_PATTERN_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|0+)\}")


@register
class AutoNumber(FieldType):
    """A unique, readable number such as ``LEAD-202611-0001``.

    The pattern may use ``{YYYY}``, ``{YY}``, ``{MM}``, ``{DD}`` (the creation
    date in the company's time zone) and one ``{000…}`` run for the counter,
    zero-padded to its width. The counter is per field and never reused.
    """

    name = "auto_number"
    expr_type = ExprType.TEXT
    writable = False
    options_schema = {"pattern": {"type": "string", "minLength": 1, "maxLength": 60}}
    required_options = ("pattern",)

    def column_type(self, field):
        return sa.String(80)

    def check_definition(self, field):
        counters = re.findall(r"\{0+\}", field.options["pattern"])
        if len(counters) != 1:
            return [
                "an auto-number pattern needs exactly one counter such as {0000}, "
                "for example LEAD-{YYYY}{MM}-{0000}"
            ]
        return []


def format_auto_number(pattern: str, counter: int, today: dt.date) -> str:
    """Fill an auto-number pattern for one counter value."""

    def fill(match: re.Match) -> str:
        token = match.group(1)
        if token[0] == "0":
            return str(counter).zfill(len(token))
        return {
            "YYYY": f"{today.year:04d}",
            "YY": f"{today.year % 100:02d}",
            "MM": f"{today.month:02d}",
            "DD": f"{today.day:02d}",
        }[token]

    return _PATTERN_TOKEN.sub(fill, pattern)


class _Computed(FieldType):
    writable = False

    def result_type(self, field) -> FieldType:
        return FIELD_TYPES[field.options.get("return_type", "decimal")]

    def value_type(self, field):
        return self.result_type(field).value_type(field)

    def column_type(self, field):
        return self.result_type(field).column_type(field)

    def to_json(self, value):
        return value if value is None else _to_json(value)

    def widening(self, old, new):
        if old.options.get("return_type") != new.options.get("return_type"):
            return "narrow"
        return self.result_type(new).widening(old, new)


def _to_json(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bool, int, str)):
        return value
    return str(value)


@register
class Formula(_Computed):
    """A value computed from other fields with the expression language.

    ``stored: true`` keeps it in a column, recomputed whenever an input
    changes (also inputs on looked-up records), so lists can filter and sort on
    it; ``stored: false`` computes it when a record is read.
    """

    name = "formula"
    expr_type = ExprType.ANY
    options_schema = {
        "formula": {"type": "string", "minLength": 1, "maxLength": 2000},
        "return_type": {"enum": RETURN_TYPES},
        "stored": {"type": "boolean"},
        "scale": {"type": "integer", "minimum": 0, "maximum": 18},
        "precision": {"type": "integer", "minimum": 1, "maximum": 38},
        "length": {"type": "integer", "minimum": 1, "maximum": 4000},
    }
    required_options = ("formula", "return_type")

    def is_stored(self, field):
        return bool(field.options.get("stored", True))


@register
class Rollup(_Computed):
    """A summary of child records: count, sum, min, max or avg of a child
    object's field, over the children whose lookup ``via`` points at this
    record, optionally only those matching ``filter``. Kept current whenever a
    child is created, changed, re-parented or deleted."""

    name = "rollup"
    expr_type = ExprType.NUMBER
    options_schema = {
        "object": {"type": "string"},
        "via": {"type": "string"},
        "function": {"enum": ["count", "sum", "min", "max", "avg"]},
        "field": {"type": "string"},
        "filter": {"type": "string", "maxLength": 2000},
        "return_type": {"enum": RETURN_TYPES},
        "scale": {"type": "integer", "minimum": 0, "maximum": 18},
        "precision": {"type": "integer", "minimum": 1, "maximum": 38},
    }
    required_options = ("object", "via", "function")
