"""What expressions evaluate to: numbers, money, blanks, text, dates and every function."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trellis.expressions import BUILTIN_FUNCTIONS, ExpressionError, ExprType, compile_expression

UTC = dt.UTC
D = Decimal

ARITHMETIC = [
    ("amount * probability / 100", D("50000.2")),
    ("quantity * 2", 6),
    ("quantity + 0.5", D("3.5")),
    ("quantity / 2", D("1.5")),
    ("10 / 4", D("2.5")),
    ("quantity / 3", D(1)),
    ("0.1 + 0.2", D("0.3")),
    ("0.1 + 0.2 == 0.3", True),
    ("amount / 0", None),
    ("amount / (quantity - 3)", None),
    ("amount % 0", None),
    ("-7 % 3", 2),
    ("7 % -3", -2),
    ("-7.5 % 2", D("0.5")),
    ("2 ** 10", 1024),
    ("2 ** -2", D("0.25")),
    ("0 ** -1", None),
    ("(-8) ** 0.5", None),
    ("-quantity", -3),
    ("+quantity", 3),
    ("anything * 2", 14),
    ("anything + 1", 8),
]

BLANKS = [
    ("amount + discount", None),
    ("discount * 2", None),
    ("discount / 2", None),
    ("-discount", None),
    ("discount > 0", False),
    ("discount < 0", False),
    ("discount <= None", False),
    ("discount == None", True),
    ("discount != None", False),
    ("amount == None", False),
    ("amount != None", True),
    ("name + notes", "Acme Ltd"),
    ("notes + notes", ""),
    ("not is_vip", True),
    ("is_vip or is_won", False),
    ("discount in (None, 1)", True),
    ("'yes' if is_vip else 'no'", "no"),
]

LOGIC_AND_TEXT = [
    ("status == 'new' and amount >= 100000", True),
    ("status == 'new' and amount >= 200000", False),
    ("status == 'won' or account.grade == 'A'", True),
    ("status in ('new', 'open')", True),
    ("status not in ('new',)", False),
    ("quantity in (1, 3.0)", True),
    ("1 < quantity < 5", True),
    ("1 < quantity < 2", False),
    ("'big' if amount > 100000 else 'small'", "big"),
    ("name + ' (' + status + ')'", "Acme Ltd (new)"),
    ("name < 'Beta'", True),
    ("not is_won", True),
    ("is_won or is_vip or status == 'new'", True),
    ("status == 'new' and amount > 0 and quantity == 4", False),
    ("account.grade == 'A'", True),
]

DATES = [
    ("close_date + 30", dt.date(2024, 3, 31)),
    ("close_date - 1", dt.date(2024, 2, 29)),
    ("30 + close_date", dt.date(2024, 3, 31)),
    ("TODAY() - close_date", 14),
    ("close_date - TODAY()", -14),
    ("close_date < TODAY()", True),
    ("TODAY()", dt.date(2024, 3, 15)),
    ("NOW()", dt.datetime(2024, 3, 15, 10, 30, tzinfo=UTC)),
    ("ROUND(NOW() - created_at, 4)", D("14.1042")),
    ("created_at + 0.5", dt.datetime(2024, 3, 1, 20, 0, tzinfo=UTC)),
    ("created_at - 1", dt.datetime(2024, 2, 29, 8, 0, tzinfo=UTC)),
]

FUNCTIONS = [
    ("IF(is_won, 1, 0)", 0),
    ("IF(amount > 0, 'yes', None)", "yes"),
    ("IF(True, 1, 1 / 0)", 1),
    ("AND(True, status == 'new')", True),
    ("AND(True, is_won)", False),
    ("OR(False, is_won, True)", True),
    ("OR(is_vip)", False),
    ("NOT(is_won)", True),
    ("ISBLANK(notes)", True),
    ("ISBLANK('')", True),
    ("ISBLANK(0)", False),
    ("ISBLANK(name)", False),
    ("BLANKVALUE(discount, 0)", 0),
    ("BLANKVALUE(status, 'none')", "new"),
    ("ROUND(2.5, 0)", 3),
    ("ROUND(-2.5, 0)", -3),
    ("ROUND(1.005, 2)", D("1.01")),
    ("ROUND(amount, -3)", 125000),
    ("ROUND(amount / 3, 2)", D("41666.83")),
    ("round(2.5, 0)", 3),
    ("ABS(-3.5)", D("3.5")),
    ("ABS(discount)", None),
    ("MIN(3, discount, 1)", 1),
    ("MAX(close_date, TODAY())", dt.date(2024, 3, 15)),
    ("MAX('apple', 'pear')", "pear"),
    ("MIN(discount)", None),
    ("LEN(name)", 8),
    ("LEN(notes)", 0),
    ("UPPER(name)", "ACME LTD"),
    ("LOWER(name)", "acme ltd"),
    ("UPPER(notes)", None),
    ("TRIM('  x y  ')", "x y"),
    ("CONCAT(name, '-', status, notes)", "Acme Ltd-new"),
    ("TEXT(amount)", "125000.50"),
    ("TEXT(quantity)", "3"),
    ("TEXT(close_date)", "2024-03-01"),
    ("TEXT(is_won)", "false"),
    ("TEXT(discount)", None),
    ("'Total: ' + TEXT(amount)", "Total: 125000.50"),
    ("VALUE('1,234.5')", D("1234.5")),
    ("VALUE(' 42 ')", 42),
    ("VALUE('abc')", None),
    ("VALUE('1e5')", None),
    ("CONTAINS(name, 'acme')", True),
    ("CONTAINS(name, 'x')", False),
    ("CONTAINS(notes, 'a')", False),
    ("STARTSWITH(name, 'AC')", True),
    ("STARTSWITH(name, 'Ltd')", False),
    ("DATE(2024, 2, 29)", dt.date(2024, 2, 29)),
    ("YEAR(close_date)", 2024),
    ("MONTH(close_date)", 3),
    ("DAY(created_at)", 1),
    ("YEAR(None)", None),
    ("ADDDAYS(close_date, 10)", dt.date(2024, 3, 11)),
    ("ADDDAYS(TODAY(), -30)", dt.date(2024, 2, 14)),
    ("ADDMONTHS(DATE(2024, 1, 31), 1)", dt.date(2024, 2, 29)),
    ("ADDMONTHS(close_date, -13)", dt.date(2023, 2, 1)),
    ("ADDMONTHS(created_at, 1)", dt.datetime(2024, 4, 1, 8, 0, tzinfo=UTC)),
    ("DAYS_BETWEEN(close_date, TODAY())", 14),
    ("DAYS_BETWEEN(TODAY(), close_date)", -14),
    ("DAYS_BETWEEN(created_at, NOW())", 14),
    ("DAYS_BETWEEN(None, NOW())", None),
]

CASES = ARITHMETIC + BLANKS + LOGIC_AND_TEXT + DATES + FUNCTIONS


@pytest.mark.parametrize(("source", "expected"), CASES, ids=[case[0] for case in CASES])
def test_evaluates_to(evaluate, source, expected):
    result = evaluate(source)
    assert result == expected
    # Money stays Decimal and counts stay int: 3 and Decimal("3") are not interchangeable here.
    assert type(result) is type(expected)


@pytest.mark.parametrize("function", sorted(BUILTIN_FUNCTIONS))
def test_every_builtin_function_has_evaluation_cases(function):
    assert any(
        source.upper().startswith(function + "(")
        or f" {function}(" in source.upper()
        or f"({function}(" in source.upper()
        for source, _ in CASES
    ), function


def test_money_is_never_float(evaluate):
    assert evaluate("amount * 1.1") == D("137500.550")
    assert isinstance(evaluate("amount / 3"), Decimal)


def test_float_values_are_read_as_decimal(evaluate):
    assert evaluate("amount + 0.2", amount=0.1) == D("0.3")
    assert evaluate("amount * quantity", amount=0.1, quantity=3.0) == D("0.30")
    assert evaluate("amount / 3", amount=1.5) == D("0.5")
    assert evaluate("amount == 0.1", amount=0.1) is True
    assert evaluate("amount in (0.1, 2)", amount=0.1) is True


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_float_values_that_are_not_numbers_are_refused(evaluate, bad):
    with pytest.raises(ExpressionError, match="`amount`"):
        evaluate("amount + 1", amount=bad)


def test_today_and_now_follow_the_given_time_not_the_clock(names, values):
    expr = compile_expression("TODAY() - close_date", names)
    later = dt.datetime(2030, 1, 1, tzinfo=UTC)
    assert expr.evaluate(values, now=later) == (dt.date(2030, 1, 1) - dt.date(2024, 3, 1)).days


def test_today_is_the_date_in_the_time_zone_of_now(names, values):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    late_utc = dt.datetime(2024, 3, 15, 20, 0, tzinfo=UTC)
    expr = compile_expression("TODAY()", names)
    assert expr.evaluate(values, now=late_utc.astimezone(shanghai)) == dt.date(2024, 3, 16)


def test_naive_now_is_refused_where_the_time_is_read(names, values):
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_expression("TODAY()", names).evaluate(values, now=dt.datetime(2024, 3, 15))


@pytest.mark.parametrize(
    ("source", "result_type", "dependencies"),
    [
        ("amount * probability / 100", ExprType.NUMBER, {"amount", "probability"}),
        ("LEN(account.grade) > 0", ExprType.BOOLEAN, {"account.grade"}),
        ("IF(is_won, close_date, None)", ExprType.DATE, {"is_won", "close_date"}),
        ("TODAY()", ExprType.DATE, set()),
        ("None", ExprType.NULL, set()),
        ("anything", ExprType.ANY, {"anything"}),
        ("anything * 2", ExprType.NUMBER, {"anything"}),
        ("anything + 1", ExprType.ANY, {"anything"}),
    ],
)
def test_result_type_and_dependencies(names, source, result_type, dependencies):
    expr = compile_expression(source, names)
    assert expr.result_type is result_type
    assert expr.dependencies == frozenset(dependencies)


def test_a_compiled_expression_is_reused_for_many_records(names, values, now):
    expr = compile_expression("amount * probability / 100", names)
    results = [expr.evaluate({**values, "probability": p}, now=now) for p in (0, 50, 100)]
    assert results == [D("0"), D("62500.25"), D("125000.50")]


def test_missing_value_is_an_error_naming_it(names, now):
    expr = compile_expression("amount * 2", names)
    with pytest.raises(ExpressionError, match="No value was given for `amount`"):
        expr.evaluate({}, now=now)


@pytest.mark.parametrize(
    ("source", "overrides", "fragment", "position"),
    [
        ("close_date + quantity", {"quantity": D("0.5")}, "whole days", 0),
        ("DATE(quantity, 2, 30)", {"quantity": 2024}, "not a valid date", 0),
        ("ADDDAYS(close_date, quantity)", {"quantity": 10**7}, "years 1 to 9999", 0),
        ("1 + quantity ** probability", {"probability": 1000}, "exponent", 4),
        ("quantity ** 50", {"quantity": 10**17}, "digits", 0),
        ("ROUND(amount, quantity)", {"quantity": 40}, "at most 18", 0),
        ("anything + 'x'", {}, "cannot be added", 0),
        ("anything < 'x'", {}, "cannot be compared", 0),
    ],
)
def test_runtime_errors_say_where(evaluate, source, overrides, fragment, position):
    with pytest.raises(ExpressionError, match=fragment) as caught:
        evaluate(source, **overrides)
    assert caught.value.position == position
    assert caught.value.source == source


@pytest.mark.parametrize(
    "source", ["name + name", "CONCAT(name, name)", "UPPER(name + name)", "TEXT(anything)"]
)
def test_text_results_over_the_limit_raise(evaluate, source):
    with pytest.raises(ExpressionError, match="limit is 10000"):
        evaluate(source, name="x" * 6000, anything="x" * 12000)


def test_values_are_used_as_primitives_only(evaluate):
    touched = []

    class Sneaky:
        def __add__(self, other):
            touched.append("add")
            return 1

        def __eq__(self, other):
            touched.append("eq")
            return True

        __hash__ = object.__hash__

    with pytest.raises(ExpressionError):
        evaluate("anything + 1", anything=Sneaky())
    assert touched == []
