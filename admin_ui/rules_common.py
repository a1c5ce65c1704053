"""What the rule and report forms share: who owns each definition, the problems of a refused
save placed at their controls, the people and field pickers, and reading posted rows.

The forms (pools, assignment rules, duplicate rules, reports, dashboards) are plain HTML
forms; a repeated part (an entry, a measure, a tile) posts as ``<prefix>-<n>-<property>``
with ``n`` in the order shown (``static/rules.js`` renumbers rows after a drag).
Everything is saved through ``runtime().metadata`` (the one ``MetadataAPI``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import request

from trellis.admin_ui.packs_page import actor
from trellis.metadata import store
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import Forbidden, Invalid
from trellis.runtime.system_tables import department_table, user_table
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

CUSTOM = "custom"


# -- who owns a definition ----------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Where a component comes from (``crm_standard@1.0.0`` or custom) and whether the
    admin may change it (``locked``: the pack's reason)."""

    provenance: str
    locked: str | None = None

    @property
    def custom(self) -> bool:
        return self.provenance == CUSTOM


def owners(keys: Iterable[str]) -> dict[str, Owner]:
    with runtime().engine.connect() as conn:
        layers = store.load(conn)
    return {k: Owner(layers.provenance(k), layers.lock_reason(k)) for k in keys}


def owner(key: str) -> Owner:
    return owners([key])[key]


# -- problems of a refused save, at their controls ----------------------------------------


@dataclass
class Problems:
    """The problems of one refused save, by JSON pointer inside the component ``key``.

    ``at("/members")`` gives the messages for that control (and anything under it);
    ``rest(prefix, controls)`` those under ``prefix`` no named control shows, so every
    problem is shown somewhere.
    """

    key: str = ""
    message: str = ""
    by_pointer: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200

    @classmethod
    def of(cls, key: str, exc: Invalid | Forbidden) -> Problems:
        found = []
        for detail in exc.details:
            if not isinstance(detail, dict):
                continue
            pointer = str(detail.get("pointer") or detail.get("field") or "")
            if pointer.startswith(key):
                pointer = pointer[len(key) :]
            elif pointer and not pointer.startswith("/"):
                pointer = "/" + pointer
            found.append((pointer, str(detail.get("message", ""))))
        return cls(key, exc.message, found, exc.status)

    def __bool__(self) -> bool:
        return bool(self.message)

    def at(self, path: str) -> list[str]:
        return [m for p, m in self.by_pointer if p == path or p.startswith(path + "/")]

    def rest(self, prefix: str, controls: Iterable[str]) -> list[str]:
        shown = [f"{prefix}/{c}" for c in controls]
        return [
            m
            for p, m in self.by_pointer
            if (p == prefix or p.startswith(prefix + "/"))
            and not any(p == s or p.startswith(s + "/") for s in shown)
        ]


def save(kind: str, key: str, definition: dict[str, Any]) -> Problems:
    """Define the component; the problems when refused (nothing is saved then)."""
    try:
        runtime().metadata.define(actor(), kind, definition)
    except (Invalid, Forbidden) as exc:
        return Problems.of(key, exc)
    return Problems()


# -- reading posted forms -----------------------------------------------------------------


def text(name: str, form=None) -> str:
    return (form or request.form).get(name, "").strip()


def posted_label(prefix: str = "label", form=None) -> dict[str, str]:
    """``{"zh-CN": …, "en": …}`` from ``<prefix>_zh`` and ``<prefix>_en`` (blanks left out,
    so the schema names what is missing)."""
    values = {"zh-CN": text(f"{prefix}_zh", form), "en": text(f"{prefix}_en", form)}
    return {k: v for k, v in values.items() if v}


def number(raw: str) -> Any:
    """A whole number as posted; anything else is passed on for the schema to refuse at its
    place, so the form has no second set of rules."""
    raw = raw.strip()
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def rows(prefix: str, form=None) -> list[dict[str, Any]]:
    """The repeated rows ``<prefix>-<n>-<name>``, in the order of ``n``; each row maps a name
    to its values (a list: multi-selects post several)."""
    form = form or request.form
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-(.+)$")
    found: dict[int, dict[str, list[str]]] = {}
    for name in form:
        m = pattern.match(name)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = form.getlist(name)
    return [found[i] for i in sorted(found)]


