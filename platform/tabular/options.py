"""Import options: what to do with a row that matches an existing record.

``duplicates``: ``create`` (always create a new record; a blocking duplicate
rule still refuses it), ``skip`` (leave the existing record alone), or
``update`` (write the row's non-empty cells into the one match; a row
matching several records fails). ``match_by`` says what "matches" means:
``rule:<api_name>`` (one of the object's duplicate rules, normalised like
on entry) or a field's api_name (equal values). Without ``match_by``,
skip and update use the object's first active duplicate rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trellis.metadata import FieldDef
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import Invalid
from trellis.runtime.permissions import Access

MODES = ("create", "skip", "update")
#: Field types a key field may have: values compared for equality.
_KEY_TYPES = {
    "text",
    "email",
    "phone",
    "url",
    "credit_code",
    "auto_number",
    "integer",
    "lookup",
}


@dataclass(frozen=True)
class ImportOptions:
    duplicates: str = "create"
    match_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"duplicates": self.duplicates, "match_by": self.match_by}


def parse_options(
    data: Any, rt: ObjectRuntime, access: Access, base: ImportOptions | None = None
) -> ImportOptions:
    """Options from a request (``{"duplicates": ..., "match_by": ...}``) over ``base``."""
    base = base or default_options(rt)
    if data is None:
        return check_options(base, rt, access)
    if not isinstance(data, dict):
        raise Invalid('options must be an object such as {"duplicates": "skip"}')
    unknown = set(data) - {"duplicates", "match_by"}
    if unknown:
        raise Invalid(
            f"unknown option(s): {', '.join(sorted(map(str, unknown)))}; "
            "use duplicates and match_by"
        )
    options = ImportOptions(
        duplicates=data.get("duplicates", base.duplicates),
        match_by=data.get("match_by", base.match_by) or None,
    )
    return check_options(options, rt, access)


def default_options(rt: ObjectRuntime) -> ImportOptions:
    rule = next((r for r in rt.definition.duplicate_rules if r.active), None)
    return ImportOptions("create", f"rule:{rule.api_name}" if rule else None)


def check_options(options: ImportOptions, rt: ObjectRuntime, access: Access) -> ImportOptions:
    obj = rt.definition
    if options.duplicates not in MODES:
        raise Invalid(
            f"duplicates must be one of {', '.join(MODES)}, not {str(options.duplicates)[:40]!r}",
            [{"pointer": "/options/duplicates", "message": "unknown mode"}],
        )
    if options.duplicates == "update" and not access.edit:
        raise Invalid(
            f"you may not edit {obj.plural_label.en.lower()}; choose duplicates skip or create"
        )
    match = options.match_by
    if match is not None:
        if not isinstance(match, str):
            raise Invalid("match_by must be text: rule:<duplicate rule> or a field's api_name")
        if match.startswith("rule:"):
            rule_of(rt, match)
        else:
            key_field(rt, access, match)
    elif options.duplicates != "create":
        raise Invalid(
            f"{obj.api_name} has no duplicate rule, so say how rows match existing records: "
            "set match_by to a field's api_name (e.g. email), or import with duplicates create",
            [{"pointer": "/options/match_by", "message": "required for skip and update"}],
        )
    return options


def rule_of(rt: ObjectRuntime, match_by: str):
    name = match_by.removeprefix("rule:")
    for rule in rt.definition.duplicate_rules:
        if rule.api_name == name and rule.active:
            return rule
    names = [f"rule:{r.api_name}" for r in rt.definition.duplicate_rules if r.active]
    raise Invalid(
        f"{rt.definition.api_name} has no active duplicate rule {name[:40]!r}; "
        f"choose {', '.join(names) or 'a key field'}",
        [{"pointer": "/options/match_by", "message": "unknown duplicate rule"}],
    )


def key_field(rt: ObjectRuntime, access: Access, name: str) -> FieldDef:
    f = rt.definition.by_name.get(name)
    if f is None or f.archived or not f.stored or name in access.hidden:
        raise Invalid(
            f"{rt.definition.api_name} has no field {name[:40]!r} to match rows on",
            [{"pointer": "/options/match_by", "message": "unknown field"}],
        )
    if f.type not in _KEY_TYPES:
        raise Invalid(
            f"rows cannot be matched on {name!r}, a {f.type} field; match on a text, email, "
            "phone, number or lookup field, or on a duplicate rule",
            [{"pointer": "/options/match_by", "message": "not a key field"}],
        )
    return f
