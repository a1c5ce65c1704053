"""Compile every expression in the definitions once per metadata version.

Formula fields, default formulas, validation rules, roll-up filters and list
view filters all go through ``trellis.expressions``; a problem names the
component and says what is wrong at which position.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

from trellis.expressions import ExpressionError, ExprType, compile_expression
from trellis.fieldtypes import FIELD_TYPES
from trellis.metadata.definitions import FieldDef, Label, ObjectDef, ValidationRuleDef
from trellis.metadata.problems import Problem

_NUMERIC = {"integer", "decimal", "currency", "percent"}


class FormulaCompiler:
    """Holds the name environments of every object and the problems found."""

    def __init__(self, objects: dict[str, ObjectDef]):
        self.objects = {name: _resolve_rollups(obj, objects) for name, obj in objects.items()}
        self.problems: list[Problem] = []
        self._envs: dict[str, dict[str, ExprType]] = {}

    def env(self, object_name: str) -> dict[str, ExprType]:
        """Names a formula on ``object_name`` may use: its fields and lookup paths."""
        if object_name not in self._envs:
            obj = self.objects[object_name]
            env = {f.api_name: _value_type(f) for f in obj.live_fields}
            for f in obj.live_fields:
                target = self.objects.get(f.options.get("target")) if f.type == "lookup" else None
                if target is not None:
                    env.update(
                        {
                            f"{f.api_name}.{g.api_name}": _value_type(g)
                            for g in target.live_fields
                            if g.stored
                        }
                    )
            self._envs[object_name] = env
        return self._envs[object_name]

    def compile(
        self,
        key: str,
        place: str,
        object_name: str,
        source: str | None,
        expected: ExprType | None,
        exclude: str | None = None,
    ) -> Any:
        if source is None:
            return None
        names = self.env(object_name)
        if exclude:
            names = {k: v for k, v in names.items() if k != exclude}
        try:
            return compile_expression(source, names, expected=expected)
        except ExpressionError as exc:
            # The message names the position itself (0-based, as ExpressionError.position).
            self.problems.append(Problem(key, place, exc.message))
            return None

    def compile_filter(self, key: str, object_name: str, source: str | None) -> Any:
        return self.compile(key, "/filter", object_name, source, ExprType.BOOLEAN)

    def compile_all(self) -> dict[str, ObjectDef]:
        return {name: self._compile_object(obj) for name, obj in self.objects.items()}

    def _compile_object(self, obj: ObjectDef) -> ObjectDef:
        fields = tuple(self._compile_field(obj, f) for f in obj.fields)
        rules = tuple(self._compile_rule(obj, raw) for raw in obj.validation_rules)
        return replace(
            obj,
            fields=fields,
            validation_rules=rules,
            by_name=MappingProxyType({f.api_name: f for f in fields}),
        )

    def _compile_field(self, obj: ObjectDef, f: FieldDef) -> FieldDef:
        if f.system or f.archived:
            return f
        key = f"field:{f.path}"
        changes: dict[str, Any] = {}
        if f.type == "formula":
            changes["formula"] = self.compile(
                key,
                "/formula",
                obj.api_name,
                f.options["formula"],
                _expected(f.options["return_type"]),
                exclude=f.api_name,
            )
        if f.type == "rollup" and f.options.get("filter"):
            changes["rollup_filter"] = self.compile(
                key, "/filter", f.options["object"], f.options["filter"], ExprType.BOOLEAN
            )
        if isinstance(f.default_formula, str):
            changes["default_formula"] = self.compile(
                key,
                "/default_formula",
                obj.api_name,
                f.default_formula,
                _value_type(f),
                exclude=f.api_name,
            )
        if f.default_value is not None:
            changes["default_value"] = self._default_value(key, f)
        return replace(f, **changes) if changes else f

    def _default_value(self, key: str, f: FieldDef) -> Any:
        try:
            return f.field_type.parse(f.default_value, f)
        except ValueError as exc:
            self.problems.append(Problem(key, "/default_value", f"the default value {exc}"))
            return None

    def _compile_rule(self, obj: ObjectDef, raw: dict) -> ValidationRuleDef:
        key = f"validation_rule:{obj.api_name}.{raw['api_name']}"
        if raw.get("field") and raw["field"] not in obj.by_name:
            self.problems.append(
                Problem(
                    key,
                    "/field",
                    f"field {raw['field']!r} does not exist on "
                    f"{obj.api_name}; name a field of this object or leave it out",
                )
            )
        condition = self.compile(
            key, "/error_condition", obj.api_name, raw["error_condition"], ExprType.BOOLEAN
        )
        return ValidationRuleDef(
            raw["api_name"],
            condition,
            Label.from_json(raw["message"]),
            raw.get("field"),
            raw.get("active", True),
        )


def _expected(return_type: str) -> ExprType:
    return FIELD_TYPES[return_type].expr_type


def _value_type(f: FieldDef) -> ExprType:
    return f.field_type.value_type(f)


def _resolve_rollups(obj: ObjectDef, objects: dict[str, ObjectDef]) -> ObjectDef:
    """Fill in a roll-up's ``return_type`` from the function and the child field."""
    fields = []
    for f in obj.fields:
        if f.type == "rollup" and "return_type" not in f.options:
            fields.append(
                replace(
                    f,
                    options=MappingProxyType(
                        {**f.options, "return_type": _rollup_type(f, objects)}
                    ),
                )
            )
        else:
            fields.append(f)
    return replace(
        obj, fields=tuple(fields), by_name=MappingProxyType({f.api_name: f for f in fields})
    )


def _rollup_type(f: FieldDef, objects: dict[str, ObjectDef]) -> str:
    function = f.options["function"]
    if function == "count":
        return "integer"
    child = objects.get(f.options["object"])
    source = child.by_name.get(f.options.get("field", "")) if child else None
    if source is None:
        return "decimal"  # the reference check reports the missing field
    kind = (
        source.options.get("return_type", source.type)
        if source.type in ("formula", "rollup")
        else source.type
    )
    if function == "avg":
        return "decimal" if kind == "integer" else kind
    return kind if kind in _NUMERIC | {"date", "datetime"} else "decimal"
