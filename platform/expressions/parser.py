"""Parsing: source text → a Python ``ast`` tree that passed the allow-list and the limits.

Nothing here evaluates anything: ``ast.parse`` only builds a tree, and every
node type not listed below is rejected before any later pass looks at it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ExpressionError, SourceMap, character
from .limits import DEFAULT_LIMITS, Limits

ARITHMETIC_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow)
UNARY_OPERATORS = (ast.USub, ast.UAdd, ast.Not)
COMPARISON_OPERATORS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_VALID_ESCAPES = frozenset("\n\\'\"abfnrtv01234567xNuU")

_SYMBOLS = {
    ast.FloorDiv: "//",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
}

_OPERATOR_HINTS = {
    ast.FloorDiv: "use ROUND(a / b, 0) for a whole-number result",
    ast.BitAnd: "write `and` to combine conditions",
    ast.BitOr: "write `or` to combine conditions",
    ast.BitXor: "write ** for powers",
    ast.Invert: "write `not` to negate a condition or - to negate a number",
    ast.Is: "write `x == None` or ISBLANK(x) to test for a blank",
    ast.IsNot: "write `x != None` or NOT(ISBLANK(x)) to test for a value",
}

# Node types with a dedicated explanation; anything else gets a generic one.
_REJECTED = {
    ast.Subscript: "Indexing with [] is not allowed ({at}); use a field name or a function",
    ast.Lambda: "Lambda functions are not allowed ({at}); use the built-in functions",
    ast.ListComp: "Comprehensions are not allowed ({at}); use the built-in functions",
    ast.SetComp: "Comprehensions are not allowed ({at}); use the built-in functions",
    ast.DictComp: "Comprehensions are not allowed ({at}); use the built-in functions",
    ast.GeneratorExp: "Comprehensions are not allowed ({at}); use the built-in functions",
    ast.JoinedStr: "f-strings are not allowed ({at}); join text with + or CONCAT(...)",
    ast.Starred: "Unpacking with * is not allowed ({at}); pass each argument separately",
    ast.NamedExpr: "Assignment with := is not allowed ({at}); a formula only computes a value",
    ast.Dict: "Dictionaries are not allowed ({at}); use a field name or a function",
    ast.Set: "Sets are not allowed ({at}); write a list like ('a', 'b') after `in`",
    ast.Await: "`await` is not allowed ({at}); a formula only computes a value",
    ast.Yield: "`yield` is not allowed ({at}); a formula only computes a value",
    ast.YieldFrom: "`yield` is not allowed ({at}); a formula only computes a value",
    ast.Slice: "Slicing is not allowed ({at}); use a function",
}


@dataclass(frozen=True)
class ParsedExpression:
    """A tree that passed the allow-list, with what later passes need to know.

    Attributes:
        source: The expression text.
        root: The expression node (the body of ``ast.Expression``).
        sources: Maps nodes back to positions and snippets.
        constants: The value of each ``ast.Constant``; literals with a decimal
            point are ``Decimal`` here, never float.
        paths: The name (``"amount"``, ``"account.grade"``) each Name node or
            dotted Attribute chain refers to.
    """

    source: str
    root: ast.expr
    sources: SourceMap
    constants: dict[ast.AST, Any] = field(default_factory=dict)
    paths: dict[ast.AST, str] = field(default_factory=dict)


def parse(
    source: str, *, max_length: int = 2000, limits: Limits = DEFAULT_LIMITS
) -> ParsedExpression:
    """Parse ``source`` and check it against the allow-list and ``limits``.

    Raises:
        ExpressionError: The text is too long, not one expression, or uses
            syntax the language does not allow.
    """
    if not isinstance(source, str):
        raise TypeError(f"an expression must be text, not {type(source).__name__}")
    if len(source) > max_length:
        raise ExpressionError(
            f"The expression is {len(source)} characters long; the limit is {max_length}. "
            "Split it into several formula fields.",
            max_length,
            source,
        )
    sources = SourceMap(source)
    if not sources.text.strip():
        raise ExpressionError("The expression is empty; write a value or a formula.", 0, source)
    tree = _parse_expression(sources)
    parsed = ParsedExpression(source, tree.body, sources)
    _AllowList(parsed, limits).check()
    return parsed


def _parse_expression(sources: SourceMap) -> ast.Expression:
    _check_escapes(sources)
    try:
        return ast.parse(sources.text, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, sources) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            "The expression is nested too deeply; split it into several formula fields.",
            None,
            sources.source,
        ) from None
    except ValueError as exc:  # e.g. null bytes, on some Python versions
        message = f"The expression cannot be read: {exc}."
        raise ExpressionError(message, None, sources.source) from None


def _check_escapes(sources: SourceMap) -> None:
    """Refuse text literals with an unknown backslash escape such as '\\d'.

    Python 3.11 accepts them with a DeprecationWarning, which turns into an
    error or not depending on the process's warning filters; deciding here keeps
    the answer the same everywhere, without touching global warning state.
    """
    if "\\" not in sources.text:
        return  # the common case, and tokenizing costs more than the whole compile
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(sources.text).readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return  # ast.parse reports the actual syntax error with its position
    for token in tokens:
        if token.type == tokenize.STRING:
            _check_string_token(token, sources)


def _check_string_token(token: tokenize.TokenInfo, sources: SourceMap) -> None:
    prefix = token.string[: len(token.string) - len(token.string.lstrip("rRbBuUfF"))]
    if "r" in prefix.lower():
        return
    for escape in _ESCAPE.finditer(token.string):
        if escape.group(1) not in _VALID_ESCAPES:
            row, column = token.start
            position = sources.line_column(row, column + escape.start())
            raise ExpressionError(
                f"`{escape.group(0)}` at {character(position)} is not a valid escape in text; "
                f"write \\\\ for a backslash, as in '{escape.group(0)[0] * 2}{escape.group(1)}'.",
                position,
                sources.source,
            )


def _syntax_error(exc: SyntaxError, sources: SourceMap) -> ExpressionError:
    source = sources.source
    if exc.offset:
        position = sources.line_column(exc.lineno or 1, exc.offset - 1)
    else:  # Python gives no column when the text ends before the expression does
        position = len(sources.source.rstrip())
    if _is_statement(source):
        hint = "a formula is one expression, not a statement"
        if "=" in source and "==" not in source:
            hint += "; to compare two values write == instead of ="
        return ExpressionError(f"This is a Python statement, not a formula: {hint}.", 0, source)
    if ":=" in source:
        return ExpressionError(
            "Assignment with := is not allowed; a formula only computes a value.",
            source.find(":="),
            source,
        )
    return ExpressionError(
        f"The expression is not valid at {character(position)}: {exc.msg}. "
        "Check brackets, quotes and operators.",
        position,
        source,
    )


def _is_statement(source: str) -> bool:
    # Parsing as a module only builds a tree; nothing is executed.
    try:
        module = ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(not isinstance(statement, ast.Expr) for statement in module.body)


class _AllowList:
    """Walks the tree once, iteratively, checking node types, names, literals and limits.

    Iterative on purpose: the tree may be deeper than Python's recursion limit
    until this pass has checked the depth.
    """

    def __init__(self, parsed: ParsedExpression, limits: Limits):
        self.parsed = parsed
        self.sources = parsed.sources
        self.limits = limits
        self.in_lists: set[ast.AST] = set()  # list literals allowed after `in`

    def check(self) -> None:
        stack: list[tuple[ast.AST, int]] = [(self.parsed.root, 1)]
        count = 0
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > self.limits.max_nodes:
                raise self._fail(
                    node,
                    f"The expression has more than {self.limits.max_nodes} "
                    "parts; split it into several formula fields",
                )
            if depth > self.limits.max_depth:
                raise self._fail(
                    node,
                    "The expression is nested more than "
                    f"{self.limits.max_depth} levels deep; split it into "
                    "several formula fields",
                )
            stack.extend((child, depth + 1) for child in self._children(node))

    def _fail(self, node: ast.AST, message: str) -> ExpressionError:
        # str.replace, not format: the quoted snippet may itself contain braces.
        return self.sources.error(node, message.replace("{at}", self.sources.at(node)) + ".")

    def _children(self, node: ast.AST) -> list[ast.AST]:
        visit = getattr(self, f"_visit_{type(node).__name__}", None)
        if visit is None:
            raise self._rejected(node)
        return visit(node)

    def _rejected(self, node: ast.AST) -> ExpressionError:
        template = _REJECTED.get(type(node))
        if template is None:
            template = f"{type(node).__name__} is not allowed in a formula ({{at}})"
        return self._fail(node, template)

    def _visit_Constant(self, node: ast.Constant) -> list[ast.AST]:
        self.parsed.constants[node] = self._constant_value(node)
        return []

    def _constant_value(self, node: ast.Constant) -> Any:
        value = node.value
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) > self.limits.max_text_literal:
                raise self._fail(
                    node,
                    "A text literal may have at most "
                    f"{self.limits.max_text_literal} characters ({{at}}); "
                    "store long text in a field",
                )
            return value
        if isinstance(value, int):
            return self._checked_number(node, value)
        if isinstance(value, float):
            return self._checked_number(node, self._decimal_literal(node))
        raise self._fail(
            node,
            "This kind of literal is not allowed ({at}); use numbers, 'text', True, False or None",
        )

    def _decimal_literal(self, node: ast.Constant) -> Decimal:
        # Read the digits the user wrote: via float, 0.1 would become 0.1000000000000000055...
        text = ast.get_source_segment(self.sources.text, node) or repr(node.value)
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal(repr(node.value))
        if not number.is_finite():
            raise self._fail(
                node,
                "The number {at} is too large; numbers may be at most "
                f"{self.limits.max_int_literal}",
            )
        return number

    def _checked_number(self, node: ast.AST, number: int | Decimal) -> int | Decimal:
        if abs(number) > self.limits.max_int_literal:
            raise self._fail(
                node,
                "The number {at} is too large; numbers may be at most "
                f"{self.limits.max_int_literal}",
            )
        return number

    def _visit_Name(self, node: ast.Name) -> list[ast.AST]:
        self._check_name(node, node.id)
        self.parsed.paths[node] = node.id
        return []

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            raise self._fail(node, "Names starting with _ are not allowed ({at}); use a field name")

    def _visit_Attribute(self, node: ast.Attribute) -> list[ast.AST]:
        # `account.grade` is one name: a path through a lookup field, resolved
        # statically by the checker. Anything else would be attribute access.
        parts = _dotted_parts(node)
        if parts is None or any(part.startswith("_") for part in parts):
            raise self._fail(
                node, "Attribute access is not allowed ({at}); use a field name or a function"
            )
        self.parsed.paths[node] = ".".join(parts)
        return []

    def _visit_BinOp(self, node: ast.BinOp) -> list[ast.AST]:
        self._check_operator(node, node.op, ARITHMETIC_OPERATORS)
        return [node.left, node.right]

    def _visit_UnaryOp(self, node: ast.UnaryOp) -> list[ast.AST]:
        self._check_operator(node, node.op, UNARY_OPERATORS)
        return [node.operand]

    def _visit_BoolOp(self, node: ast.BoolOp) -> list[ast.AST]:
        return list(node.values)

    def _visit_IfExp(self, node: ast.IfExp) -> list[ast.AST]:
        return [node.test, node.body, node.orelse]

    def _visit_Compare(self, node: ast.Compare) -> list[ast.AST]:
        for operator, right in zip(node.ops, node.comparators, strict=True):
            self._check_operator(node, operator, COMPARISON_OPERATORS)
            if isinstance(operator, ast.In | ast.NotIn):
                self._check_in_list(right)
        return [node.left, *node.comparators]

    def _check_operator(self, node: ast.AST, operator: ast.AST, allowed: tuple[type, ...]) -> None:
        if not isinstance(operator, allowed):
            hint = _OPERATOR_HINTS.get(type(operator), "use + - * / % ** or a function")
            symbol = _SYMBOLS.get(type(operator), type(operator).__name__)
            raise self._fail(node, f"The operator `{symbol}` is not allowed ({{at}}); " + hint)

    def _check_in_list(self, node: ast.AST) -> None:
        if not isinstance(node, ast.List | ast.Tuple):
            raise self._fail(
                node, "After `in` write a list of constants like ('new', 'open') ({at})"
            )
        for element in node.elts:
            if not _is_literal(element):
                raise self._fail(
                    element,
                    "A list after `in` may only hold constants ({at}); "
                    "compare with each field separately using `or`",
                )
        self.in_lists.add(node)

    def _visit_List(self, node: ast.List | ast.Tuple) -> list[ast.AST]:
        if node not in self.in_lists:
            raise self._fail(
                node, "Lists are only allowed after `in` ({at}), as in `status in ('new', 'open')`"
            )
        return list(node.elts)

    _visit_Tuple = _visit_List

    def _visit_Call(self, node: ast.Call) -> list[ast.AST]:
        if not isinstance(node.func, ast.Name):
            raise self._fail(
                node,
                "Only built-in functions can be called, like ROUND(x, 2) "
                "({at}); methods and other calls are not allowed",
            )
        self._check_name(node.func, node.func.id)
        if node.keywords:
            raise self._fail(
                node.keywords[0],
                "Named arguments are not allowed ({at}); "
                "pass arguments by position, like ROUND(x, 2)",
            )
        return list(node.args)


def _dotted_parts(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) in (int, float)
    return isinstance(node, ast.Constant)
