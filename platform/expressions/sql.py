"""to_sql: a checked filter expression → a SQLAlchemy Core condition, never SQL text.

Every constant becomes a bound parameter. Parts that use no field (``TODAY() -
30``, ``DATE(2024, 1, 1)``) are computed in Python with the evaluator and bound
as values, so date arithmetic on constants works the same on every database.

The SQL is written so that blanks behave as in the evaluator: a blank is never
smaller or larger than anything, ``x != 'a'`` is true for a blank ``x`` (IS
DISTINCT FROM), and ``not``/``not in`` treat an unknown (NULL) condition as
false before negating it (IS NOT TRUE) instead of dropping the row.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .compiler import CompiledExpression
from .errors import ExpressionError
from .evaluator import ClosureBuilder
from .sqlterms import SqlTerm, SqlUnsupported, bindable, not_true
from .types import ExprType

Columns = Mapping[str, ColumnElement[Any]] | Callable[[str], ColumnElement[Any]]

_MIRRORED = {
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
}
_ORDER_OPERATORS = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SQL_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def to_sql(expr: CompiledExpression, columns: Columns, *, now: dt.datetime) -> ColumnElement[bool]:
    """The WHERE condition for a filter expression.

    Args:
        expr: A compiled expression whose result type is BOOLEAN.
        columns: The column for each name, as a mapping or a callable; a
            missing name (KeyError or None) is an ExpressionError.
        now: The time TODAY() and NOW() stand for, timezone-aware.

    Raises:
        ExpressionError: The expression is not a condition, uses a name that
            has no column, or a function or operator with no SQL form.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if expr.result_type is not ExprType.BOOLEAN:
        raise ExpressionError(
            f"A list filter must be a condition, but this gives {expr.result_type.phrase}; "
            "write something like `status == 'new' and amount >= 100000`.",
            None,
            expr.source,
        )
    builder = _SqlBuilder(expr, columns, now)
    return builder.build(expr.checked.parsed.root).condition


class _SqlBuilder:
    def __init__(self, expr: CompiledExpression, columns: Columns, now: dt.datetime):
        self.checked = expr.checked
        self.sources = expr.checked.parsed.sources
        self.columns = columns
        self.folder = ClosureBuilder(expr.checked, expr.limits, fold_timed=True, now=now)

    def build(self, node: ast.AST) -> SqlTerm:
        kind = self.checked.types[node]
        if self.folder.is_constant(node):
            return SqlTerm(kind, value=self.folder.build(node).value)
        visit = getattr(self, f"_visit_{type(node).__name__}")
        try:
            return SqlTerm(kind, visit(node))
        except SqlUnsupported as exc:
            raise self._fail(node, f"{exc} ({{at}})") from None

    def _fail(self, node: ast.AST, message: str) -> ExpressionError:
        return self.sources.error(node, message.replace("{at}", self.sources.at(node)) + ".")

    def _visit_Name(self, node: ast.AST) -> ColumnElement[Any]:
        name = self.checked.parsed.paths[node]
        try:
            if isinstance(self.columns, Mapping):
                column = self.columns[name]
            else:
                column = self.columns(name)
        except LookupError:
            column = None
        if column is None:
            raise self._fail(
                node,
                f"`{name}` cannot be used in a list filter ({{at}}); "
                "it is not a column of this list",
            )
        return column

    _visit_Attribute = _visit_Name

    def _visit_BinOp(self, node: ast.BinOp) -> ColumnElement[Any]:
        left, right = self.build(node.left), self.build(node.right)
        kinds = (left.type, right.type)
        op = type(node.op)
        if op is ast.Add and ExprType.TEXT in kinds and ExprType.ANY not in kinds:
            return sa.func.coalesce(left.sql, "").concat(sa.func.coalesce(right.sql, ""))
        if not {ExprType.NUMBER, ExprType.NULL}.issuperset(kinds):
            raise SqlUnsupported(
                "Arithmetic on dates or on values of unknown type cannot be used "
                "in a list filter; compare the field with a computed date "
                "instead, e.g. `close_date < ADDDAYS(TODAY(), -30)`"
            )
        if op is ast.Div:
            return _divide(left, right)
        if op not in _SQL_ARITHMETIC:
            raise SqlUnsupported(
                "The operators % and ** cannot be used in a list filter; "
                "use them in a formula field and filter on that field"
            )
        return _SQL_ARITHMETIC[op](bindable(left), bindable(right))

    def _visit_UnaryOp(self, node: ast.UnaryOp) -> ColumnElement[Any]:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            return not_true(operand.condition)
        return -operand.sql if isinstance(node.op, ast.USub) else operand.sql

    def _visit_BoolOp(self, node: ast.BoolOp) -> ColumnElement[bool]:
        join = sa.and_ if isinstance(node.op, ast.And) else sa.or_
        return join(*(self.build(value).condition for value in node.values))

    def _visit_IfExp(self, node: ast.IfExp) -> ColumnElement[Any]:
        test, body, orelse = (self.build(part) for part in (node.test, node.body, node.orelse))
        return sa.case((test.condition, body.sql), else_=orelse.sql)

    def _visit_Compare(self, node: ast.Compare) -> ColumnElement[bool]:
        operands = [node.left, *node.comparators]
        terms = [self.build(operand) for operand in operands]
        parts = []
        for index, op in enumerate(node.ops):
            if isinstance(op, ast.In | ast.NotIn):
                members = [self.build(element).value for element in operands[index + 1].elts]
                parts.append(_membership(terms[index], members, isinstance(op, ast.NotIn)))
            else:
                parts.append(_compare(type(op), terms[index], terms[index + 1]))
        return parts[0] if len(parts) == 1 else sa.and_(*parts)

    def _visit_Call(self, node: ast.Call) -> ColumnElement[Any]:
        function = self.checked.functions[node]
        if function.sql is None:
            raise SqlUnsupported(
                f"{function.name} cannot be used in a list filter on a field; "
                "compute it in a formula field and filter on that field"
            )
        return function.sql([self.build(arg) for arg in node.args])


def _divide(left: SqlTerm, right: SqlTerm) -> ColumnElement[Any]:
    # Division by zero is a blank, as in the evaluator (PostgreSQL would raise).
    if right.is_constant:
        return sa.null() if not right.value else left.sql / bindable(right)
    return left.sql / sa.func.nullif(right.sql, 0)


def _compare(op: type[ast.cmpop], left: SqlTerm, right: SqlTerm) -> ColumnElement[bool]:
    if left.is_constant:  # keep the column on the left so the constant is bound with its type
        op, left, right = _MIRRORED[op], right, left
    if right.is_constant and right.value is None:
        if op is ast.Eq:
            return left.sql.is_(None)
        return left.sql.is_not(None) if op is ast.NotEq else sa.false()
    if op is ast.Eq:
        if right.is_constant:
            return left.sql == bindable(right)
        return left.sql.is_not_distinct_from(right.sql)
    if op is ast.NotEq:
        return left.sql.is_distinct_from(bindable(right))
    return _ORDER_OPERATORS[op](left.sql, bindable(right))


def _membership(term: SqlTerm, members: list[Any], negate: bool) -> ColumnElement[bool]:
    values = [member for member in members if member is not None]
    condition = term.sql.in_([bindable(SqlTerm(term.type, value=value)) for value in values])
    if len(values) < len(members):  # IN (NULL) never matches; a listed None means "or blank"
        condition = sa.or_(term.sql.is_(None), condition)
    return not_true(condition) if negate else condition
