"""The pieces list filters are built from: SQL terms that may still be plain constants.

A term stays a Python constant as long as possible so that SQLAlchemy can bind
it with the type of the column it meets (a date against a Date column is
written the way that column stores dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .types import ExprType


class SqlUnsupported(Exception):
    """This part of an expression has no SQL form."""


@dataclass(frozen=True)
class SqlTerm:
    """A compiled part of a filter: an SQL expression, or a constant not yet bound.

    Attributes:
        type: The expression-language type of the term.
        element: The SQLAlchemy expression, or None for a constant.
        value: The constant's value when ``element`` is None.
    """

    type: ExprType
    element: ColumnElement[Any] | None = None
    value: Any = None

    @property
    def is_constant(self) -> bool:
        return self.element is None

    @property
    def sql(self) -> ColumnElement[Any]:
        """The term as an SQL expression; constants become bound parameters."""
        if self.element is not None:
            return self.element
        return literal(self.value)

    @property
    def condition(self) -> ColumnElement[bool]:
        """The term as a WHERE condition."""
        if self.element is not None:
            return self.element
        return sa.true() if self.value else sa.false()


def literal(value: Any) -> ColumnElement[Any]:
    """A bound parameter for ``value`` (None becomes NULL, never text in the SQL)."""
    if value is None:
        return sa.null()
    if isinstance(value, Decimal):
        # Typed explicitly so SQLite gets a number it can bind, not a Decimal object.
        return sa.literal(value, sa.Numeric())
    return sa.literal(value)


def bindable(term: SqlTerm) -> Any:
    """The operand to put beside a column: constants stay raw for SQLAlchemy to type."""
    if term.element is not None:
        return term.element
    return literal(term.value) if isinstance(term.value, Decimal) else term.value


def not_true(condition: ColumnElement[Any]) -> ColumnElement[bool]:
    """``NOT condition`` where an unknown (NULL) condition counts as false.

    SQL's NOT NULL is NULL, which would drop the row, while the evaluator
    treats a blank as false, so ``not`` of a blank is true. ``IS NOT TRUE``
    gives the evaluator's answer on both SQLite and PostgreSQL.
    """
    return condition.is_not(sa.true())
