"""The scope a flow definition is checked in: its component, its object, what exists.

Approval flows, automations, pools and assignment rules (docs/flows.md) are
checked by small functions that all need the same things: where to report a
problem, the object whose fields formulas read, the roles and components a
definition may name. ``FlowScope`` carries these so the checks stay short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trellis.expressions import CompiledExpression, ExpressionError, ExprType, compile_expression
from trellis.metadata.definitions import FieldDef, ObjectDef
from trellis.metadata.formulas import FormulaCompiler
from trellis.metadata.problems import Problem


@dataclass
class FlowScope:
    """One flow component being checked.

    ``known`` holds the keys of every component that exists (``pool:lead.east``),
    so an action can say which pool, rule or flow it names is missing.
    ``approval`` is True inside an approval flow, where the submitter and the
    current approvers mean something.
    """

    key: str
    object_name: str
    compiler: FormulaCompiler
    roles: Mapping[str, Any]
    known: frozenset[str]
    approval: bool = False

    @property
    def problems(self) -> list[Problem]:
        return self.compiler.problems

    @property
    def obj(self) -> ObjectDef:
        return self.compiler.objects[self.object_name]

    def object(self, name: str) -> ObjectDef | None:
        """A live object by name, or None."""
        obj = self.compiler.objects.get(name)
        return None if obj is None or obj.archived else obj

    def problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(self.key, place, message))

    def live_field(self, name: str, obj: ObjectDef | None = None) -> FieldDef | None:
        """A field that is not archived, or None."""
        f = (obj or self.obj).by_name.get(name)
        return None if f is None or f.archived else f

    def formula(
        self,
        place: str,
        source: str | None,
        expected: ExprType | None,
        *,
        extra_names: Mapping[str, ExprType] | None = None,
    ) -> CompiledExpression | None:
        """Compile a formula on this scope's object; a problem (with its position) if it fails."""
        if source is None:
            return None
        names = self.compiler.env(self.object_name)
        if extra_names:
            names = {**names, **extra_names}
        try:
            return compile_expression(source, names, expected=expected)
        except ExpressionError as exc:
            self.problem(place, exc.message)
            return None

    def formula_giving(
        self, place: str, source: str | None, allowed: tuple[ExprType, ...], what: str
    ) -> CompiledExpression | None:
        """Compile a formula whose result may be any of ``allowed`` (``what`` says it in words)."""
        compiled = self.formula(place, source, None)
        if compiled is None or compiled.result_type in (*allowed, ExprType.ANY):
            return compiled
        self.problem(
            place,
            f"The expression gives {compiled.result_type.phrase}, but {what} is needed here.",
        )
        return None

    def component_exists(self, kind: str, api_name: str) -> bool:
        return f"{kind}:{self.object_name}.{api_name}" in self.known

    def unknown_keys(self, place: str, raw: Mapping[str, Any], allowed: set[str], what: str):
        """Report keys the schema allows in general but ``what`` does not take."""
        for extra in sorted(set(raw) - allowed):
            takes = ", ".join(sorted(allowed - {"type", "id"})) or "nothing else"
            self.problem(
                f"{place}/{extra}",
                f"{extra!r} does not apply to {what}; it takes: {takes}",
            )


def a(word: str) -> str:
    """``word`` with its indefinite article: "an approval", "a join"."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def value_type(f: FieldDef) -> ExprType:
    """The formula type of a field's values (what a formula writing it must give)."""
    return f.field_type.value_type(f)
