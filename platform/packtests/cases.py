"""Reading a pack's contract tests: ``tests/*.json`` into frozen case definitions.

A file holds a list of cases and the defaults they share (acting user, moment,
language). Reading checks every file against the JSON Schema ``pack_test.json``
and reports each problem with its file and JSON pointer; a file with problems
contributes no cases. Whether the objects, fields, users and flows a case names
exist is checked later, against the installed definitions (``consistency``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from trellis.metadata.problems import Problem

#: Where a pack keeps its contract tests.
FOLDER = "tests"
#: Who acts, and when, unless the file or the case says otherwise.
DEFAULT_USER = "admin"
DEFAULT_NOW = "2026-01-05T09:00:00+08:00"  # a Monday morning in Shanghai
MAX_FILE_BYTES = 1_000_000

KINDS = ("validation", "approval", "automation")


# -- what a case defines ---------------------------------------------------------------


@dataclass(frozen=True)
class GivenRecord:
    """A record the case creates before its check; ``ref`` names it for ``#ref``."""

    object_name: str
    values: Mapping[str, Any]
    ref: str | None
    owner: str | None
    as_user: str | None
    pointer: str


@dataclass(frozen=True)
class ExpectedError:
    """One error a refused write must show; ``message`` is a substring."""

    field: str | None = None
    rule: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in vars(self).items() if v is not None]
        return " ".join(parts)


@dataclass(frozen=True)
class ExpectedNotification:
    """Someone who must be notified; ``title`` and ``message`` are substrings."""

    user: str
    title: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ExpectedState:
    """What must be true after the check: field values, notifications, pool."""

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    notified: tuple[ExpectedNotification, ...] | None = None
    pool: str | None = None


@dataclass(frozen=True)
class ValidationCheck:
    """Create ``object_name`` (or update the record ``update``) with ``values``;
    ``fails`` lists the errors expected (None: the write must succeed)."""

    object_name: str | None
    update: str | None
    values: Mapping[str, Any]
    as_user: str | None
    fails: tuple[ExpectedError, ...] | None
    then: ExpectedState


@dataclass(frozen=True)
class ApprovalStep:
    """The approvers at one point of an approval, and what they do."""

    node: str | None
    users: tuple[str, ...] | None
    roles: tuple[str, ...] | None
    action: str | None  # approve, reject, or None: only look
    as_user: str | None
    comment: str | None


@dataclass(frozen=True)
class ApprovalCheck:
    record: str
    flow: str | None
    as_user: str | None
    comment: str | None
    steps: tuple[ApprovalStep, ...]
    status: str | None
    path: tuple[str, ...] | None
    then: ExpectedState


@dataclass(frozen=True)
class RecordUpdate:
    values: Mapping[str, Any]
    at: dt.datetime | None
    as_user: str | None


@dataclass(frozen=True)
class AutomationCheck:
    """Automation ``name`` fires (or, with ``fires`` False, does not) for ``record``:
    when the record is written, or at ``fires_at`` when the worker runs."""

    name: str
    record: str
    update: RecordUpdate | None
    fires_at: dt.datetime | None
    fires: bool
    then: ExpectedState


@dataclass(frozen=True)
class CaseDef:
    """One contract test: given records, then one check."""

    file: str  # "tests/lead_rules.json"
    pointer: str  # "/cases/3"
    name: str
    user: str
    user_pointer: str  # where the user was named: the case, or the file's default
    now: dt.datetime
    locale: str | None
    given: tuple[GivenRecord, ...]
    kind: str  # validation, approval, automation
    check: ValidationCheck | ApprovalCheck | AutomationCheck


# -- reading ---------------------------------------------------------------------------


def case_files(pack: Path) -> list[Path]:
    """The pack's case files in name order."""
    return sorted((pack / FOLDER).glob("*.json"))


def read_cases(pack: Path) -> tuple[list[CaseDef], list[Problem]]:
    """Every case of the pack, and every problem found reading its files."""
    cases: list[CaseDef] = []
    problems: list[Problem] = []
    for path in case_files(pack):
        found, trouble = read_file(path, f"{FOLDER}/{path.name}")
        cases += found
        problems += trouble
    return cases, problems


