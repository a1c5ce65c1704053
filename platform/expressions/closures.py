"""Small, fast getters the evaluator is assembled from.

Each getter is ``getter(values, now) -> value``. Calling a Python function costs
more than the arithmetic inside it, so operands that are field names or
constants are read inline by their parent instead of through a getter of their
own (``amount * probability`` is one getter, not three). The variants below
are spelled out by hand for that reason; they are the whole of the speed-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import ExpressionError, OperationError
from .functions import Getter

Operator = Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class Operand:
    """A compiled node: its getter, plus the name it reads or the constant it is."""

    getter: Getter
    key: str | None = None
    constant: bool = False
    value: Any = None


def constant(value: Any) -> Operand:
    """An operand that always has ``value``."""
    return Operand(lambda values, now: value, constant=True, value=value)


def from_float(value: float, key: str) -> Decimal:
    """A float from a caller as a Decimal; the language never computes in binary floats."""
    if not math.isfinite(value):
        raise ExpressionError(f"The value of `{key}` is {value}, which is not a number.")
    return Decimal(str(value))


def load(key: str) -> Operand:
    """An operand reading the field ``key`` from the values."""

    def get(values, now):
        value = values[key]
        return from_float(value, key) if value.__class__ is float else value

    return Operand(get, key=key)


def located(getter: Getter, position: int | None, source: str) -> Getter:
    """``getter`` with OperationError turned into an ExpressionError at ``position``."""

    def get(values, now):
        try:
            return getter(values, now)
        except OperationError as exc:
            raise ExpressionError(str(exc), position, source) from None

    return get


def raw_binary(op: Operator, left: Operand, right: Operand) -> Getter:
    """``op(a, b)`` for an operator that handles blanks itself (==, !=, text +)."""
    first, second = left.getter, right.getter
    if right.constant and left.key is not None:  # `status == 'new'`, the commonest test
        key, b = left.key, right.value

        def get_name(values, now):
            a = values[key]
            return op(from_float(a, key) if a.__class__ is float else a, b)

        return get_name
    if right.constant:
        b = right.value
        return lambda values, now: op(first(values, now), b)
    return lambda values, now: op(first(values, now), second(values, now))


def blank_binary(op: Operator, left: Operand, right: Operand, blank: Any) -> Getter:
    """``op(a, b)``, or ``blank`` when either operand is None."""
    if (left.constant and left.value is None) or (right.constant and right.value is None):
        return lambda values, now: blank
    if left.constant:
        return _constant_left(op, left.value, right, blank)
    if right.constant:
        return _constant_right(op, left, right.value, blank)
    if left.key is not None and right.key is not None:
        return _two_names(op, left.key, right.key, blank)
    return _general(op, left.getter, right.getter, blank)


def _constant_left(op: Operator, a: Any, right: Operand, blank: Any) -> Getter:
    key, second = right.key, right.getter
    if key is None:

        def get(values, now):
            b = second(values, now)
            return blank if b is None else op(a, b)

        return get

    def get_name(values, now):
        b = values[key]
        if b is None:
            return blank
        return op(a, from_float(b, key) if b.__class__ is float else b)

    return get_name


def _constant_right(op: Operator, left: Operand, b: Any, blank: Any) -> Getter:
    key, first = left.key, left.getter
    if key is None:

        def get(values, now):
            a = first(values, now)
            return blank if a is None else op(a, b)

        return get

    def get_name(values, now):
        a = values[key]
        if a is None:
            return blank
        return op(from_float(a, key) if a.__class__ is float else a, b)

    return get_name


def _two_names(op: Operator, first: str, second: str, blank: Any) -> Getter:
    def get(values, now):
        a = values[first]
        b = values[second]
        if a is None or b is None:
            return blank
        if a.__class__ is float:
            a = from_float(a, first)
        if b.__class__ is float:
            b = from_float(b, second)
        return op(a, b)

    return get


def _general(op: Operator, first: Getter, second: Getter, blank: Any) -> Getter:
    def get(values, now):
        a = first(values, now)
        if a is None:
            return blank
        b = second(values, now)
        return blank if b is None else op(a, b)

    return get


def divide_by_constant(left: Operand, divisor: Decimal) -> Getter:
    """``a / divisor`` for a non-zero constant: written out, as division by 100 is everywhere.

    A Decimal divisor makes ``/`` exact for int and Decimal operands alike.
    """
    key, first = left.key, left.getter
    if key is None:

        def get(values, now):
            a = first(values, now)
            return None if a is None else a / divisor

        return get

    def get_name(values, now):
        a = values[key]
        if a is None:
            return None
        return (from_float(a, key) if a.__class__ is float else a) / divisor

    return get_name


def call(
    impl: Callable[..., Any],
    args: list[Getter],
    position: int | None,
    source: str,
    can_fail: bool = True,
) -> Getter:
    """A getter calling ``impl`` with the evaluated arguments (unrolled for 1 and 2)."""
    if len(args) == 1:
        (only,) = args

        def get(values, now):
            return impl(only(values, now))
    elif len(args) == 2:
        first, second = args

        def get(values, now):
            return impl(first(values, now), second(values, now))
    else:

        def get(values, now):
            return impl(*[arg(values, now) for arg in args])

    return located(get, position, source) if can_fail else get
