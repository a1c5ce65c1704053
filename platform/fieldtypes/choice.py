"""Boolean, picklist and multi-select picklist field types."""

from __future__ import annotations

import json

import sqlalchemy as sa

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldType, FieldValueError
from trellis.fieldtypes.registry import register

_LABEL = {"$ref": "https://trellis.dev/schemas/label.json"}
_VALUES = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["api_name", "label"],
        "additionalProperties": False,
        "properties": {
            "api_name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_]{0,39}$"},
            "label": _LABEL,
            "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            # Inactive values stay valid on old records but cannot be chosen again.
            "active": {"type": "boolean"},
            # For dependent picklists: the controlling field's values that allow this one.
            "valid_for": {"type": "array", "items": {"type": "string"}},
            "probability": {"type": "number", "minimum": 0, "maximum": 100},
        },
    },
}

_TRUE = {"true", "1", "yes", "y", "是", "对"}
_FALSE = {"false", "0", "no", "n", "否", "不"}


@register
class Boolean(FieldType):
    name = "boolean"
    expr_type = ExprType.BOOLEAN
    openapi = {"type": "boolean"}

    def column_type(self, field):
        return sa.Boolean()

    def parse(self, value, field):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise FieldValueError(f"expected true or false, got {value!r}")


def value_names(field, *, active_only: bool = False) -> list[str]:
    return [
        v["api_name"] for v in field.options["values"] if not active_only or v.get("active", True)
    ]


def _choose(value, field) -> str:
    if not isinstance(value, str):
        raise FieldValueError(
            f"expected one of the picklist values as text, got {type(value).__name__}"
        )
    values = field.options["values"]
    for v in values:
        if v["api_name"] == value:
            return value
    for v in values:  # a label in either language: people type what they see
        if value in v["label"].values():
            return v["api_name"]
    allowed = ", ".join(v["api_name"] for v in values)
    raise FieldValueError(f"{value!r} is not a value of this picklist; choose one of: {allowed}")


@register
class Picklist(FieldType):
    name = "picklist"
    expr_type = ExprType.TEXT
    options_schema = {"values": _VALUES, "controlling_field": {"type": "string"}}
    required_options = ("values",)

    def column_type(self, field):
        return sa.String(40)

    def parse(self, value, field):
        if value is None or value == "":
            return None
        return _choose(value, field)

    def check_definition(self, field):
        names = value_names(field)
        return [f"picklist value {n!r} is listed twice" for n in set(names) if names.count(n) > 1]


@register
class MultiPicklist(Picklist):
    """Several values; stored as a JSON array in text so both databases filter it alike."""

    name = "multi_picklist"
    expr_type = ExprType.LIST
    openapi = {"type": "array", "items": {"type": "string"}}

    def column_type(self, field):
        return sa.String(2000)

    def parse(self, value, field):
        if value is None or value == [] or value == "":
            return None
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("；", ";").split(";") if v.strip()]
        if not isinstance(value, list):
            raise FieldValueError("expected a list of picklist values")
        chosen = [_choose(v, field) for v in value]
        return json.dumps(sorted(set(chosen), key=chosen.index), ensure_ascii=False)

    def to_json(self, value):
        return None if value is None else json.loads(value)
