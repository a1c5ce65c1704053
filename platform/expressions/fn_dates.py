"""Date functions: TODAY, NOW, DATE, YEAR, MONTH, DAY, ADDDAYS, ADDMONTHS, DAYS_BETWEEN.

TODAY() and NOW() read the ``now`` given to the evaluation, never the clock, so
a formula gives the same answer when re-run for the same moment (and tests can
pin it). TODAY() is the date of ``now`` in ``now``'s own time zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .errors import OperationError
from .fn_numbers import whole_number
from .functions import Function, Getter
from .operators import add_days
from .types import ExprType

NUMBER, DATE, DATETIME = ExprType.NUMBER, ExprType.DATE, ExprType.DATETIME
_DAY = frozenset({DATE, DATETIME})


def _build_today(args: Sequence[Getter]) -> Getter:
    return lambda values, now: now.date()


def _build_now(args: Sequence[Getter]) -> Getter:
    return lambda values, now: now


def make_date(year: Any, month: Any, day: Any) -> dt.date | None:
    """DATE(year, month, day); a blank part gives a blank date."""
    if year is None or month is None or day is None:
        return None
    parts = [whole_number(part, "Each part of DATE") for part in (year, month, day)]
    try:
        return dt.date(*parts)
    except ValueError:
        raise OperationError(f"DATE({year}, {month}, {day}) is not a valid date.") from None


def add_months(day: Any, months: Any) -> Any:
    """Move by whole months, keeping the day but not past the month's end (Jan 31 → Feb 28)."""
    if day is None or months is None:
        return None
    index = day.year * 12 + day.month - 1 + whole_number(months, "The months of ADDMONTHS")
    year, month = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise OperationError("The date would fall outside the years 1 to 9999.")
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def days_between(start: Any, end: Any) -> int | None:
    """Whole calendar days from ``start`` to ``end`` (negative when end is earlier)."""
    if start is None or end is None:
        return None
    return (_as_date(end) - _as_date(start)).days


def _as_date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _same_as_first(args: Sequence[ExprType]) -> ExprType:
    return args[0] if args[0] in _DAY else ExprType.ANY


def _part(name: str) -> Function:
    attribute = name.lower()
    return Function(
        name,
        f"{name}(date)",
        (_DAY,),
        NUMBER,
        impl=lambda value: None if value is None else getattr(value, attribute),
        sql=lambda a: sa.extract(attribute, a[0].sql),
    )


FUNCTIONS = (
    Function("TODAY", "TODAY()", (), DATE, build=_build_today, pure=False),
    Function("NOW", "NOW()", (), DATETIME, build=_build_now, pure=False),
    Function("DATE", "DATE(year, month, day)", (NUMBER, NUMBER, NUMBER), DATE, impl=make_date),
    _part("YEAR"),
    _part("MONTH"),
    _part("DAY"),
    Function(
        "ADDDAYS",
        "ADDDAYS(date, days)",
        (_DAY, NUMBER),
        _same_as_first,
        impl=lambda day, days: None if day is None or days is None else add_days(day, days),
    ),
    Function(
        "ADDMONTHS", "ADDMONTHS(date, months)", (_DAY, NUMBER), _same_as_first, impl=add_months
    ),
    Function("DAYS_BETWEEN", "DAYS_BETWEEN(start, end)", (_DAY, _DAY), NUMBER, impl=days_between),
)
