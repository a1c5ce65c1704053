"""What each operator does for each pair of types: one table for the checker and the evaluator.

The checker looks rules up with static types; the evaluator uses the same rule,
and when a type is only known at run time (``ANY``) it looks the rule up with
the types of the actual values, so both always agree.

Blank handling: an operand that is None makes arithmetic give None and an
ordering comparison give False, except text ``+``, which treats a blank as ''.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

import simpleeval

from .errors import OperationError
from .limits import Limits
from .types import ExprType

NUMBER, TEXT, DATE, DATETIME = ExprType.NUMBER, ExprType.TEXT, ExprType.DATE, ExprType.DATETIME
_MICROSECONDS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class Rule:
    """How one operator works on one pair of operand types.

    Attributes:
        result: The type of the result.
        apply: ``apply(a, b)``, or ``apply(a, b, limits)`` when ``limited``.
        keeps_blank: ``apply`` handles None operands itself.
        limited: ``apply`` needs the evaluator's limits.
        may_fail: ``apply`` may raise OperationError.
    """

    result: ExprType
    apply: Callable[..., Any]
    keeps_blank: bool = False
    limited: bool = False
    may_fail: bool = False


def divide(a: Any, b: Any) -> Decimal | None:
    """a / b as a Decimal; dividing by zero gives None (a blank): no value, not a crash."""
    if not b:
        return None
    # int / int would be a float; one Decimal operand makes the result Decimal.
    return Decimal(a) / b if a.__class__ is int else a / b


def modulo(a: Any, b: Any) -> int | Decimal | None:
    """The remainder with the sign of ``b`` (as in spreadsheets); by zero gives None."""
    if not b:
        return None
    if a.__class__ is int and b.__class__ is int:
        return a % b
    remainder = Decimal(a) % Decimal(b)  # Decimal keeps the sign of a; shift to b's.
    if remainder and (remainder < 0) != (b < 0):
        remainder += b
    return remainder


def power(a: Any, b: Any, limits: Limits) -> int | Decimal | None:
    """a ** b within ``limits``; an undefined result (0 ** -1, (-8) ** 0.5) gives None."""
    if abs(b) > limits.max_exponent:
        raise OperationError(f"The exponent {b} is too large; the limit is {limits.max_exponent}.")
    if b > 0 and _digits(a) * b > limits.max_number_digits:
        raise OperationError(
            f"{a} ** {b} would have more than {limits.max_number_digits} digits; "
            "use smaller numbers."
        )
    if a.__class__ is int and b.__class__ is int and b >= 0:
        return simpleeval.safe_power(a, b)
    try:
        result = Decimal(a) ** Decimal(b)
    except DecimalException:  # e.g. a negative number to a fractional power
        return None
    return result if result.is_finite() else None  # 0 ** -1 is Infinity to Decimal


def _digits(number: Any) -> int:
    if number.__class__ is int:
        return max(1, (abs(number).bit_length() * 30103) // 100000 + 1)
    return max(1, Decimal(number).adjusted() + 1)


def concat(a: str | None, b: str | None, limits: Limits) -> str:
    """Join two texts, a blank counting as ''."""
    result = (a or "") + (b or "")
    if len(result) > limits.max_text_result:
        raise OperationError(
            f"The text would be {len(result)} characters long; "
            f"the limit is {limits.max_text_result}."
        )
    return result


def add_days(day: Any, days: Any) -> Any:
    """A date or date-time moved by a number of days (whole days for a date)."""
    try:
        if isinstance(day, dt.datetime):
            return day + dt.timedelta(microseconds=int(Decimal(days) * _MICROSECONDS_PER_DAY))
        if days % 1:
            raise OperationError(
                f"A date can only move by whole days, not {days}; use ROUND(n, 0)."
            )
        return day + dt.timedelta(days=int(days))
    except OverflowError:
        raise OperationError("The date would fall outside the years 1 to 9999.") from None


def subtract_days(day: Any, days: Any) -> Any:
    """A date or date-time moved back by a number of days."""
    return add_days(day, -days)


def days_between(end: Any, start: Any) -> int | Decimal:
    """end - start in days: whole days for dates, fractional days for date-times."""
    try:
        delta = end - start
    except TypeError:
        raise OperationError(
            "A date-time with a time zone cannot be subtracted from one without."
        ) from None
    if isinstance(end, dt.datetime):
        return Decimal(delta // dt.timedelta(microseconds=1)) / _MICROSECONDS_PER_DAY
    return delta.days


def _swap(function: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: function(b, a)


ARITHMETIC: dict[tuple[type[ast.operator], ExprType, ExprType], Rule] = {
    (ast.Add, NUMBER, NUMBER): Rule(NUMBER, operator.add),
    (ast.Sub, NUMBER, NUMBER): Rule(NUMBER, operator.sub),
    (ast.Mult, NUMBER, NUMBER): Rule(NUMBER, operator.mul),
    (ast.Div, NUMBER, NUMBER): Rule(NUMBER, divide),
    (ast.Mod, NUMBER, NUMBER): Rule(NUMBER, modulo),
    (ast.Pow, NUMBER, NUMBER): Rule(NUMBER, power, limited=True, may_fail=True),
    (ast.Add, TEXT, TEXT): Rule(TEXT, concat, keeps_blank=True, limited=True, may_fail=True),
    (ast.Add, DATE, NUMBER): Rule(DATE, add_days, may_fail=True),
    (ast.Add, NUMBER, DATE): Rule(DATE, _swap(add_days), may_fail=True),
    (ast.Sub, DATE, NUMBER): Rule(DATE, subtract_days, may_fail=True),
    (ast.Sub, DATE, DATE): Rule(NUMBER, days_between, may_fail=True),
    (ast.Add, DATETIME, NUMBER): Rule(DATETIME, add_days, may_fail=True),
    (ast.Add, NUMBER, DATETIME): Rule(DATETIME, _swap(add_days), may_fail=True),
    (ast.Sub, DATETIME, NUMBER): Rule(DATETIME, subtract_days, may_fail=True),
    (ast.Sub, DATETIME, DATETIME): Rule(NUMBER, days_between, may_fail=True),
}

BLANK_RULE = Rule(ExprType.NULL, lambda a, b: None)

ORDERED_TYPES = frozenset({NUMBER, TEXT, DATE, DATETIME})
COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def arithmetic_rule(op: type[ast.operator], left: ExprType, right: ExprType) -> Rule | None:
    """The rule for ``left op right``; a NULL operand takes the other side's type."""
    left, right = _resolve_null(left, right)
    if left is ExprType.NULL:
        return BLANK_RULE
    return ARITHMETIC.get((op, left, right))


def comparable(op: type[ast.cmpop], left: ExprType, right: ExprType) -> bool:
    """Whether ``left op right`` is allowed for these (non-ANY) types."""
    left, right = _resolve_null(left, right)
    if left is not right:
        return False
    return left in ORDERED_TYPES or left is ExprType.NULL or op in (ast.Eq, ast.NotEq)


def _resolve_null(left: ExprType, right: ExprType) -> tuple[ExprType, ExprType]:
    if left is ExprType.NULL:
        return right, right
    if right is ExprType.NULL:
        return left, left
    return left, right


ARITHMETIC_VERBS = {
    ast.Add: "added",
    ast.Sub: "subtracted",
    ast.Mult: "multiplied",
    ast.Div: "divided",
    ast.Mod: "used with %",
    ast.Pow: "raised to a power",
}
