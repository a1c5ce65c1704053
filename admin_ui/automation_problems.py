"""A refused automation's problems, sorted to the places of the designer they point at.

The metadata API answers a refusal with ``details``: ``{"pointer": "automation:lead.x/
actions/1/values/title", "message": ...}``. The designer shows ``/actions/1/…`` on the second
action's card, ``/trigger/…`` at the trigger, ``/condition`` under the condition, and the
rest (another component, the whole definition) at the top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trellis.runtime.errors import Forbidden, Invalid

#: Places with a box of their own in the designer (the first part of the pointer).
PLACES = ("label", "api_name", "order", "description", "trigger", "condition", "actions")


@dataclass
class Problems:
    message: str = ""
    #: (place, rest of the pointer, message); place "" is the top of the page
    found: list[tuple[str, str, str]] = field(default_factory=list)

    @classmethod
    def single(cls, pointer: str, message: str) -> Problems:
        return cls(message, [_placed(pointer, message)])

    @classmethod
    def of(cls, key: str, exc: Invalid | Forbidden) -> Problems:
        found = []
        for detail in exc.details or []:
            if not isinstance(detail, dict):
                continue
            pointer, message = str(detail.get("pointer", "")), str(detail.get("message", ""))
            if pointer.startswith(key + "/") or pointer == key:
                found.append(_placed(pointer[len(key) :], message))
            else:
                found.append(("", pointer, message))
        if not found:
            found.append(("", "", exc.message))
        return cls(exc.message, found)

    def __bool__(self) -> bool:
        return bool(self.found)

    def at(self, place: str) -> list[tuple[str, str]]:
        """(where inside the place, message) of one place: "trigger", "actions/1" …"""
        return [(rest, message) for p, rest, message in self.found if p == place]

    def action(self, index: int) -> list[tuple[str, str]]:
        return self.at(f"actions/{index}")


def _placed(pointer: str, message: str) -> tuple[str, str, str]:
    parts = pointer.strip("/").split("/")
    head = parts[0] if parts else ""
    if head == "actions" and len(parts) > 1 and parts[1].isdigit():
        return f"actions/{parts[1]}", "/".join(parts[2:]), message
    if head in PLACES:
        return head, "/".join(parts[1:]), message
    return "", pointer, message
