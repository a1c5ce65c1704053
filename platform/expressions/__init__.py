"""The expression language of Trellis: formulas, defaults, validation rules and list filters.

A small, Excel-like language written in Python expression syntax::

    amount * probability / 100
    IF(ISBLANK(close_date), 'open', TEXT(close_date))
    status == 'new' and amount >= 100000
    account.grade in ('A', 'B')

It is parsed with ``ast``, checked against an allow-list of node types and a set
of limits, type-checked against the names a definition offers, and compiled
once into closures (``CompiledExpression.evaluate``) or into SQLAlchemy Core
expressions (``to_sql``). See README.md beside this file for the language.
"""

from .catalog import BUILTIN_FUNCTIONS
from .compiler import CompiledExpression, compile_expression
from .errors import ExpressionError
from .functions import Function, FunctionRegistry
from .limits import DEFAULT_LIMITS, Limits
from .sql import to_sql
from .types import ExprType

__all__ = [
    "BUILTIN_FUNCTIONS",
    "DEFAULT_LIMITS",
    "CompiledExpression",
    "ExprType",
    "ExpressionError",
    "Function",
    "FunctionRegistry",
    "Limits",
    "compile_expression",
    "to_sql",
]
