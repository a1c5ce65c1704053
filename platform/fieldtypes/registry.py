"""The registry of field types, filled at import time and loud on duplicates."""

from __future__ import annotations

from trellis.fieldtypes.base import FieldType

FIELD_TYPES: dict[str, FieldType] = {}


def register(cls: type[FieldType]) -> type[FieldType]:
    """Class decorator: add one field type to the registry under ``cls.name``."""
    if cls.name in FIELD_TYPES:
        raise RuntimeError(
            f"field type {cls.name!r} is registered twice ({FIELD_TYPES[cls.name]!r} and {cls!r}); "
            "give the new class another name"
        )
    FIELD_TYPES[cls.name] = cls()
    return cls


def get_field_type(name: str) -> FieldType:
    """Return the field type called ``name``; KeyError lists the known names."""
    try:
        return FIELD_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown field type {name!r}; known types: {', '.join(sorted(FIELD_TYPES))}"
        ) from None
