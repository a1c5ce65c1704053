"""The function registry: every function a formula may call, keyed by upper-case name.

Adding a function is adding one ``Function`` to a registry. A registry refuses a
second function with the same name, so a clash shows up at start-up and not as
a formula that silently changed meaning.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .types import FLEXIBLE, ExprType

if TYPE_CHECKING:
    from .sqlterms import SqlTerm

Getter = Callable[[Mapping[str, Any], datetime | None], Any]
"""A compiled piece of an expression: ``getter(values, now) -> value``."""

Param = ExprType | frozenset[ExprType]


class ArgumentMismatch(Exception):
    """Raised by a ``returns`` callable: argument ``index`` does not fit."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class Function:
    """One function of the expression language.

    Attributes:
        name: Upper-case name, e.g. ``"ROUND"``.
        signature: How to call it, for messages, e.g. ``"ROUND(number, digits)"``.
        params: Accepted types of each positional parameter (ANY accepts all).
        returns: The result type, or a callable computing it from the argument
            types that raises ArgumentMismatch when they do not fit together.
        impl: ``impl(*values)``, called with evaluated arguments; raises
            OperationError when the arguments have no result.
        build: Instead of ``impl``: builds the getter from the argument getters,
            for functions that evaluate arguments lazily or read ``now``.
        sql: Builds the SQLAlchemy expression for list filters, or None when the
            function has no SQL form.
        variadic: The last parameter may repeat (at least once).
        pure: False when the result depends on the evaluation time (TODAY, NOW).
        can_fail: False when ``impl`` never raises OperationError; the evaluator then
            skips the frame that turns such errors into positioned ExpressionErrors.
        grows_text: False when a text result is never longer than the longest text
            argument (BLANKVALUE, TRIM); the evaluator then skips the length check.
    """

    name: str
    signature: str
    params: tuple[Param, ...]
    returns: ExprType | Callable[[Sequence[ExprType]], ExprType]
    impl: Callable[..., Any] | None = None
    build: Callable[[Sequence[Getter]], Getter] | None = None
    sql: Callable[[Sequence[SqlTerm]], Any] | None = None
    variadic: bool = False
    pure: bool = True
    can_fail: bool = True
    grows_text: bool = True

    def __post_init__(self) -> None:
        if self.name != self.name.upper() or not self.name.isidentifier():
            raise ValueError(f"function name {self.name!r} must be an upper-case identifier")
        if (self.impl is None) == (self.build is None):
            raise ValueError(f"function {self.name} needs exactly one of impl and build")

    def arity_problem(self, count: int) -> str | None:
        """Why ``count`` arguments are wrong, or None when they are right."""
        needed = len(self.params)
        if self.variadic and count >= needed:
            return None
        if count == needed:
            return None
        expected = f"at least {needed}" if self.variadic else str(needed)
        noun = "argument" if needed == 1 else "arguments"
        return f"{self.name} takes {expected} {noun}, as in {self.signature}, but got {count}"

    def result_type(self, args: Sequence[ExprType]) -> ExprType:
        """The result type for these argument types; raises ArgumentMismatch."""
        for index, actual in enumerate(args):
            param = self.params[min(index, len(self.params) - 1)]
            if not _accepts(param, actual):
                raise ArgumentMismatch(index, f"needs {_describe(param)}, not {actual.phrase}")
        return self.returns if isinstance(self.returns, ExprType) else self.returns(args)


def _accepts(param: Param, actual: ExprType) -> bool:
    if isinstance(param, ExprType):
        param = frozenset({param})
    return ExprType.ANY in param or actual in FLEXIBLE or actual in param


def _describe(param: Param) -> str:
    if isinstance(param, ExprType):
        return param.phrase
    return " or ".join(sorted(kind.phrase for kind in param))


class FunctionRegistry(Mapping[str, Function]):
    """Functions by upper-case name; registering a name twice raises."""

    def __init__(self, functions: Iterable[Function] = ()):
        self._functions: dict[str, Function] = {}
        for function in functions:
            self.register(function)

    def register(self, function: Function) -> Function:
        """Add ``function``; raises ValueError when its name is taken."""
        if function.name in self._functions:
            raise ValueError(
                f"A function named {function.name} is already registered; "
                "give the new function another name or build a separate FunctionRegistry."
            )
        self._functions[function.name] = function
        return function

    def extended(self, *functions: Function) -> FunctionRegistry:
        """A new registry with these functions added to this one's."""
        return FunctionRegistry([*self._functions.values(), *functions])

    def suggest(self, name: str) -> str | None:
        """The registered name closest to ``name``, if any is close."""
        matches = difflib.get_close_matches(name.upper(), self._functions, n=1)
        return matches[0] if matches else None

    def __getitem__(self, name: str) -> Function:
        return self._functions[name.upper()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)
