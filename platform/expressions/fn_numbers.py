"""Number functions: ROUND, ABS, MIN, MAX."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import sqlalchemy as sa

from .errors import OperationError
from .fn_logic import same_type
from .functions import ArgumentMismatch, Function
from .sqlterms import SqlTerm, SqlUnsupported
from .types import ExprType

NUMBER = ExprType.NUMBER
_MAX_DIGITS = 18
# Wide enough that quantizing an 18-digit amount to 18 decimals never overflows.
_ROUNDING_CONTEXT = Context(prec=2 * _MAX_DIGITS + 4)


def whole_number(value: Any, what: str) -> int:
    """``value`` as an int; raises OperationError when it has a fraction."""
    if value % 1:
        raise OperationError(f"{what} must be a whole number, not {value}.")
    return int(value)


def round_number(number: Any, digits: Any) -> int | Decimal | None:
    """Round half away from zero (as spreadsheets do, not Python's banker's rounding).

    ``digits`` may be negative (ROUND(1250, -2) is 1300); with ``digits`` <= 0
    the result is an int.
    """
    if number is None or digits is None:
        return None
    digits = whole_number(digits, "The digits of ROUND")
    if abs(digits) > _MAX_DIGITS:
        raise OperationError(f"ROUND can keep at most {_MAX_DIGITS} digits, not {digits}.")
    exponent = Decimal(1).scaleb(-digits)
    result = Decimal(number).quantize(exponent, rounding=ROUND_HALF_UP, context=_ROUNDING_CONTEXT)
    return int(result) if digits <= 0 else result


def _sql_round(args: Sequence[SqlTerm]) -> Any:
    number, digits = args
    # SQLite treats negative digits as 0, so only constant digits >= 0 agree everywhere.
    if not digits.is_constant or digits.value is None or digits.value < 0 or digits.value % 1:
        raise SqlUnsupported(
            "ROUND in a list filter needs a constant, non-negative number of digits"
        )
    return sa.func.round(number.sql, int(digits.value))


def _extreme(pick: Any) -> Any:
    def impl(*values: Any) -> Any:  # blanks are skipped, as spreadsheets do
        present = [value for value in values if value is not None]
        return pick(present) if present else None

    return impl


def _orderedsame_type(args: Sequence[ExprType]) -> ExprType:
    result = same_type(0)(args)
    if result in (ExprType.BOOLEAN, ExprType.LIST):
        raise ArgumentMismatch(0, f"gives {result.phrase}, which has no order")
    return result


FUNCTIONS = (
    Function(
        "ROUND",
        "ROUND(number, digits)",
        (NUMBER, NUMBER),
        NUMBER,
        impl=round_number,
        sql=_sql_round,
    ),
    Function(
        "ABS",
        "ABS(number)",
        (NUMBER,),
        NUMBER,
        impl=lambda x: None if x is None else abs(x),
        sql=lambda a: sa.func.abs(a[0].sql),
    ),
    Function(
        "MIN",
        "MIN(value, ...)",
        (ExprType.ANY,),
        _orderedsame_type,
        impl=_extreme(min),
        variadic=True,
    ),
    Function(
        "MAX",
        "MAX(value, ...)",
        (ExprType.ANY,),
        _orderedsame_type,
        impl=_extreme(max),
        variadic=True,
    ),
)
