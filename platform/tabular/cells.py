"""Cell text on the way in and out.

Out: a spreadsheet runs a cell that starts with ``= + - @`` as a formula
(CSV injection: ``=cmd|' /C calc'!A0``), also after leading spaces or
control characters (`` +1``, ``\\t@SUM(1)``). Such text is *neutralised*
with a leading single quote, which Excel and WPS show as text. Numbers
written as numbers are not text and are left alone (see ``docs/imports.md``).

In: the quote an export added is taken off again, so exporting, editing
and importing a file does not grow a quote on every round trip.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

_TRIGGERS = frozenset("=+-@")


def _lead_stripped(text: str) -> str:
    """``text`` without its leading whitespace and control characters."""
    for i, char in enumerate(text):
        if not (char.isspace() or unicodedata.category(char) == "Cc"):
            return text[i:]
    return ""


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    rest = _lead_stripped(text)
    return bool(rest) and rest[0] in _TRIGGERS


def neutralise(text: str) -> str:
    """``text``, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    return "'" + text if is_dangerous(text) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` on an imported cell."""
    if text.startswith("'") and is_dangerous(text[1:]):
        return text[1:]
    return text


def cell_text(value: object) -> str:
    """A cell read from a file (CSV text, or a typed .xlsx value) as import text.

    Whole numbers lose Excel's ``.0`` (a mobile number typed into a number cell
    reads 13812345678, not 13812345678.0); dates and times become ISO text,
    which the date fields read.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return unneutralise(str(value).strip())
