"""Message templates of notify actions: plain text with ``{field}`` placeholders.

``"商机 {opportunity_name} 停滞，客户 {account.account_name}"`` is filled from
a record's values in one pass: each placeholder becomes the value's display
text; a placeholder naming nothing known stays as written, so a typo shows in
the message instead of vanishing. Stored text is never handed to a template
engine (no Jinja, no ``str.format``): a value or a template cannot reach
attributes, call anything or expand again. ``{{`` and ``}}`` write a literal
brace.

The result is cleaned for the channels it goes to: control characters are
removed (a title keeps no line breaks) and the length is capped.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

MAX_TITLE = 300
MAX_BODY = 4000
ELLIPSIS = "…"

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")

_WORDS = {
    "zh-CN": {True: "是", False: "否"},
    "en": {True: "Yes", False: "No"},
}


def placeholders(*texts: str | None) -> set[str]:
    """The field paths the templates name (``account.account_name`` …)."""
    return {m.group(1) for text in texts if text for m in _PLACEHOLDER.finditer(text) if m.group(1)}


def render(
    template: str | None,
    values: Mapping[str, Any],
    *,
    locale: str = "zh-CN",
    zone: ZoneInfo | None = None,
    limit: int = MAX_BODY,
) -> str:
    """``template`` with its placeholders filled from ``values``, cleaned and capped.

    ``{account.grade}`` reads ``values["account"]["grade"]`` when the lookup is
    given as a nested mapping, or ``values["account.grade"]`` when flat.
    Datetimes (naive ones are UTC, as stored) show in ``zone``.
    """

    def fill(match: re.Match[str]) -> str:
        path = match.group(1)
        if path is None:  # "{{" or "}}"
            return match.group(0)[0]
        found, value = _lookup(values, path)
        return display(value, locale=locale, zone=zone) if found else match.group(0)

    return clean(_PLACEHOLDER.sub(fill, template or ""), limit=limit)


def _lookup(values: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    if path in values:
        return True, values[path]
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def display(value: Any, *, locale: str = "zh-CN", zone: ZoneInfo | None = None) -> str:
    """A value as a person reads it in a message."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _WORDS.get(locale, _WORDS["en"])[value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(zone or ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        # A looked-up record or a choice: its label or name, never its raw structure.
        for key in ("label", "name", "display_name", "display"):
            if key in value:
                return display(value[key], locale=locale, zone=zone)
        if locale in value:
            return display(value[locale], locale=locale, zone=zone)
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(display(v, locale=locale, zone=zone) for v in value)
    return str(value)


def clean(text: str, *, limit: int = MAX_BODY, single_line: bool = False) -> str:
    """``text`` without control characters, at most ``limit`` characters.

    Line breaks and tabs stay in a body; a title (``single_line``) turns them
    into spaces. Format characters (e.g. right-to-left overrides) go too.
    """
    kept = []
    for char in text.replace("\r\n", "\n"):
        if char in "\n\t":
            kept.append(" " if single_line else char)
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"):
            kept.append(char)
    result = "".join(kept)
    if single_line:
        result = " ".join(result.split())
    if len(result) > limit:
        result = result[: limit - 1] + ELLIPSIS
    return result


def title(text: str) -> str:
    """A notification title: one line, at most ``MAX_TITLE`` characters."""
    return clean(text, limit=MAX_TITLE, single_line=True)
