"""The types of the expression language and how runtime values map onto them."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any


class ExprType(enum.Enum):
    """The type of a value in the expression language.

    ``NULL`` is the type of the literal ``None`` (a blank) and ``ANY`` the type
    of a value only known at run time; both fit wherever another type is needed.
    """

    NUMBER = "number"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LIST = "list"
    NULL = "null"
    ANY = "any"

    @property
    def phrase(self) -> str:
        """The type as words for error messages, e.g. "a number"."""
        return _PHRASES[self]


_PHRASES = {
    ExprType.NUMBER: "a number",
    ExprType.TEXT: "text",
    ExprType.BOOLEAN: "true/false",
    ExprType.DATE: "a date",
    ExprType.DATETIME: "a date-time",
    ExprType.LIST: "a list",
    ExprType.NULL: "blank (None)",
    ExprType.ANY: "any value",
}

# Types that stand for "not known statically"; they fit wherever a type is needed.
FLEXIBLE = frozenset({ExprType.NULL, ExprType.ANY})


def fits(actual: ExprType, expected: ExprType) -> bool:
    """Whether a value of type ``actual`` may be used where ``expected`` is needed."""
    return actual is expected or actual in FLEXIBLE or expected is ExprType.ANY


def unify(first: ExprType, second: ExprType) -> ExprType | None:
    """The common type of two alternatives (IF branches), or None when there is none."""
    if first is second or second is ExprType.NULL:
        return first
    if first is ExprType.NULL:
        return second
    if ExprType.ANY in (first, second):
        return ExprType.ANY
    return None


def type_of_value(value: Any) -> ExprType | None:
    """The type of a runtime value, or None for a value the language does not know.

    ``bool`` is checked before ``int`` and ``datetime`` before ``date`` because
    each is a subclass of the other.
    """
    if value is None:
        return ExprType.NULL
    if isinstance(value, bool):
        return ExprType.BOOLEAN
    if isinstance(value, int | Decimal | float):
        return ExprType.NUMBER
    if isinstance(value, str):
        return ExprType.TEXT
    if isinstance(value, dt.datetime):
        return ExprType.DATETIME
    if isinstance(value, dt.date):
        return ExprType.DATE
    if isinstance(value, list | tuple | frozenset):
        return ExprType.LIST
    return None
