"""List filters compiled to SQLAlchemy Core and run against real tables.

Each filter runs on in-memory SQLite and on PostgreSQL (the suite's throwaway cluster), and
each answer is also checked against the evaluator, so a filter and a formula never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from trellis.expressions import (
    BUILTIN_FUNCTIONS,
    ExpressionError,
    ExprType,
    Function,
    compile_expression,
    to_sql,
)

UTC = dt.UTC
NOW = dt.datetime(2024, 3, 15, 10, 30, tzinfo=UTC)

metadata = sa.MetaData()
opportunity = sa.Table(
    "opportunity",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(60)),
    sa.Column("status", sa.String(20)),
    sa.Column("amount", sa.Numeric(18, 2)),
    sa.Column("probability", sa.Integer),
    sa.Column("close_date", sa.Date),
    sa.Column("seen_at", sa.DateTime(timezone=True)),
    sa.Column("is_won", sa.Boolean),
    sa.Column("account_grade", sa.String(1)),
)

ROWS = [
    {
        "id": 1,
        "name": "Acme 50% off",
        "status": "new",
        "amount": Decimal("150000.00"),
        "probability": 40,
        "close_date": dt.date(2024, 3, 1),
        "is_won": True,
        "seen_at": dt.datetime(2024, 3, 15, 9, 0, tzinfo=UTC),
        "account_grade": "A",
    },
    {
        "id": 2,
        "name": "Beta_x",
        "status": "won",
        "amount": Decimal("90000.00"),
        "probability": 100,
        "close_date": dt.date(2024, 4, 20),
        "is_won": False,
        "seen_at": dt.datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        "account_grade": "B",
    },
    {
        "id": 3,
        "name": "x' OR '1'='1",
        "status": None,
        "amount": None,
        "probability": None,
        "close_date": None,
        "is_won": None,
        "seen_at": None,
        "account_grade": None,
    },
    {
        "id": 4,
        "name": "Gamma 50X off",
        "status": "new",
        "amount": Decimal("100000.00"),
        "probability": 0,
        "close_date": dt.date(2024, 3, 20),
        "is_won": False,
        "seen_at": dt.datetime(2024, 3, 15, 11, 0, tzinfo=UTC),
        "account_grade": "C",
    },
]

NAMES = {
    "name": ExprType.TEXT,
    "status": ExprType.TEXT,
    "amount": ExprType.NUMBER,
    "probability": ExprType.NUMBER,
    "close_date": ExprType.DATE,
    "seen_at": ExprType.DATETIME,
    "is_won": ExprType.BOOLEAN,
    "account.grade": ExprType.TEXT,
}
COLUMNS = {
    **{name: opportunity.c[name] for name in NAMES if name in opportunity.c},
    "account.grade": opportunity.c.account_grade,
}

FILTERS = [
    ("status == 'new' and amount >= 100000", [1, 4]),
    ("amount >= 100000.005", [1]),
    ("status != 'new'", [2, 3]),
    ("status == None", [3]),
    ("status != None", [1, 2, 4]),
    ("None == status", [3]),
    ("100000 < amount", [1]),
    ("not (amount > 100000)", [2, 3, 4]),
    ("status in ('won', 'lost')", [2]),
    ("status in ('won', None)", [2, 3]),
    ("status not in ('new',)", [2, 3]),
    ("status in ()", []),
    ("probability in (40, 0.0)", [1, 4]),
    ("0 < probability < 50", [1]),
    ("close_date < TODAY() + 10", [1, 4]),
    ("close_date >= ADDDAYS(TODAY(), -30)", [1, 2, 4]),
    ("close_date == DATE(2024, 3, 20)", [4]),
    ("seen_at < NOW()", [1, 2]),
    ("seen_at >= NOW() - 1", [1, 4]),
    ("amount / probability > 1000", [1]),
    ("amount / 0 == None", [1, 2, 3, 4]),
    ("amount * probability / 100 > 40000", [1, 2]),
    ("probability / 3 > 13", [1, 2]),
    ("-amount < -95000", [1, 4]),
    ("amount == probability", [3]),  # both blank: equal, as in the evaluator
    ("amount != probability", [1, 2, 4]),
    ("is_won", [1]),
    ("not is_won", [2, 3, 4]),
    ("is_won == False", [2, 4]),
    ("not (is_won == True)", [2, 3, 4]),
    ("account.grade == 'A'", [1]),
    ("IF(is_won, amount, 0) > 1", [1]),
    ("IF(is_won, 'y', 'n') == 'n'", [2, 3, 4]),
    ("AND(not is_won, amount >= 100000)", [4]),
    ("OR(is_won, amount > 140000)", [1]),
    ("NOT(status == 'new')", [2, 3]),
    ("ISBLANK(status)", [3]),
    ("BLANKVALUE(status, 'none') == 'none'", [3]),
    ("CONTAINS(name, '50%')", [1]),
    ("CONTAINS(name, '_')", [2]),
    ("CONTAINS(name, 'GAMMA')", [4]),
    ("STARTSWITH(name, 'acme')", [1]),
    ("STARTSWITH(name, '%')", []),
    ("LEN(name) > 7", [1, 3, 4]),
    ("UPPER(status) == 'NEW'", [1, 4]),
    ("LOWER(name) == 'beta_x'", [2]),
    ("TRIM(' ' + status) == 'won'", [2]),
    ("CONCAT(name, status) == 'Beta_xwon'", [2]),
    ("name + '!' == 'Beta_x!'", [2]),
    ("ABS(0 - amount) > 95000", [1, 4]),
    ("ROUND(amount / 7, 2) == 21428.57", [1]),
    ("YEAR(close_date) == 2024 and MONTH(close_date) == 3", [1, 4]),
    ("DAY(close_date) == 20", [2, 4]),
    ("amount > None", []),
    ("1 == 1", [1, 2, 3, 4]),
    ("1 == 2", []),
    ("name == \"x' OR '1'='1\"", [3]),
    ("name == \"x' OR '1'='1' --\"", []),
]


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ],
    scope="module",
)
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """The opportunity table with ROWS, in in-memory SQLite or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = "sqlite://"
    else:
        server = request.getfixturevalue("postgres_server")
        name, url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(name))
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(opportunity.insert(), ROWS)
    yield engine
    engine.dispose()


