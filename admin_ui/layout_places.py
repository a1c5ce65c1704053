"""Where the problems of a refused layout belong in the designer.

The metadata API names each problem by JSON pointer inside the component
(``layout:lead.standard/sections/1/fields/3``). The designer shows a problem at the most
precise control it draws for that pointer: a field of a section, a section, a related
list, a button, the label, the record types or the roles. What no control claims (another
component's problem, the layout as a whole) is listed at the top, so every problem shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _

from trellis.admin_ui.layout_model import entry_spec
from trellis.runtime.errors import TrellisError


@dataclass
class Places:
    by_place: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, key: str, exc: TrellisError, draft: dict) -> Places:
        places = cls()
        controls = _controls(draft)
        for problem in exc.details:
            if not isinstance(problem, dict):
                continue
            pointer = str(problem.get("pointer") or "")
            text = str(problem.get("message") or "")
            place = _place(pointer[len(key) :], controls) if pointer.startswith(key) else None
            if place is None:
                places.general.append(f"{pointer}: {text}" if pointer else text)
            else:
                places.by_place.setdefault(place, []).append(text)
        if not exc.details:
            places.general.append(exc.message)
        return places

    def at(self, place: str) -> list[str]:
        return self.by_place.get(place, [])

    def any(self) -> bool:
        return bool(self.by_place or self.general)


def _controls(draft: dict) -> set[str]:
    out = {"/label", "/record_types", "/roles", "/buttons", "/related_lists"}
    sections = draft.get("sections") if isinstance(draft.get("sections"), list) else []
    for s, sec in enumerate(sections):
        out.add(f"/sections/{s}")
        entries = sec.get("fields", []) if isinstance(sec, dict) else []
        out.update(f"/sections/{s}/fields/{i}" for i in range(len(entries or [])))
    related = draft.get("related_lists") if isinstance(draft.get("related_lists"), list) else []
    out.update(f"/related_lists/{r}" for r in range(len(related)))
    return out


def _place(path: str, controls: set[str]) -> str | None:
    """The longest control pointer that ``path`` is, or is inside of."""
    parts = path.split("/")
    for end in range(len(parts), 1, -1):
        candidate = "/".join(parts[:end])
        if candidate in controls:
            return candidate
    return None


def duplicate_problems(key: str, draft: dict, current: dict | None) -> list[dict]:
    """Fields the draft places twice, at each later place (a field shows once on a page).

    A shipped layout may repeat a field on purpose (a summary card); a repeat the layout
    already had is left alone, so opening and saving such a layout is not refused.
    """
    had = Counter(_names(current or {}))
    seen: Counter = Counter()
    problems = []
    for s, sec in enumerate(draft.get("sections") or []):
        if not isinstance(sec, dict) or not isinstance(sec.get("fields"), list):
            continue
        for i, entry in enumerate(sec["fields"]):
            name = entry_spec(entry).get("field") if isinstance(entry, dict | str) else None
            if not isinstance(name, str):
                continue
            seen[name] += 1
            if seen[name] > max(1, had[name]):
                problems.append(
                    {
                        "pointer": f"layout:{key}/sections/{s}/fields/{i}",
                        "message": _(
                            "%(name)s is already placed on this layout; a field shows once",
                            name=repr(name),
                        ),
                    }
                )
    return problems


def _names(definition: dict) -> list[str]:
    out = []
    for sec in definition.get("sections") or []:
        for entry in sec.get("fields", []) if isinstance(sec, dict) else []:
            name = entry_spec(entry).get("field") if isinstance(entry, dict | str) else None
            if isinstance(name, str):
                out.append(name)
    return out
