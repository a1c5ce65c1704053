"""What the formula editor says about a formula: its type, or the problem and where it is.

The one expression language checks the formula (``trellis.expressions``: parser, then the
checker's types), against exactly the names a definition on that object may use (its
fields and ``lookup.field`` paths, as ``trellis.metadata.formulas.FormulaCompiler`` offers
them when the definition is saved). So the editor never says yes to a formula the save
will refuse, or no to one it takes. Nothing here writes: a preview only reads a record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trellis.expressions import CompiledExpression, ExpressionError, ExprType, compile_expression
from trellis.metadata.formulas import FormulaCompiler
from trellis.web.metadata_view import compiled

#: What a place may ask a formula to give (the macro's ``expect``), as the types accepted.
EXPECT: dict[str, tuple[ExprType, ...] | None] = {
    "any": None,
    "boolean": (ExprType.BOOLEAN,),
    "number": (ExprType.NUMBER,),
    "text": (ExprType.TEXT,),
    "date": (ExprType.DATE, ExprType.DATETIME),
    "datetime": (ExprType.DATETIME,),
}

#: The piece of source marked at an error: a name or path, a number, a quoted text, or one sign.
_TOKEN = re.compile(r"[\w.]+|'[^'\n]*'?|\"[^\"\n]*\"?|\S")

_NAMES: dict[tuple[int, str, bool], dict[str, ExprType]] = {}


@dataclass(frozen=True)
class Problem:
    """A refused formula: the checker's message and the place it points at.

    ``position`` is the 0-based character offset (None: the whole formula); ``line`` and
    ``column`` count from 1, as people do; ``before``/``marked``/``after`` are the line of
    the error split around the marked token, and ``caret`` the line under it.
    """

    message: str
    position: int | None = None
    length: int = 0
    line: int = 0
    column: int = 0
    before: str = ""
    marked: str = ""
    after: str = ""
    caret: str = ""


@dataclass(frozen=True)
class Outcome:
    """The check of one formula: a compiled expression or a problem (or neither: blank)."""

    source: str
    expression: CompiledExpression | None = None
    problem: Problem | None = None

    @property
    def blank(self) -> bool:
        return not self.source.strip()

    @property
    def result_type(self) -> ExprType | None:
        return self.expression.result_type if self.expression is not None else None


def names_for(object_name: str, *, old_values: bool = False) -> dict[str, ExprType]:
    """The names a formula on ``object_name`` may use (``old.<field>`` too when asked)."""
    meta = compiled()
    key = (meta.version, object_name, old_values)
    if key not in _NAMES:
        if len(_NAMES) > 200:  # old metadata versions: drop them all rather than grow
            _NAMES.clear()
        compiler = FormulaCompiler(dict(meta.definitions.objects))
        names = dict(compiler.env(object_name))
        if old_values:
            obj = compiler.objects[object_name]
            names.update(
                {f"old.{f.api_name}": names[f.api_name] for f in obj.live_fields if f.stored}
            )
        _NAMES[key] = names
    return _NAMES[key]


def check_formula(
    source: str, object_name: str, expect: str = "any", *, old_values: bool = False
) -> Outcome:
    """Parse and type-check ``source`` as the save will; the problem says where it is."""
    if not source.strip():
        return Outcome(source)
    allowed = EXPECT.get(expect)
    single = allowed[0] if allowed and len(allowed) == 1 else None
    try:
        expression = compile_expression(
            source, names_for(object_name, old_values=old_values), expected=single
        )
    except ExpressionError as exc:
        return Outcome(source, problem=locate(source, exc.message, exc.position))
    if allowed and expression.result_type not in (*allowed, ExprType.ANY, ExprType.NULL):
        wanted = " or ".join(kind.phrase for kind in allowed)
        message = (
            f"The expression gives {expression.result_type.phrase}, but {wanted} is needed here."
        )
        return Outcome(source, problem=Problem(message))
    return Outcome(source, expression=expression)


def locate(source: str, message: str, position: int | None) -> Problem:
    """The problem with its line, column and the marked token of its line."""
    if position is None or not source:
        return Problem(message)
    position = max(0, min(position, len(source)))
    start = source.rfind("\n", 0, position) + 1
    end = source.find("\n", position)
    end = len(source) if end == -1 else end
    token = _TOKEN.match(source, position) if position < end else None
    length = len(token.group()) if token else 0
    column = position - start
    return Problem(
        message=message,
        position=position,
        length=length,
        line=source.count("\n", 0, position) + 1,
        column=column + 1,
        before=source[start:position],
        marked=source[position : position + length] or " ",
        after=source[position + length : end],
        caret=" " * column + "^" * max(length, 1),
    )


def shown_value(value: Any) -> str:
    """A formula's value as the preview shows it (a blank is handled by the template)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, str):
        return repr(value)
    return str(value)
