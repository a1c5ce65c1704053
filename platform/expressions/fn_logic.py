"""Logical functions: IF, AND, OR, NOT, ISBLANK, BLANKVALUE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from .functions import ArgumentMismatch, Function, Getter
from .sqlterms import SqlTerm, not_true
from .types import ExprType, unify

BOOLEAN, ANY = ExprType.BOOLEAN, ExprType.ANY


def is_blank(value: Any) -> bool:
    """A blank is None or empty text, as an empty form field."""
    return value is None or value == ""


def _build_blankvalue(args):
    """BLANKVALUE as one closure: the default is evaluated only when needed."""
    value, default = args

    def blankvalue(values, now):
        result = value(values, now)
        return default(values, now) if result is None or result == "" else result

    return blankvalue


def same_type(first: int) -> Any:
    """A ``returns`` callable: arguments from ``first`` on must share one type."""

    def returns(args: Sequence[ExprType]) -> ExprType:
        result = args[first]
        for index in range(first + 1, len(args)):
            common = unify(result, args[index])
            if common is None:
                raise ArgumentMismatch(
                    index,
                    f"gives {args[index].phrase} but an earlier argument gives {result.phrase}; "
                    "both must give the same type (use TEXT(x) or VALUE(x) to convert)",
                )
            result = common
        return result

    return returns


def _build_if(args: Sequence[Getter]) -> Getter:
    test, then, otherwise = args

    def get(values, now):  # only the chosen branch is evaluated
        return then(values, now) if test(values, now) else otherwise(values, now)

    return get


def _build_and(args: Sequence[Getter]) -> Getter:
    def get(values, now):
        for arg in args:
            if not arg(values, now):
                return False
        return True

    return get


def _build_or(args: Sequence[Getter]) -> Getter:
    def get(values, now):
        for arg in args:
            if arg(values, now):
                return True
        return False

    return get


def _sql_isblank(args: Sequence[SqlTerm]) -> Any:
    (term,) = args
    if term.type is ExprType.TEXT:
        return sa.or_(term.sql.is_(None), term.sql == "")
    return term.sql.is_(None)


def _sql_blankvalue(args: Sequence[SqlTerm]) -> Any:
    term, default = args
    value = sa.func.nullif(term.sql, "") if term.type is ExprType.TEXT else term.sql
    return sa.func.coalesce(value, default.sql)


FUNCTIONS = (
    Function(
        "IF",
        "IF(condition, value_if_true, value_if_false)",
        (BOOLEAN, ANY, ANY),
        same_type(1),
        build=_build_if,
        sql=lambda a: sa.case((a[0].condition, a[1].sql), else_=a[2].sql),
    ),
    Function(
        "AND",
        "AND(condition, ...)",
        (BOOLEAN,),
        BOOLEAN,
        build=_build_and,
        variadic=True,
        sql=lambda a: sa.and_(*(term.condition for term in a)),
    ),
    Function(
        "OR",
        "OR(condition, ...)",
        (BOOLEAN,),
        BOOLEAN,
        build=_build_or,
        variadic=True,
        sql=lambda a: sa.or_(*(term.condition for term in a)),
    ),
    Function(
        "NOT",
        "NOT(condition)",
        (BOOLEAN,),
        BOOLEAN,
        impl=lambda x: not x,
        sql=lambda a: not_true(a[0].condition),
    ),
    Function("ISBLANK", "ISBLANK(value)", (ANY,), BOOLEAN, impl=is_blank, sql=_sql_isblank),
    Function(
        "BLANKVALUE",
        "BLANKVALUE(value, value_if_blank)",
        (ANY, ANY),
        same_type(0),
        build=_build_blankvalue,
        sql=_sql_blankvalue,
        can_fail=False,
        grows_text=False,
    ),
)
