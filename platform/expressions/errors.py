"""The one error type of the expression language, and where in the source it points."""

from __future__ import annotations

import ast

_SNIPPET_LENGTH = 40


def character(position: int | None) -> str:
    """A 0-based offset as people count it: "character 1" is the first."""
    return "the end" if position is None else f"character {position + 1}"


class ExpressionError(ValueError):
    """A formula or filter that cannot be compiled or evaluated.

    Attributes:
        message: A plain English sentence saying what is wrong and how to fix it.
        position: The 0-based character offset in ``source`` where the problem
            is, or None when it concerns the whole expression.
        source: The expression text, when known.
    """

    def __init__(self, message: str, position: int | None = None, source: str | None = None):
        super().__init__(message)
        self.message = message
        self.position = position
        self.source = source

    def __reduce__(self):  # keep all three attributes when pickled (e.g. to a worker)
        return (type(self), (self.message, self.position, self.source))


class OperationError(Exception):
    """An operator or function cannot give a value; the evaluator adds the position.

    Raised by the implementations of operators and functions, which do not know
    where in the source they were called from, and turned into an
    ExpressionError by the getter that does.
    """


class SourceMap:
    """Turns ``ast`` locations into character offsets and quotes source snippets.

    ``ast`` reports columns as UTF-8 byte offsets within a line; users count
    characters from the start of the text, which differs for Chinese labels.
    """

    def __init__(self, source: str):
        self.source = source
        # Python rejects leading blanks as an "unexpected indent"; a formula may
        # have them. ``text`` is what gets parsed; offsets shift back by ``base``.
        self.text = source.lstrip()
        self.base = len(source) - len(self.text)
        self._lines = self.text.splitlines(keepends=True) or [""]
        self._starts: list[int] = []
        offset = self.base
        for line in self._lines:
            self._starts.append(offset)
            offset += len(line)

    def position(self, node: ast.AST) -> int | None:
        """The 0-based character offset where ``node`` starts."""
        lineno = getattr(node, "lineno", None)
        if lineno is None or lineno > len(self._lines):
            return None
        line = self._lines[lineno - 1].encode("utf-8")
        column = len(line[: node.col_offset].decode("utf-8", errors="ignore"))
        return self._starts[lineno - 1] + column

    def line_column(self, lineno: int, column: int) -> int:
        """The character offset of a 1-based line and 0-based character column."""
        lineno = max(1, min(lineno, len(self._lines)))
        return min(self._starts[lineno - 1] + max(column, 0), len(self.source))

    def snippet(self, node: ast.AST) -> str:
        """The source text of ``node``, shortened for messages."""
        text = ast.get_source_segment(self.text, node) or type(node).__name__
        text = " ".join(text.split())
        if len(text) > _SNIPPET_LENGTH:
            text = text[: _SNIPPET_LENGTH - 1] + "…"
        return text

    def error(self, node: ast.AST, message: str) -> ExpressionError:
        """An ExpressionError pointing at ``node``."""
        return ExpressionError(message, self.position(node), self.source)

    def at(self, node: ast.AST) -> str:
        """ "`snippet` at 12": the usual way messages point into the source."""
        return f"`{self.snippet(node)}` at {character(self.position(node))}"
