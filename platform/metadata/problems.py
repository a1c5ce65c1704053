"""Problems found in definitions, each with its place and a sentence saying how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition.

    ``place`` is a JSON pointer inside the component (``/fields/3/type``) or
    a dotted path (``lead.amount``); ``component`` is the component key.
    """

    component: str
    place: str
    message: str

    def __str__(self) -> str:
        where = f"{self.component}{self.place}" if self.place.startswith("/") else self.place
        return f"{where}: {self.message}"

    def as_json(self) -> dict:
        return {"pointer": f"{self.component}{self.place}", "message": self.message}


class DefinitionError(ValueError):
    """Definitions were refused; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the definitions:\n{lines}")