def read_file(path: Path, name: str) -> tuple[list[CaseDef], list[Problem]]:
    """The cases of one file; none when the file has any problem."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return [], [Problem(name, "", f"the file is larger than {MAX_FILE_BYTES} bytes; split it")]
    try:
        data = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        return [], [Problem(name, "", f"the file is not UTF-8 text: {exc}")]
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return [], [Problem(name, "", f"the file is not valid JSON ({where}): {exc.msg}")]
    problems = list(schema_problems(name, data))
    if not problems:
        problems = list(_rule_problems(name, data))
    if problems:
        return [], problems
    return [_case(name, data, i, raw) for i, raw in enumerate(data["cases"])], []


@cache
def validator() -> Draft202012Validator:
    """The validator of case files (``schemas/pack_test.json``)."""
    text = resources.files("trellis.metadata").joinpath("schemas/pack_test.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def schema_problems(name: str, data: Any) -> Iterator[Problem]:
    """Every place ``data`` breaks the schema of a case file."""
    for error in sorted(validator().iter_errors(data), key=lambda e: list(e.absolute_path)):
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        yield Problem(name, pointer, _explain(error))


def _explain(error: ValidationError) -> str:
    """The schema error in words a consultant acts on."""
    if error.validator == "oneOf":
        choices = [s.get("required", [None])[0] for s in error.validator_value]
        if all(choices) and all(set(s) == {"required"} for s in error.validator_value):
            given = [c for c in choices if isinstance(error.instance, dict) and c in error.instance]
            told = f"it has {' and '.join(given)}" if given else "it has none"
            return f"give exactly one of {', '.join(choices)} ({told})"
        if error.context:
            return _explain(best_match(error.context))
    if error.validator == "additionalProperties":
        return f"{error.message}; remove it or check its spelling"
    if error.validator == "required":
        return f"{error.message}; add it"
    if error.validator == "pattern" and error.path and error.path[-1] in ("now", "at", "fires_at"):
        return (
            f"{error.instance!r} is not a moment with its time zone; write it like "
            "2026-03-10T10:30:00+08:00"
        )
    if error.validator == "pattern" and error.validator_value.startswith("^#"):
        return (
            f"{error.instance!r} does not name a record; write #name (the _ref of a given record)"
        )
    return error.message


def _rule_problems(name: str, data: dict) -> Iterator[Problem]:
    """What the schema cannot say: unique case names, expectations that cannot apply."""
    seen: dict[str, int] = {}
    for i, case in enumerate(data["cases"]):
        if case["name"] in seen:
            yield Problem(
                name,
                f"/cases/{i}/name",
                f"case {case['name']!r} is already the name of case {seen[case['name']]}; "
                "give every case of a file its own name",
            )
        seen.setdefault(case["name"], i)
        check = case.get("validation")
        if check and "fails" in check and "fields" in check:
            yield Problem(
                name,
                f"/cases/{i}/validation/fields",
                "fields are checked only when the record is saved; remove fields, or "
                "replace fails by succeeds",
            )
        steps = case.get("approval", {}).get("steps", [])
        for j, step in enumerate(steps[:-1]):
            if "action" not in step:
                yield Problem(
                    name,
                    f"/cases/{i}/approval/steps/{j}",
                    "only the last step may leave out action: say what the approvers of "
                    "this step do (approve or reject) so the approval moves on",
                )


def _case(name: str, data: dict, index: int, raw: dict) -> CaseDef:
    pointer = f"/cases/{index}"
    kind = next(k for k in KINDS if k in raw)
    build = {"validation": _validation, "approval": _approval, "automation": _automation}[kind]
    return CaseDef(
        file=name,
        pointer=pointer,
        name=raw["name"],
        user=raw.get("user", data.get("user", DEFAULT_USER)),
        user_pointer=f"{pointer}/user" if "user" in raw else "/user",
        now=moment(raw.get("now", data.get("now", DEFAULT_NOW))),
        locale=raw.get("locale", data.get("locale")),
        given=tuple(_given(raw.get("given", []), pointer)),
        kind=kind,
        check=build(raw[kind]),
    )


def moment(text: str) -> dt.datetime:
    """An ISO 8601 moment with its offset (the schema made sure it has one)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _given(blocks: list[dict], pointer: str) -> Iterator[GivenRecord]:
    for b, block in enumerate(blocks):
        for r, record in enumerate(block["records"]):
            yield GivenRecord(
                object_name=block["object"],
                values=MappingProxyType(
                    {k: v for k, v in record.items() if k not in ("_ref", "owner")}
                ),
                ref=record.get("_ref"),
                owner=record.get("owner"),
                as_user=block.get("as"),
                pointer=f"{pointer}/given/{b}/records/{r}",
            )


def _state(raw: dict) -> ExpectedState:
    notified = raw.get("notified")
    return ExpectedState(
        fields=MappingProxyType(dict(raw.get("fields", {}))),
        notified=None if notified is None else tuple(_notification(n) for n in notified),
        pool=raw.get("pool"),
    )


def _notification(raw: str | dict) -> ExpectedNotification:
    if isinstance(raw, str):
        return ExpectedNotification(raw)
    return ExpectedNotification(raw["user"], raw.get("title"), raw.get("message"))


def _validation(raw: dict) -> ValidationCheck:
    fails = raw.get("fails")
    return ValidationCheck(
        object_name=raw.get("create"),
        update=raw.get("update"),
        values=MappingProxyType(dict(raw["values"])),
        as_user=raw.get("as"),
        fails=None if fails is None else tuple(ExpectedError(**f) for f in fails),
        then=_state(raw),
    )


def _approval(raw: dict) -> ApprovalCheck:
    return ApprovalCheck(
        record=raw["submit"],
        flow=raw.get("flow"),
        as_user=raw.get("as"),
        comment=raw.get("comment"),
        steps=tuple(
            ApprovalStep(
                node=s.get("node"),
                users=tuple(s["users"]) if "users" in s else None,
                roles=tuple(s["roles"]) if "roles" in s else None,
                action=s.get("action"),
                as_user=s.get("as"),
                comment=s.get("comment"),
            )
            for s in raw["steps"]
        ),
        status=raw.get("status"),
        path=tuple(raw["path"]) if "path" in raw else None,
        then=_state(raw),
    )


def _automation(raw: dict) -> AutomationCheck:
    update = raw.get("update")
    return AutomationCheck(
        name=raw["name"],
        record=raw["record"],
        update=None
        if update is None
        else RecordUpdate(
            values=MappingProxyType(dict(update["values"])),
            at=moment(update["at"]) if "at" in update else None,
            as_user=update.get("as"),
        ),
        fires_at=moment(raw["fires_at"]) if "fires_at" in raw else None,
        fires=raw.get("fires", True),
        then=_state(raw),
    )
