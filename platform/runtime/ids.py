"""Ids from paths and payloads: one rule for every endpoint and service."""

from __future__ import annotations

from typing import Any

from trellis.runtime.errors import NotFound


def parse_id(value: Any, what: str = "record id") -> int:
    """``value`` as a database id; NotFound (never a 500) for anything that cannot be one.

    Answering 404 rather than 400 keeps "not an id" and "no such record" alike.
    """
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"{str(value)[:40]!r} is not a {what}") from None
    if not 0 < number < 2**63:
        raise NotFound(f"{number} is not a {what}")
    return number
