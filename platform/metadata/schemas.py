"""The JSON Schemas (draft 2020-12) of every definition kind, loaded once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from trellis.fieldtypes import FIELD_TYPES
from trellis.metadata.problems import Problem

BASE = "https://trellis.dev/schemas/"
SCHEMA_NAMES = (
    "pack_test",
    "label",
    "field",
    "validation_rule",
    "object",
    "layout",
    "list_view",
    "role",
    "pack",
    "people",
    "action",
    "approval_flow",
    "automation",
    "pool",
    "assignment_rule",
    "conversion",
    "report",
    "dashboard",
    "app",
)
COMMON_FIELD_KEYS = frozenset(
    json.loads(
        resources.files("trellis.metadata").joinpath("schemas/field.json").read_text("utf-8")
    )["properties"]
)


@cache
def _registry() -> Registry:
    resources_ = []
    for name in SCHEMA_NAMES:
        text = (
            resources.files("trellis.metadata").joinpath(f"schemas/{name}.json").read_text("utf-8")
        )
        schema = json.loads(text)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def validator(kind: str) -> Draft202012Validator:
    """The validator for one kind (``object``, ``field``, ``pack`` ...)."""
    schema = _registry().contents(f"{BASE}{kind}.json")
    return Draft202012Validator(schema, registry=_registry())


@cache
def _options_validator(type_name: str) -> Draft202012Validator:
    ftype = FIELD_TYPES[type_name]
    schema = {
        "type": "object",
        "properties": ftype.options_schema,
        "required": list(ftype.required_options),
    }
    return Draft202012Validator(schema, registry=_registry())


def _pointer(path) -> str:
    return "".join(f"/{p}" for p in path)


def _explain(error) -> str:
    if error.validator == "pattern" and error.path and error.path[-1] == "api_name":
        return (
            f"{error.instance!r} is not a valid api_name: start with a lowercase letter, then "
            "lowercase letters, digits or underscores (2-40 characters)"
        )
    if error.validator == "pattern" and error.path and error.path[-1] == "url":
        return f"{error.instance!r} is not a web address; it must start with http:// or https://"
    if error.validator == "additionalProperties":
        return f"{error.message}; remove it or check its spelling"
    if error.validator == "required":
        return f"{error.message}; add it"
    names = [p for p in error.absolute_path if isinstance(p, str)]
    where = names[-1] if names else "this value"
    if error.validator == "minItems":
        if error.validator_value == 1:
            return f"{where} is empty; it needs at least one entry"
        return f"{where} needs at least {error.validator_value} entries"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[error.validator]
        return f"{where} is {error.instance!r}; it must be {bound} {error.validator_value}"
    return error.message


#: Problems found per (kind, key, digest of the definition's JSON). Checking a schema is
#: a pure function of those, and every metadata change re-checks every component (about
#: 750 in crm_standard) while changing one: remembering the unchanged ones takes a
#: change from seconds to a fraction. Emptied when it grows past the limit.
_CHECKED: dict[tuple[str, str, bytes], tuple[Problem, ...]] = {}
_CHECKED_LIMIT = 50_000


def check_schema(kind: str, key: str, definition: Any) -> Iterator[Problem]:
    """Yield a Problem for every place ``definition`` breaks its kind's schema."""
    try:
        text = json.dumps(definition, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # not JSON at all: check it as it is, remember nothing
        yield from _check_schema(kind, key, definition)
        return
    ident = (kind, key, hashlib.blake2b(text.encode(), digest_size=20).digest())
    found = _CHECKED.get(ident)
    if found is None:
        found = tuple(_check_schema(kind, key, definition))
        if len(_CHECKED) >= _CHECKED_LIMIT:
            _CHECKED.clear()
        _CHECKED[ident] = found
    yield from found


def _check_schema(kind: str, key: str, definition: Any) -> Iterator[Problem]:
    for error in sorted(validator(kind).iter_errors(definition), key=lambda e: list(e.path)):
        yield Problem(key, _pointer(error.absolute_path), _explain(error))
    if kind == "field" and isinstance(definition, dict):
        yield from _check_field_options(key, definition)


def _check_field_options(key: str, definition: dict) -> Iterator[Problem]:
    type_name = definition.get("type")
    if type_name not in FIELD_TYPES:
        yield Problem(
            key,
            "/type",
            f"unknown field type {type_name!r}; choose one of: {', '.join(sorted(FIELD_TYPES))}",
        )
        return
    options = {k: v for k, v in definition.items() if k not in COMMON_FIELD_KEYS}
    allowed = set(FIELD_TYPES[type_name].options_schema)
    for extra in sorted(set(options) - allowed):
        hint = (
            f"options of a {type_name} field: {', '.join(sorted(allowed))}"
            if allowed
            else f"a {type_name} field takes no options"
        )
        yield Problem(
            key, f"/{extra}", f"{extra!r} is not an option of a {type_name} field; {hint}"
        )
    for error in _options_validator(type_name).iter_errors(options):
        yield Problem(key, _pointer(error.absolute_path), _explain(error))
