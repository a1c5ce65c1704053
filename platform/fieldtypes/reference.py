"""References to other records: lookup (to any object) and user."""

from __future__ import annotations

import sqlalchemy as sa

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldType, FieldValueError
from trellis.fieldtypes.registry import register


def _id(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldValueError("expected a record id (a whole number)")
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldValueError(f"expected a record id (a whole number), got {value!r}") from None
    if number <= 0:
        raise FieldValueError("record ids are positive whole numbers")
    return number


@register
class Lookup(FieldType):
    """A reference to a record of ``target``. ``on_delete`` says what deleting the
    target does: ``restrict`` (refuse while referenced), ``set_null``, or
    ``cascade`` (master-detail: the children go with the parent)."""

    name = "lookup"
    expr_type = ExprType.NUMBER
    options_schema = {
        "target": {"type": "string"},
        "on_delete": {"enum": ["restrict", "set_null", "cascade"]},
        "relationship_label": {"$ref": "https://trellis.dev/schemas/label.json"},
    }
    required_options = ("target",)
    openapi = {"type": "integer"}

    def column_type(self, field):
        return sa.BigInteger()

    def parse(self, value, field):
        return _id(value)


@register
class User(FieldType):
    """A reference to a Trellis user (the owner field is one)."""

    name = "user"
    expr_type = ExprType.NUMBER
    openapi = {"type": "integer"}

    def column_type(self, field):
        return sa.BigInteger()

    def parse(self, value, field):
        return _id(value)
