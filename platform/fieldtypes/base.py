"""What every field type provides."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import marshmallow
import sqlalchemy as sa

from trellis.expressions import ExprType


class FieldValueError(ValueError):
    """A value that does not fit a field; the message says what would fit."""


class FieldLike(Protocol):
    """The parts of a field definition a field type reads (``trellis.metadata.FieldDef``)."""

    api_name: str
    type: str
    options: Any


class TrellisField(marshmallow.fields.Field):
    """A marshmallow field that delegates to a field type's ``parse`` function.

    Why: the records service coerces every value through marshmallow fields so
    that single writes, bulk writes and the OpenAPI schemas share one
    definition of "a valid value", with per-field error messages.
    """

    def __init__(self, parse, *, field_type: FieldType, definition: FieldLike, **kwargs):
        super().__init__(allow_none=True, **kwargs)
        self._parse = parse
        self.field_type = field_type
        self.definition = definition

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self._parse(value, self.definition)
        except FieldValueError as exc:
            raise marshmallow.ValidationError(str(exc)) from None


class FieldType:
    """Base class: override what differs. Instances are stateless singletons."""

    name: ClassVar[str]
    expr_type: ClassVar[ExprType]
    #: JSON Schema properties this type adds to a field definition.
    options_schema: ClassVar[dict[str, Any]] = {}
    #: Required option names.
    required_options: ClassVar[tuple[str, ...]] = ()
    #: False for types whose value the platform computes (formula, roll-up, auto-number).
    writable: ClassVar[bool] = True
    #: OpenAPI schema of one value.
    openapi: ClassVar[dict[str, Any]] = {"type": "string"}

    def is_stored(self, field: FieldLike) -> bool:
        """Whether the field has a column."""
        return True

    def column_type(self, field: FieldLike) -> sa.types.TypeEngine:
        raise NotImplementedError

    def parse(self, value: Any, field: FieldLike) -> Any:
        """Turn a JSON value into the stored Python value or raise FieldValueError."""
        return value

    def to_json(self, value: Any) -> Any:
        """Turn a stored value into JSON."""
        return value

    def value_type(self, field: FieldLike) -> ExprType:
        """The expression type formulas see for this field."""
        return self.expr_type

    def marshmallow_field(self, field: FieldLike) -> marshmallow.fields.Field:
        return TrellisField(self.parse, field_type=self, definition=field)

    def widening(self, old: FieldLike, new: FieldLike) -> str | None:
        """Compare the storage of an old and new definition of the same type.

        Returns None when storage is unchanged, "widen" when the new column
        holds every old value, or "narrow" when some values might not fit;
        ``narrowing_check`` then counts the rows that would not fit.
        """
        return None

    def narrowing_check(self, column: sa.ColumnElement, new: FieldLike) -> sa.ColumnElement | None:
        """A condition true for rows whose value would not fit ``new``."""
        return None

    def check_definition(self, field: FieldLike) -> list[str]:
        """Problems with the type-specific options (beyond the JSON Schema)."""
        return []
