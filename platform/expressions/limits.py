"""Limits that keep hostile or careless expressions cheap to compile and evaluate."""

from __future__ import annotations

from dataclasses import dataclass

import simpleeval

_DEPTH_CEILING = 100


@dataclass(frozen=True)
class Limits:
    """Bounds applied by one compile call and the evaluator it builds.

    Limits travel with each compiled expression instead of living in module
    globals, so a stricter set (e.g. for API filters) never affects formulas.

    Attributes:
        max_depth: Deepest nesting of expression nodes.
        max_nodes: Most expression nodes in one expression.
        max_int_literal: Largest absolute value of a number literal.
        max_text_literal: Longest string literal, in characters.
        max_exponent: Largest absolute exponent for ``**``.
        max_number_digits: Most digits (before the point) a ``**`` result may have.
        max_text_result: Longest text an operation may produce, in characters.
    """

    max_depth: int = 32
    max_nodes: int = 1000
    max_int_literal: int = 10**18
    max_text_literal: int = 1000
    max_exponent: int = 100
    max_number_digits: int = 100
    max_text_result: int = 10_000

    def __post_init__(self) -> None:
        # The compile passes recurse once per nesting level; keep far from Python's limit.
        if not 1 <= self.max_depth <= _DEPTH_CEILING:
            raise ValueError(f"max_depth must be between 1 and {_DEPTH_CEILING}")
        # simpleeval's own ceilings are the outer bound of what is considered safe.
        if self.max_exponent > simpleeval.MAX_POWER:
            raise ValueError(
                f"max_exponent may be at most simpleeval.MAX_POWER ({simpleeval.MAX_POWER})"
            )
        if self.max_text_result > simpleeval.MAX_STRING_LENGTH:
            raise ValueError(
                f"max_text_result may be at most simpleeval.MAX_STRING_LENGTH "
                f"({simpleeval.MAX_STRING_LENGTH})"
            )


DEFAULT_LIMITS = Limits()
