"""Type inference: every node of a parsed expression gets a type, or a clear error."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ExpressionError, character
from .functions import ArgumentMismatch, Function, FunctionRegistry
from .operators import ARITHMETIC, ARITHMETIC_VERBS, ORDERING, Rule, arithmetic_rule, comparable
from .parser import ParsedExpression
from .types import FLEXIBLE, ExprType, fits, unify

NUMBER, TEXT, BOOLEAN, ANY = ExprType.NUMBER, ExprType.TEXT, ExprType.BOOLEAN, ExprType.ANY

_CONVERSION_HINTS = {
    TEXT: "use VALUE({x}) to turn text into a number",
    ExprType.DATE: "use DAYS_BETWEEN, YEAR, MONTH or DAY to get numbers from a date",
    ExprType.DATETIME: "use DAYS_BETWEEN, YEAR, MONTH or DAY to get numbers from a date-time",
    BOOLEAN: "use IF({x}, 1, 0) to turn true/false into a number",
}


@dataclass(frozen=True)
class CheckedExpression:
    """A parsed expression with the type of every node.

    Attributes:
        parsed: The parse result.
        result_type: The type of the whole expression.
        types: The type of each expression node.
        functions: The function each Call node calls.
        rules: The operator rule of each BinOp whose operand types are known
            statically (absent when one side is ANY: decided at run time).
        dependencies: Every name referenced.
        dynamic: Nodes whose value depends on names (the rest are constants).
        timed: Nodes whose value depends on the evaluation time.
    """

    parsed: ParsedExpression
    result_type: ExprType
    types: dict[ast.AST, ExprType]
    functions: dict[ast.AST, Function]
    rules: dict[ast.AST, Rule]
    dependencies: frozenset[str]
    dynamic: frozenset[ast.AST]
    timed: frozenset[ast.AST]


def check(
    parsed: ParsedExpression,
    names: Mapping[str, ExprType],
    functions: FunctionRegistry,
    expected: ExprType | None = None,
) -> CheckedExpression:
    """Infer types for ``parsed`` against the known ``names`` and ``functions``.

    Raises:
        ExpressionError: An unknown name or function, a wrong number of
            arguments, a type that does not fit, or a result that is not ``expected``.
    """
    checker = _Checker(parsed, names, functions)
    result = checker.visit(parsed.root)
    if expected is not None and not fits(result, expected):
        raise ExpressionError(_expected_message(result, expected), None, parsed.source)
    return CheckedExpression(
        parsed,
        result,
        checker.types,
        checker.functions,
        checker.rules,
        frozenset(checker.dependencies),
        frozenset(checker.dynamic),
        frozenset(checker.timed),
    )


def _expected_message(result: ExprType, expected: ExprType) -> str:
    hint = {
        BOOLEAN: "write a condition, such as `amount > 0` or `status == 'new'`",
        TEXT: "use TEXT(...) to turn a value into text",
        NUMBER: "use VALUE(...) to turn text into a number",
    }.get(expected, f"change it so that it gives {expected.phrase}")
    return f"The expression gives {result.phrase}, but {expected.phrase} is needed here; {hint}."


class _Checker:
    def __init__(
        self, parsed: ParsedExpression, names: Mapping[str, ExprType], functions: FunctionRegistry
    ):
        self.parsed = parsed
        self.sources = parsed.sources
        self.names = names
        self.registry = functions
        self.types: dict[ast.AST, ExprType] = {}
        self.functions: dict[ast.AST, Function] = {}
        self.rules: dict[ast.AST, Rule] = {}
        self.dependencies: set[str] = set()
        self.dynamic: set[ast.AST] = set()
        self.timed: set[ast.AST] = set()

    def visit(self, node: ast.AST) -> ExprType:
        kind = getattr(self, f"_visit_{type(node).__name__}")(node)
        self.types[node] = kind
        return kind

    def _visit_children(self, node: ast.AST, children: list[ast.AST]) -> list[ExprType]:
        kinds = [self.visit(child) for child in children]
        if any(child in self.dynamic for child in children):
            self.dynamic.add(node)
        if any(child in self.timed for child in children):
            self.timed.add(node)
        return kinds

    def _fail(self, node: ast.AST, message: str) -> ExpressionError:
        message = message.replace("{at}", self.sources.at(node))
        return self.sources.error(node, message if message.endswith("?") else message + ".")

    def _visit_Constant(self, node: ast.Constant) -> ExprType:
        value = self.parsed.constants[node]
        if value is None:
            return ExprType.NULL
        if isinstance(value, bool):
            return BOOLEAN
        return TEXT if isinstance(value, str) else NUMBER

    def _visit_Name(self, node: ast.AST) -> ExprType:
        path = self.parsed.paths[node]
        kind = self.names.get(path)
        if kind is None:
            raise self._unknown_name(node, path)
        if not isinstance(kind, ExprType):
            raise TypeError(f"the type of name {path!r} must be an ExprType, not {kind!r}")
        self.dependencies.add(path)
        self.dynamic.add(node)
        return kind

    _visit_Attribute = _visit_Name

    def _unknown_name(self, node: ast.AST, path: str) -> ExpressionError:
        if isinstance(node, ast.Attribute):
            message = "Attribute access is not allowed ({at}); use a field name or a function"
        elif path.upper() in self.registry:
            message = (
                f"`{path}` is a function ({{at}}); call it with brackets, as in {path.upper()}()"
            )
        else:
            message = f"Unknown name `{path}` at {{position}}"
        match = difflib.get_close_matches(path, list(self.names), n=1)
        if match:
            message += f"; did you mean `{match[0]}`?"
        elif "{position}" in message:
            message += "; use the API name of a field of this object"
        return self._fail(
            node, message.replace("{position}", character(self.sources.position(node)))
        )

    def _visit_BinOp(self, node: ast.BinOp) -> ExprType:
        left, right = self._visit_children(node, [node.left, node.right])
        op = type(node.op)
        if ANY in (left, right):
            return self._dynamic_arithmetic(node, op, left, right)
        rule = arithmetic_rule(op, left, right)
        if rule is None:
            raise self._arithmetic_error(node, left, right)
        self.rules[node] = rule
        return rule.result

    def _dynamic_arithmetic(
        self, node: ast.BinOp, op: type, left: ExprType, right: ExprType
    ) -> ExprType:
        results = {
            rule.result
            for (rule_op, rule_left, rule_right), rule in ARITHMETIC.items()
            if rule_op is op and left in (ANY, rule_left) and right in (ANY, rule_right)
        }
        if not results:
            raise self._arithmetic_error(node, left, right)
        return results.pop() if len(results) == 1 else ANY

    def _arithmetic_error(
        self, node: ast.BinOp, left: ExprType, right: ExprType
    ) -> ExpressionError:
        verb = ARITHMETIC_VERBS[type(node.op)]
        if {left, right} == {TEXT, NUMBER} and isinstance(node.op, ast.Add | ast.Sub):
            text, number = (node.left, node.right) if left is TEXT else (node.right, node.left)
            return self._fail(
                node,
                f"`{self.sources.snippet(text)}` is text and "
                f"`{self.sources.snippet(number)}` is a number, so they "
                f"cannot be {verb} ({{at}}); use "
                f"TEXT({self.sources.snippet(number)}) to turn a number into "
                "text",
            )
        if isinstance(node.op, ast.Add | ast.Sub) and NUMBER not in (left, right):
            return self._fail(
                node,
                f"{left.phrase.capitalize()} and {right.phrase} cannot be "
                f"{verb} ({{at}}); subtract two dates to get the days between "
                "them, or add a number of days to a date",
            )
        left_fits = left in (NUMBER, *FLEXIBLE)
        operand, kind = (node.right, right) if left_fits else (node.left, left)
        snippet = self.sources.snippet(operand)
        hint = _CONVERSION_HINTS.get(kind, "use numbers here").replace("{x}", snippet)
        return self._fail(
            operand,
            f"`{snippet}` is {kind.phrase} and cannot be {verb} (in {{at}}); {hint}".replace(
                "{at}", self.sources.at(node)
            ),
        )

    def _visit_UnaryOp(self, node: ast.UnaryOp) -> ExprType:
        (operand,) = self._visit_children(node, [node.operand])
        wanted = BOOLEAN if isinstance(node.op, ast.Not) else NUMBER
        if not fits(operand, wanted):
            raise self._fail(
                node.operand,
                f"`{self.sources.snippet(node.operand)}` is "
                f"{operand.phrase} but {wanted.phrase} is needed here "
                "({at})",
            )
        return wanted

    def _visit_BoolOp(self, node: ast.BoolOp) -> ExprType:
        word = "and" if isinstance(node.op, ast.And) else "or"
        for value, kind in zip(node.values, self._visit_children(node, node.values), strict=True):
            self._require_condition(value, kind, f"be joined with `{word}`")
        return BOOLEAN

    def _require_condition(self, node: ast.AST, kind: ExprType, use: str) -> None:
        if not fits(kind, BOOLEAN):
            snippet = self.sources.snippet(node)
            raise self._fail(
                node,
                f"`{snippet}` is {kind.phrase}, not true/false, so it cannot "
                f"{use} ({{at}}); write a condition such as `{snippet} > 0` "
                "or ISBLANK(" + snippet + ")",
            )

    def _visit_IfExp(self, node: ast.IfExp) -> ExprType:
        test, body, orelse = self._visit_children(node, [node.test, node.body, node.orelse])
        self._require_condition(node.test, test, "be the condition of `if`")
        common = unify(body, orelse)
        if common is None:
            raise self._fail(
                node,
                f"Both results of `if` must have the same type, but one is "
                f"{body.phrase} and the other {orelse.phrase} ({{at}}); "
                "use TEXT(...) or VALUE(...) to convert one",
            )
        return common

    def _visit_Compare(self, node: ast.Compare) -> ExprType:
        kinds = self._visit_children(node, [node.left, *node.comparators])
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            left, right = kinds[index], kinds[index + 1]
            if isinstance(op, ast.In | ast.NotIn):
                self._check_membership(node.comparators[index], left)
            elif ANY not in (left, right) and not comparable(type(op), left, right):
                raise self._comparison_error(
                    node, operands[index], operands[index + 1], op, left, right
                )
        return BOOLEAN

    def _check_membership(self, listing: ast.List | ast.Tuple, left: ExprType) -> None:
        for element in listing.elts:
            kind = self.types[element]
            if ANY not in (left, kind) and not comparable(ast.Eq, left, kind):
                raise self._fail(
                    element,
                    f"The list holds {kind.phrase} but the value looked up "
                    f"is {left.phrase} ({{at}}); list values of the same "
                    "type",
                )

    def _comparison_error(
        self,
        node: ast.AST,
        left_node: ast.AST,
        right_node: ast.AST,
        op: ast.cmpop,
        left: ExprType,
        right: ExprType,
    ) -> ExpressionError:
        if left is right and isinstance(op, ORDERING):
            return self._fail(
                node,
                f"Values that are {left.phrase} have no order ({{at}}); compare them with == or !=",
            )
        return self._fail(
            node,
            f"`{self.sources.snippet(left_node)}` is {left.phrase} and "
            f"`{self.sources.snippet(right_node)}` is {right.phrase}, so they "
            "cannot be compared ({at}); use TEXT(...) or VALUE(...) to "
            "compare values of the same type",
        )

    def _visit_List(self, node: ast.List | ast.Tuple) -> ExprType:
        self._visit_children(node, list(node.elts))
        return ExprType.LIST

    _visit_Tuple = _visit_List

    def _visit_Call(self, node: ast.Call) -> ExprType:
        function = self._function(node)
        problem = function.arity_problem(len(node.args))
        if problem:
            raise self._fail(node, f"{problem} ({{at}})")
        kinds = self._visit_children(node, list(node.args))
        if not function.pure:
            self.timed.add(node)
        self.functions[node] = function
        try:
            return function.result_type(kinds)
        except ArgumentMismatch as mismatch:
            argument = node.args[mismatch.index]
            raise self._fail(
                argument,
                f"Argument {mismatch.index + 1} of {function.name}, "
                f"{{at}}, {mismatch.message}; call it as "
                f"{function.signature}",
            ) from None

    def _function(self, node: ast.Call) -> Function:
        name = node.func.id
        if name.upper() in self.registry:
            return self.registry[name]
        message = f"Unknown function `{name}` at {character(self.sources.position(node))}"
        suggestion = self.registry.suggest(name)
        if suggestion:
            message += f"; did you mean {suggestion}?"
        else:
            message += "; see the list of functions in the formula editor"
        raise self.sources.error(node, message)
