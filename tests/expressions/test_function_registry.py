"""The function registry: keyed by upper-case name, loud on duplicates, extensible."""

from __future__ import annotations

import pytest

from trellis.expressions import (
    BUILTIN_FUNCTIONS,
    ExpressionError,
    ExprType,
    Function,
    FunctionRegistry,
    compile_expression,
)

EXPECTED_BUILTINS = {
    "IF",
    "AND",
    "OR",
    "NOT",
    "ISBLANK",
    "BLANKVALUE",
    "ROUND",
    "ABS",
    "MIN",
    "MAX",
    "LEN",
    "UPPER",
    "LOWER",
    "TRIM",
    "CONCAT",
    "TEXT",
    "VALUE",
    "CONTAINS",
    "STARTSWITH",
    "TODAY",
    "NOW",
    "DATE",
    "YEAR",
    "MONTH",
    "DAY",
    "ADDDAYS",
    "ADDMONTHS",
    "DAYS_BETWEEN",
}


def _double() -> Function:
    return Function(
        "DOUBLE",
        "DOUBLE(number)",
        (ExprType.NUMBER,),
        ExprType.NUMBER,
        impl=lambda x: None if x is None else x * 2,
    )


def test_builtins_are_the_documented_set():
    assert set(BUILTIN_FUNCTIONS) == EXPECTED_BUILTINS


@pytest.mark.parametrize("name", sorted(EXPECTED_BUILTINS))
def test_builtin_signature_names_the_function(name):
    function = BUILTIN_FUNCTIONS[name]
    assert function.name == name
    assert function.signature.startswith(name + "(")


def test_lookup_ignores_case():
    assert BUILTIN_FUNCTIONS["round"] is BUILTIN_FUNCTIONS["ROUND"]


def test_registering_a_name_twice_is_loud():
    registry = FunctionRegistry([_double()])
    with pytest.raises(ValueError, match="DOUBLE is already registered"):
        registry.register(_double())
    with pytest.raises(ValueError, match="ROUND is already registered"):
        BUILTIN_FUNCTIONS.extended(
            Function("ROUND", "ROUND(x)", (ExprType.NUMBER,), ExprType.NUMBER, impl=round)
        )


def test_extended_registry_leaves_the_builtins_alone(names, values, now):
    functions = BUILTIN_FUNCTIONS.extended(_double())
    expr = compile_expression("DOUBLE(quantity) + 1", names, functions=functions)
    assert expr.evaluate(values, now=now) == 7
    assert "DOUBLE" not in BUILTIN_FUNCTIONS
    with pytest.raises(ExpressionError, match="Unknown function `DOUBLE`"):
        compile_expression("DOUBLE(quantity)", names)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "double"}, "upper-case identifier"),
        ({"name": "DOUBLE-IT"}, "upper-case identifier"),
        ({"impl": None}, "exactly one of impl and build"),
        ({"build": lambda args: args[0]}, "exactly one of impl and build"),
    ],
)
def test_malformed_functions_are_refused(kwargs, fragment):
    arguments = {
        "name": "DOUBLE",
        "signature": "DOUBLE(number)",
        "params": (ExprType.NUMBER,),
        "returns": ExprType.NUMBER,
        "impl": lambda x: x,
        **kwargs,
    }
    with pytest.raises(ValueError, match=fragment):
        Function(**arguments)


@pytest.mark.parametrize(("pure", "expected"), [(True, [1, 1, 1]), (False, [2, 3, 4])])
def test_only_pure_functions_of_constants_are_computed_at_compile_time(
    names, values, now, pure, expected
):
    calls: list[int] = []

    def stamp() -> int:
        calls.append(1)
        return len(calls)

    function = Function("STAMP", "STAMP()", (), ExprType.NUMBER, impl=stamp, pure=pure)
    expr = compile_expression("STAMP()", names, functions=BUILTIN_FUNCTIONS.extended(function))
    if not pure:  # an impure function (like TODAY) runs on every evaluation, never on compile
        assert calls == []
        calls.append(0)
    assert [expr.evaluate(values, now=now) for _ in range(3)] == expected
