"""Fixtures for the expression language tests: one object's names, one record, one moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from trellis.expressions import ExprType, compile_expression

UTC = dt.UTC


@pytest.fixture
def names() -> dict[str, ExprType]:
    """The names an opportunity-like object offers, including a lookup path."""
    return {
        "amount": ExprType.NUMBER,
        "probability": ExprType.NUMBER,
        "quantity": ExprType.NUMBER,
        "discount": ExprType.NUMBER,
        "name": ExprType.TEXT,
        "status": ExprType.TEXT,
        "notes": ExprType.TEXT,
        "close_date": ExprType.DATE,
        "created_at": ExprType.DATETIME,
        "is_won": ExprType.BOOLEAN,
        "is_vip": ExprType.BOOLEAN,
        "account.grade": ExprType.TEXT,
        "anything": ExprType.ANY,
    }


@pytest.fixture
def values() -> dict[str, Any]:
    """One record; ``discount``, ``notes`` and ``is_vip`` are blank."""
    return {
        "amount": Decimal("125000.50"),
        "probability": 40,
        "quantity": 3,
        "discount": None,
        "name": "Acme Ltd",
        "status": "new",
        "notes": None,
        "close_date": dt.date(2024, 3, 1),
        "created_at": dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
        "is_won": False,
        "is_vip": None,
        "account.grade": "A",
        "anything": 7,
    }


@pytest.fixture
def now() -> dt.datetime:
    """The pinned evaluation time: TODAY() is 2024-03-15."""
    return dt.datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


@pytest.fixture
def evaluate(names, values, now) -> Callable[..., Any]:
    """Compile ``source`` against ``names`` and evaluate it on ``values`` (with overrides)."""

    def run(source: str, **overrides: Any) -> Any:
        return compile_expression(source, names).evaluate({**values, **overrides}, now=now)

    return run
