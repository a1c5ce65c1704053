"""compile_expression: source text → a CompiledExpression evaluated many times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .catalog import BUILTIN_FUNCTIONS
from .checker import CheckedExpression, check
from .errors import ExpressionError, OperationError
from .evaluator import ClosureBuilder
from .functions import FunctionRegistry
from .limits import DEFAULT_LIMITS, Limits
from .parser import parse
from .types import ExprType


class CompiledExpression:
    """An expression parsed, checked and turned into closures once.

    Attributes:
        source: The expression text.
        result_type: The type of the value ``evaluate`` returns.
        dependencies: Every name the expression reads, e.g.
            ``frozenset({"amount", "account.grade"})``.
    """

    __slots__ = ("source", "result_type", "dependencies", "checked", "limits", "_getter", "_timed")

    def __init__(self, checked: CheckedExpression, limits: Limits):
        self.source = checked.parsed.source
        self.result_type = checked.result_type
        self.dependencies = checked.dependencies
        self.checked = checked
        self.limits = limits
        self._getter = ClosureBuilder(checked, limits).build(checked.parsed.root).getter
        self._timed = checked.parsed.root in checked.timed

    def evaluate(self, values: Mapping[str, Any], *, now: dt.datetime) -> Any:
        """The value of the expression for one set of ``values``.

        Args:
            values: A value for every name in ``dependencies`` (None for a
                blank), keyed like the names given to compile_expression.
                Numbers are int or Decimal; a float is read as Decimal(str(x)).
            now: The evaluation time, timezone-aware (checked when the
                expression uses TODAY() or NOW(), the only readers of it).

        Raises:
            ExpressionError: A value is missing or of the wrong type, or a
                limit was hit (e.g. a text longer than the limit).
        """
        # Checked only where it matters: reading now.tzinfo costs more than `a * b`.
        if self._timed and now.tzinfo is None:
            raise ValueError("now must be a timezone-aware datetime")
        try:
            return self._getter(values, now)
        except ExpressionError:
            raise
        except KeyError as exc:
            raise ExpressionError(
                f"No value was given for `{exc.args[0]}`; pass None for a blank field.",
                None,
                self.source,
            ) from None
        except (OperationError, TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(
                f"The expression cannot be evaluated with these values: {exc}; check that each "
                "field holds a value of its type.",
                None,
                self.source,
            ) from None

    def __repr__(self) -> str:
        return f"<CompiledExpression {self.source!r} -> {self.result_type.name}>"


def compile_expression(
    source: str,
    names: Mapping[str, ExprType],
    *,
    expected: ExprType | None = None,
    max_length: int = 2000,
    limits: Limits = DEFAULT_LIMITS,
    functions: FunctionRegistry = BUILTIN_FUNCTIONS,
) -> CompiledExpression:
    """Parse, check and compile ``source`` for evaluation.

    Args:
        source: The expression, e.g. ``"amount * probability / 100"``.
        names: Every name the expression may use, with its type. Dotted names
            (``"account.grade"``) are paths through lookup fields.
        expected: The type the result must have (BOOLEAN for validation rules
            and filters), or None for any.
        max_length: The longest source accepted, in characters.
        limits: Depth, size and runtime limits.
        functions: The functions the expression may call.

    Raises:
        ExpressionError: The expression is not valid; the message says why and
            how to fix it, ``position`` where.
    """
    parsed = parse(source, max_length=max_length, limits=limits)
    checked = check(parsed, names, functions, expected)
    return CompiledExpression(checked, limits)
