"""Text functions: LEN, UPPER, LOWER, TRIM, CONCAT, TEXT, VALUE, CONTAINS, STARTSWITH.

CONTAINS and STARTSWITH ignore case, in formulas and in list filters alike:
SQLite's LIKE ignores case and PostgreSQL's does not, so filters use ILIKE
(``lower() LIKE lower()`` on SQLite) and the evaluator lower-cases both sides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .functions import Function
from .sqlterms import SqlTerm, SqlUnsupported
from .types import ExprType

NUMBER, TEXT, BOOLEAN, ANY = ExprType.NUMBER, ExprType.TEXT, ExprType.BOOLEAN, ExprType.ANY
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_MAX_NUMBER_TEXT = 40


def _blank_in_blank_out(function: Any) -> Any:
    return lambda value: None if value is None else function(value)


def to_text(value: Any) -> str | None:
    """A value as text: numbers without exponent, dates as ISO 8601, true/false."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):  # also datetime
        return value.isoformat()
    return str(value)


def to_number(text: str | None) -> int | Decimal | None:
    """Text as a number, ignoring spaces and thousands separators; None when not a number."""
    if text is None or len(text) > _MAX_NUMBER_TEXT:
        return None
    cleaned = text.replace(",", "").replace(" ", "")
    if not _NUMBER_TEXT.fullmatch(cleaned):
        return None
    return Decimal(cleaned) if "." in cleaned else int(cleaned)


def contains(text: str | None, part: str | None) -> bool:
    """Whether ``part`` occurs in ``text``, ignoring case; blanks never match."""
    if text is None or part is None:
        return False
    return part.lower() in text.lower()


def starts_with(text: str | None, prefix: str | None) -> bool:
    """Whether ``text`` starts with ``prefix``, ignoring case; blanks never match."""
    if text is None or prefix is None:
        return False
    return text.lower().startswith(prefix.lower())


def _sql_like(name: str, method: str) -> Any:
    def build(args: Sequence[SqlTerm]) -> Any:
        text, part = args
        if not part.is_constant:
            raise SqlUnsupported(
                f"{name} in a list filter needs constant text as its second argument"
            )
        if part.value is None:
            return sa.false()
        # autoescape: a % or _ typed by the user matches itself, not "anything".
        return getattr(text.sql, method)(part.value, autoescape=True)

    return build


def _build_concat(parts):
    """CONCAT as one closure (blanks count as empty text): the commonest text formula,
    so its usual two- and three-part forms skip the generic call machinery."""
    if len(parts) == 2:
        a, b = parts

        def concat2(values, now):
            return (a(values, now) or "") + (b(values, now) or "")

        return concat2
    if len(parts) == 3:
        a, b, c = parts

        def concat3(values, now):
            return (a(values, now) or "") + (b(values, now) or "") + (c(values, now) or "")

        return concat3

    def concat(values, now):
        return "".join([text for part in parts if (text := part(values, now)) is not None])

    return concat


def _sql_concat(args: Sequence[SqlTerm]) -> Any:
    result = sa.func.coalesce(args[0].sql, "")
    for term in args[1:]:
        result = result.concat(sa.func.coalesce(term.sql, ""))
    return result


FUNCTIONS = (
    Function(
        "LEN",
        "LEN(text)",
        (TEXT,),
        NUMBER,
        impl=lambda x: 0 if x is None else len(x),
        sql=lambda a: sa.func.coalesce(sa.func.length(a[0].sql), 0),
    ),
    Function(
        "UPPER",
        "UPPER(text)",
        (TEXT,),
        TEXT,
        impl=_blank_in_blank_out(str.upper),
        sql=lambda a: sa.func.upper(a[0].sql),
    ),
    Function(
        "LOWER",
        "LOWER(text)",
        (TEXT,),
        TEXT,
        impl=_blank_in_blank_out(str.lower),
        sql=lambda a: sa.func.lower(a[0].sql),
    ),
    Function(
        "TRIM",
        "TRIM(text)",
        (TEXT,),
        TEXT,
        impl=_blank_in_blank_out(str.strip),
        sql=lambda a: sa.func.trim(a[0].sql),
    ),
    Function(
        "CONCAT",
        "CONCAT(text, ...)",
        (TEXT,),
        TEXT,
        variadic=True,
        build=_build_concat,
        sql=_sql_concat,
        can_fail=False,
    ),
    Function("TEXT", "TEXT(value)", (ANY,), TEXT, impl=to_text),
    Function("VALUE", "VALUE(text)", (TEXT,), NUMBER, impl=to_number),
    Function(
        "CONTAINS",
        "CONTAINS(text, part)",
        (TEXT, TEXT),
        BOOLEAN,
        impl=contains,
        sql=_sql_like("CONTAINS", "icontains"),
    ),
    Function(
        "STARTSWITH",
        "STARTSWITH(text, prefix)",
        (TEXT, TEXT),
        BOOLEAN,
        impl=starts_with,
        sql=_sql_like("STARTSWITH", "istartswith"),
    ),
)