def select_ids(engine: sa.Engine, condition: sa.ColumnElement[bool]) -> list[int]:
    statement = sa.select(opportunity.c.id).where(condition).order_by(opportunity.c.id)
    with engine.connect() as connection:
        return list(connection.scalars(statement))


def evaluated_ids(source: str) -> list[int]:
    expr = compile_expression(source, NAMES)
    ids = []
    for row in ROWS:
        values = {name: row[column.name] for name, column in COLUMNS.items()}
        if expr.evaluate(values, now=NOW):
            ids.append(row["id"])
    return ids


@pytest.mark.parametrize(("source", "expected"), FILTERS, ids=[case[0] for case in FILTERS])
def test_filter_selects_the_rows_the_evaluator_accepts(engine, source, expected):
    condition = to_sql(
        compile_expression(source, NAMES, expected=ExprType.BOOLEAN), COLUMNS, now=NOW
    )
    assert select_ids(engine, condition) == expected
    assert evaluated_ids(source) == expected


def test_user_text_is_bound_never_written_into_the_sql(engine):
    source = "name == \"x' OR '1'='1\" or status == \"a'b\""
    condition = to_sql(compile_expression(source, NAMES), COLUMNS, now=NOW)
    sql = str(sa.select(opportunity.c.id).where(condition).compile(engine))
    assert "OR '1'='1" not in sql and "a'b" not in sql
    assert select_ids(engine, condition) == [3]


def test_columns_may_be_given_by_a_callable(engine):
    expr = compile_expression("account.grade in ('A', 'B')", NAMES)
    condition = to_sql(expr, lambda name: COLUMNS.get(name), now=NOW)
    assert select_ids(engine, condition) == [1, 2]


@pytest.mark.parametrize(
    ("source", "fragment", "position"),
    [
        ("amount % 2 == 0", "% and ** cannot be used in a list filter", 0),
        ("amount ** 2 > 1", "% and ** cannot be used in a list filter", 0),
        ("close_date + 1 > TODAY()", "compare the field with a computed date instead", 0),
        ("TEXT(amount) == '1'", "TEXT cannot be used in a list filter", 0),
        ("VALUE(name) > 1", "VALUE cannot be used in a list filter", 0),
        ("MIN(amount, 5) > 1", "MIN cannot be used in a list filter", 0),
        ("DAYS_BETWEEN(close_date, TODAY()) > 1", "DAYS_BETWEEN cannot be used", 0),
        ("1 < ADDDAYS(close_date, 1) - close_date", "ADDDAYS cannot be used", 4),
        ("CONTAINS(name, status)", "needs constant text as its second argument", 0),
        ("ROUND(amount, -2) > 1", "non-negative number of digits", 0),
        ("ghost == 1", "`ghost` cannot be used in a list filter", 0),
    ],
)
def test_parts_without_an_sql_form_are_refused(source, fragment, position):
    expr = compile_expression(source, {**NAMES, "ghost": ExprType.NUMBER})
    with pytest.raises(ExpressionError) as caught:
        to_sql(expr, COLUMNS, now=NOW)
    assert fragment in caught.value.message
    assert caught.value.position == position


def test_unknown_column_from_a_callable_is_refused():
    expr = compile_expression("status == 'new'", NAMES)
    with pytest.raises(ExpressionError, match="`status` cannot be used in a list filter"):
        to_sql(expr, lambda name: None, now=NOW)


@pytest.mark.parametrize("source", ["amount", "name", "None", "TODAY()"])
def test_a_filter_must_be_a_condition(source):
    with pytest.raises(ExpressionError, match="A list filter must be a condition"):
        to_sql(compile_expression(source, NAMES), COLUMNS, now=NOW)


def test_a_function_without_sql_form_is_named():
    double = Function(
        "DOUBLE",
        "DOUBLE(number)",
        (ExprType.NUMBER,),
        ExprType.NUMBER,
        impl=lambda x: None if x is None else x * 2,
    )
    functions = BUILTIN_FUNCTIONS.extended(double)
    expr = compile_expression("DOUBLE(amount) > 1", NAMES, functions=functions)
    with pytest.raises(ExpressionError, match="DOUBLE cannot be used in a list filter"):
        to_sql(expr, COLUMNS, now=NOW)
    # Without a field, it is computed in Python and bound as a value.
    expr = compile_expression("amount > DOUBLE(50000)", NAMES, functions=functions)
    assert to_sql(expr, COLUMNS, now=NOW) is not None


def test_now_must_be_timezone_aware():
    expr = compile_expression("status == 'new'", NAMES)
    with pytest.raises(ValueError, match="timezone-aware"):
        to_sql(expr, COLUMNS, now=dt.datetime(2024, 3, 15))
