"""Type checking at compile time: wrong combinations, unknown names and functions, arity."""

from __future__ import annotations

import pytest

from trellis.expressions import ExpressionError, ExprType, compile_expression

TYPE_ERRORS = [
    # (source, words the message must contain, position)
    ("name * 2", "`name` is text and cannot be multiplied", 0),
    ("amount * name", "`name` is text and cannot be multiplied", 9),
    ("name * 2", "use VALUE(name) to turn text into a number", 0),
    ("name + amount", "use TEXT(amount) to turn a number into text", 0),
    ("amount - name", "cannot be subtracted", 0),
    ("close_date * 2", "use DAYS_BETWEEN, YEAR, MONTH or DAY", 0),
    ("is_won + 1", "use IF(is_won, 1, 0)", 0),
    ("close_date + close_date", "subtract two dates to get the days between them", 0),
    ("close_date - created_at", "cannot be subtracted", 0),
    ("status == 1", "cannot be compared", 0),
    ("close_date < created_at", "cannot be compared", 0),
    ("is_won > False", "have no order", 0),
    ("amount and is_won", "`amount` is a number, not true/false", 0),
    ("is_won or name", "write a condition such as `name > 0` or ISBLANK(name)", 10),
    ("1 if amount else 2", "cannot be the condition of `if`", 5),
    ("'a' if is_won else 1", "Both results of `if` must have the same type", 0),
    ("-name", "`name` is text but a number is needed", 1),
    ("not amount", "`amount` is a number but true/false is needed", 4),
    ("status in (1, 2)", "The list holds a number but the value looked up is text", 11),
    (
        "IF(amount, 1, 2)",
        "Argument 1 of IF, `amount` at character 4, needs true/false, not a number",
        3,
    ),
    ("IF(is_won, 1, 'a')", "gives text but an earlier argument gives a number", 14),
    ("LEN(amount)", "Argument 1 of LEN, `amount` at character 5, needs text", 4),
    ("ROUND(name, 2)", "call it as ROUND(number, digits)", 6),
    ("YEAR(amount)", "needs a date or a date-time", 5),
    ("MIN(1, 'a')", "gives text but an earlier argument gives a number", 7),
    ("MAX(is_won, True)", "has no order", 4),
    ("CONCAT(name, amount)", "needs text, not a number", 13),
]

NAME_ERRORS = [
    ("amout * 2", "Unknown name `amout` at character 1; did you mean `amount`?", 0),
    ("amount + probabilty", "did you mean `probability`?", 9),
    ("account.grad == 'A'", "did you mean `account.grade`?", 0),
    ("zzz", "Unknown name `zzz` at character 1; use the API name of a field of this object", 0),
    ("TODAY", "`TODAY` is a function", 0),
    ("ROUDN(amount, 2)", "Unknown function `ROUDN` at character 1; did you mean ROUND?", 0),
    ("1 + FOO(1)", "Unknown function `FOO` at character 5", 4),
    ("ROUND(amount)", "ROUND takes 2 arguments, as in ROUND(number, digits), but got 1", 0),
    ("ROUND(amount, 1, 2)", "ROUND takes 2 arguments", 0),
    ("TODAY(1)", "TODAY takes 0 arguments", 0),
    ("NOT()", "NOT takes 1 argument, as in NOT(condition), but got 0", 0),
    ("AND()", "AND takes at least 1 argument, as in AND(condition, ...), but got 0", 0),
]


@pytest.mark.parametrize(
    ("source", "fragment", "position"),
    TYPE_ERRORS + NAME_ERRORS,
    ids=[case[0] for case in TYPE_ERRORS + NAME_ERRORS],
)
def test_is_refused_with_a_hint(names, source, fragment, position):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, names)
    assert fragment in caught.value.message
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("amount > 0", ExprType.BOOLEAN),
        ("amount", ExprType.NUMBER),
        ("None", ExprType.NUMBER),
        ("anything", ExprType.BOOLEAN),
        ("IF(is_won, 'a', None)", ExprType.TEXT),
        ("TODAY()", ExprType.DATE),
        ("name", ExprType.ANY),
    ],
)
def test_expected_type_that_fits(names, source, expected):
    compile_expression(source, names, expected=expected)


@pytest.mark.parametrize(
    ("source", "expected", "fragment"),
    [
        (
            "amount",
            ExprType.BOOLEAN,
            "gives a number, but true/false is needed here; write a condition",
        ),
        ("name", ExprType.NUMBER, "gives text, but a number is needed here; use VALUE"),
        ("amount", ExprType.TEXT, "use TEXT(...)"),
        ("TODAY()", ExprType.DATETIME, "gives a date, but a date-time is needed"),
    ],
)
def test_expected_type_that_does_not_fit(names, source, expected, fragment):
    with pytest.raises(ExpressionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        compile_expression(source, names, expected=expected)


def test_names_must_be_typed(names):
    with pytest.raises(TypeError, match="ExprType"):
        compile_expression("amount", {"amount": "number"})  # type: ignore[dict-item]


def test_function_names_ignore_case(names, values, now):
    assert compile_expression("len(name) + Len(name)", names).evaluate(values, now=now) == 16
