"""The built-in functions, gathered into the default registry."""

from __future__ import annotations

from . import fn_dates, fn_logic, fn_numbers, fn_text
from .functions import FunctionRegistry

BUILTIN_FUNCTIONS = FunctionRegistry(
    [*fn_logic.FUNCTIONS, *fn_numbers.FUNCTIONS, *fn_text.FUNCTIONS, *fn_dates.FUNCTIONS]
)
"""Every built-in function; extend it with ``BUILTIN_FUNCTIONS.extended(...)``."""