def first(row: dict[str, list[str]], name: str) -> str:
    values = row.get(name) or [""]
    return values[0].strip()


def proposed_name(given: str, english: str, taken: Iterable[str]) -> str:
    """The api_name typed, or one made from the English label (pinyin for Chinese)."""
    if given:
        return given
    return name_from_label(english, frozenset(taken)) if english else ""


# -- pickers from the compiled definitions ------------------------------------------------


def object_choices() -> list[tuple[str, str]]:
    objects = definitions().objects
    return sorted(
        (
            (name, f"{label(o.label)} ({name})")
            for name, o in objects.items()
            if not o.archived and not name.startswith("trellis_")
        ),
        key=lambda c: c[0],
    )


def field_choices(object_name: str, *, through_lookups: bool = False) -> list[tuple[str, str]]:
    """The object's live fields (``name``, ``label (name)``); with ``through_lookups`` also
    the fields of each looked-up object as ``lookup.field``."""
    objects = definitions().objects
    obj = objects.get(object_name)
    if obj is None:
        return []
    out = [(f.api_name, f"{label(f.label)} ({f.api_name})") for f in obj.fields if not f.archived]
    if through_lookups:
        for f in obj.fields:
            target = objects.get(f.options.get("target", "")) if f.type == "lookup" else None
            if target is None or f.archived:
                continue
            out += [
                (f"{f.api_name}.{t.api_name}", f"{label(f.label)} › {label(t.label)}")
                for t in target.fields
                if not t.archived
            ]
    return out


def role_choices() -> list[tuple[str, str]]:
    roles = definitions().roles
    return sorted(((n, f"{label(r.label)} ({n})") for n, r in roles.items()), key=lambda c: c[0])


def user_choices() -> list[tuple[str, str]]:
    query = sa.select(user_table.c.username, user_table.c.display_name).where(
        user_table.c.is_active
    )
    with runtime().engine.connect() as conn:
        found = conn.execute(query.order_by(user_table.c.username)).all()
    return [(r.username, f"{r.display_name} ({r.username})") for r in found]


def department_choices() -> list[tuple[str, str]]:
    zh = label({"zh-CN": "zh", "en": "en"}) == "zh"
    query = sa.select(
        department_table.c.api_name, department_table.c.label_zh, department_table.c.label_en
    )
    with runtime().engine.connect() as conn:
        found = conn.execute(query.order_by(department_table.c.api_name)).all()
    return [(r.api_name, f"{r.label_zh if zh else r.label_en} ({r.api_name})") for r in found]


# -- people: users, roles and department heads as three pickers ---------------------------

#: The people types the pickers edit; any other entry is kept as it is.
PICKED = ("user", "role", "department_head")


@dataclass
class PeoplePick:
    """A people list (docs/flows.md, 'People') as the pickers show it."""

    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    department_heads: list[str] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, entries: Iterable[dict[str, Any]]) -> PeoplePick:
        pick = cls()
        for e in entries or ():
            if e.get("type") == "user":
                pick.users += e.get("users", [])
            elif e.get("type") == "role" and "role" in e:
                pick.roles.append(e["role"])
            elif e.get("type") == "department_head" and set(e) == {"type", "department"}:
                pick.department_heads.append(e["department"])
            else:
                pick.others.append(e)
        return pick

    @classmethod
    def posted(cls, values: dict[str, list[str]]) -> PeoplePick:
        """The pickers' values: ``roles``, ``users``, ``department_heads`` and the kept
        ``others`` (JSON)."""
        others = (values.get("others") or [""])[0]
        return cls(
            users=[v for v in values.get("users", []) if v],
            roles=[v for v in values.get("roles", []) if v],
            department_heads=[v for v in values.get("department_heads", []) if v],
            others=json.loads(others) if others else [],
        )

    @classmethod
    def posted_as(cls, prefix: str, form=None) -> PeoplePick:
        form = form or request.form
        names = ("users", "roles", "department_heads", "others")
        return cls.posted({n: form.getlist(f"{prefix}-{n}") for n in names})

    def entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"type": "role", "role": r} for r in self.roles]
        out += [{"type": "department_head", "department": d} for d in self.department_heads]
        if self.users:
            out.append({"type": "user", "users": self.users})
        return out + self.others


def people_choices() -> dict[str, list[tuple[str, str]]]:
    return {"users": user_choices(), "roles": role_choices(), "departments": department_choices()}
