"""Turns a checked tree into nested Python closures, once; evaluating is then calling them.

No source text or generated code is ever executed: each node becomes a small
function over the values mapping, chosen by the node's static types. Where the
types make it safe (NUMBER * NUMBER) the plain operator is used; where they
are only known at run time (ANY) a guarded version checks the actual values
against the same rules the checker used. Subtrees that use no names and not
the time are computed here, at compile time, so ``9 ** 9 ** 9`` fails on save.
"""

from __future__ import annotations

import ast
import operator
from decimal import Decimal
from typing import Any

from . import closures
from .checker import CheckedExpression
from .closures import Operand
from .errors import ExpressionError, OperationError
from .functions import Getter
from .limits import Limits
from .operators import (
    ARITHMETIC_VERBS,
    COMPARISONS,
    ORDERING,
    Rule,
    arithmetic_rule,
    comparable,
    divide,
)
from .types import ExprType, type_of_value


class ClosureBuilder:
    """Builds the getter of any node of one checked expression.

    Args:
        checked: The type-checked expression.
        limits: The runtime limits the getters enforce.
        fold_timed: Also compute subtrees that read the time (list filters
            know ``now`` when they are built; formulas do not).
        now: The evaluation time used when ``fold_timed`` is set.
    """

    def __init__(
        self,
        checked: CheckedExpression,
        limits: Limits,
        *,
        fold_timed: bool = False,
        now: Any = None,
    ):
        self.checked = checked
        self.sources = checked.parsed.sources
        self.source = checked.parsed.source
        self.limits = limits
        self.fold_timed = fold_timed
        self.now = now

    def build(self, node: ast.AST) -> Operand:
        """The operand for ``node``, folded to a constant when it can be."""
        if isinstance(node, ast.Constant):
            return closures.constant(self.checked.parsed.constants[node])
        if isinstance(node, ast.Name | ast.Attribute):
            return closures.load(self.checked.parsed.paths[node])
        getter = getattr(self, f"_build_{type(node).__name__}")(node)
        if self.is_constant(node):
            return closures.constant(self._fold(node, getter))
        return Operand(getter)

    def is_constant(self, node: ast.AST) -> bool:
        """Whether ``node`` can be computed without any values."""
        if node in self.checked.dynamic:
            return False
        return self.fold_timed or node not in self.checked.timed

    def _fold(self, node: ast.AST, getter: Getter) -> Any:
        try:
            return getter({}, self.now)
        except ExpressionError:
            raise
        except (OperationError, ArithmeticError, TypeError, ValueError) as exc:
            message = f"{self.sources.at(node)} cannot be computed: {exc}"
            raise self.sources.error(node, message) from None

    def _getter(self, node: ast.AST) -> Getter:
        return self.build(node).getter

    def _position(self, node: ast.AST) -> int | None:
        return self.sources.position(node)

    def _build_BinOp(self, node: ast.BinOp) -> Getter:
        left, right = self.build(node.left), self.build(node.right)
        rule = self.checked.rules.get(node)
        if rule is None:  # an ANY operand: the rule is chosen per evaluation
            getter = self._dynamic_arithmetic(type(node.op), left.getter, right.getter)
        else:
            getter = self._static_arithmetic(rule, left, right)
        if rule is None or rule.may_fail:
            getter = closures.located(getter, self._position(node), self.source)
        return getter

    def _static_arithmetic(self, rule: Rule, left: Operand, right: Operand) -> Getter:
        apply = self._bound(rule)
        if apply is divide and right.constant and right.value:
            return closures.divide_by_constant(left, Decimal(right.value))
        if rule.keeps_blank:
            return closures.raw_binary(apply, left, right)
        return closures.blank_binary(apply, left, right, None)

    def _bound(self, rule: Rule) -> Any:
        if not rule.limited:
            return rule.apply
        limits, apply = self.limits, rule.apply
        return lambda a, b: apply(a, b, limits)

    def _dynamic_arithmetic(self, op: type[ast.operator], first: Getter, second: Getter) -> Getter:
        verb = ARITHMETIC_VERBS[op]

        def get(values, now):
            a, b = first(values, now), second(values, now)
            rule = arithmetic_rule(op, _value_type(a), _value_type(b))
            if rule is None:
                raise OperationError(f"The values {a!r} and {b!r} cannot be {verb}.")
            if not rule.keeps_blank and (a is None or b is None):
                return None
            return self._bound(rule)(a, b)

        return get

    def _build_UnaryOp(self, node: ast.UnaryOp) -> Getter:
        operand = self._getter(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda values, now: not operand(values, now)
        sign = operator.neg if isinstance(node.op, ast.USub) else operator.pos
        if self.checked.types[node.operand] is ExprType.ANY:
            return closures.located(_numeric(sign, operand), self._position(node), self.source)

        def get(values, now):
            value = operand(values, now)
            return None if value is None else sign(value)

        return get

    def _build_BoolOp(self, node: ast.BoolOp) -> Getter:
        parts = [self._getter(value) for value in node.values]
        if len(parts) == 2:  # by far the commonest shape, worth its own closure
            first, second = parts
            if isinstance(node.op, ast.And):
                return lambda values, now: bool(first(values, now)) and bool(second(values, now))
            return lambda values, now: bool(first(values, now)) or bool(second(values, now))
        stop = not isinstance(node.op, ast.And)  # `and` stops at a false part, `or` at a true one

        def get(values, now):
            for part in parts:
                if bool(part(values, now)) is stop:
                    return stop
            return not stop

        return get

    def _build_IfExp(self, node: ast.IfExp) -> Getter:
        test, body, orelse = (self._getter(n) for n in (node.test, node.body, node.orelse))
        return lambda values, now: body(values, now) if test(values, now) else orelse(values, now)

    def _build_Compare(self, node: ast.Compare) -> Getter:
        operands = [self.build(node.left), *map(self.build, node.comparators)]
        tests = [_comparison(op) for op in node.ops]
        if len(tests) == 1:
            return self._single_comparison(node, tests[0], *operands)
        getters = [operand.getter for operand in operands]

        def get(values, now):  # a < b < c: each operand evaluated once, stops at the first False
            left = getters[0](values, now)
            for test, getter in zip(tests, getters[1:], strict=True):
                right = getter(values, now)
                if not test(left, right):
                    return False
                left = right
            return True

        return closures.located(get, self._position(node), self.source)

    def _single_comparison(
        self, node: ast.Compare, test: Any, left: Operand, right: Operand
    ) -> Getter:
        op = node.ops[0]
        if isinstance(op, ast.In | ast.NotIn):
            return closures.raw_binary(test, left, right)
        kinds = {self.checked.types[node.left], self.checked.types[node.comparators[0]]}
        if isinstance(op, ORDERING) and ExprType.ANY not in kinds:
            return closures.blank_binary(COMPARISONS[type(op)], left, right, False)
        return closures.located(
            closures.raw_binary(test, left, right), self._position(node), self.source
        )

    def _build_List(self, node: ast.List | ast.Tuple) -> Getter:
        members = frozenset(self.build(element).value for element in node.elts)
        return lambda values, now: members

    _build_Tuple = _build_List

    def _build_Call(self, node: ast.Call) -> Getter:
        function = self.checked.functions[node]
        args = [self._getter(arg) for arg in node.args]
        if function.build is not None:
            getter = function.build(args)
            if function.can_fail:
                getter = closures.located(getter, self._position(node), self.source)
        else:
            getter = closures.call(
                function.impl, args, self._position(node), self.source, function.can_fail
            )
        if function.grows_text and self.checked.types[node] in (ExprType.TEXT, ExprType.ANY):
            getter = self._text_limited(getter, node)
        return getter

    def _text_limited(self, getter: Getter, node: ast.AST) -> Getter:
        limit, position, source = self.limits.max_text_result, self._position(node), self.source

        def get(values, now):
            value = getter(values, now)
            if value.__class__ is str and len(value) > limit:
                raise ExpressionError(
                    f"The text would be {len(value)} characters long; the limit is {limit}.",
                    position,
                    source,
                )
            return value

        return get


def _value_type(value: Any) -> ExprType | None:
    kind = type_of_value(value)
    if kind is None:
        raise OperationError(f"The value {value!r} is not a number, text, true/false or date.")
    return kind


def _numeric(sign: Any, operand: Getter) -> Getter:
    def get(values, now):
        value = operand(values, now)
        if value is None:
            return None
        if _value_type(value) is not ExprType.NUMBER:
            raise OperationError(f"The value {value!r} is not a number, so it has no sign.")
        return sign(value)

    return get


def _comparison(op: ast.cmpop) -> Any:
    if isinstance(op, ast.In):
        return lambda a, members: a in members
    if isinstance(op, ast.NotIn):
        return lambda a, members: a not in members
    compare = COMPARISONS[type(op)]
    if not isinstance(op, ORDERING):
        return compare
    return _ordering(type(op), compare)


def _ordering(op: type[ast.cmpop], compare: Any) -> Any:
    """An ordering test where a blank is never smaller or larger, and mixed types fail loudly."""

    def test(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        if not comparable(op, _value_type(a), _value_type(b)):
            raise OperationError(f"The values {a!r} and {b!r} cannot be compared.")
        return compare(a, b)

    return test
