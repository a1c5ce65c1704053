"""Field types: one class per type, kept in one registry keyed by name.

A field type knows how its values are stored (the SQLAlchemy column type),
coerced from JSON (a marshmallow field), written back to JSON, which
expression type formulas see, and which extra definition options it takes.
Adding a field type is adding one class and registering it here.
"""

from trellis.fieldtypes import choice, computed, numeric, reference, temporal, text  # noqa: F401
from trellis.fieldtypes.base import FieldType, FieldValueError
from trellis.fieldtypes.registry import FIELD_TYPES, get_field_type, register

__all__ = ["FIELD_TYPES", "FieldType", "FieldValueError", "get_field_type", "register"]
