"""Date and datetime field types. Datetimes are stored in UTC (naive columns on
both databases, so SQLite and PostgreSQL behave alike) and shown in the
viewer's time zone by the layers above."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from trellis.expressions import ExprType
from trellis.fieldtypes.base import FieldType, FieldValueError
from trellis.fieldtypes.registry import register


@register
class Date(FieldType):
    name = "date"
    expr_type = ExprType.DATE
    openapi = {"type": "string", "format": "date"}

    def column_type(self, field):
        return sa.Date()

    def parse(self, value, field):
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if not isinstance(value, str):
            raise FieldValueError(f"expected a date like 2026-11-22, got {type(value).__name__}")
        try:
            return dt.date.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            raise FieldValueError(f"{value!r} is not a date; write it as YYYY-MM-DD") from None

    def to_json(self, value):
        return None if value is None else value.isoformat()


@register
class DateTime(FieldType):
    """A moment in time. Text without an offset is read in the writer's time zone
    (see ``to_utc``); the stored value is UTC."""

    name = "datetime"
    expr_type = ExprType.DATETIME
    openapi = {"type": "string", "format": "date-time"}

    def column_type(self, field):
        return UTCDateTime()

    def parse(self, value, field):
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value
        if not isinstance(value, str):
            raise FieldValueError(
                "expected a date and time like 2026-11-22T09:30:00+08:00, "
                f"got {type(value).__name__}"
            )
        try:
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FieldValueError(
                f"{value!r} is not a date and time; write it as 2026-11-22T09:30:00+08:00"
            ) from None

    def to_json(self, value):
        if value is None:
            return None
        return aware(value).isoformat()


class UTCDateTime(sa.types.TypeDecorator):
    """A naive-UTC datetime column that converts aware values on the way in.

    Without it SQLite would store an aware value's local wall time.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value


def aware(value):
    """Stored datetimes are naive UTC; expressions compare them with aware NOW()."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def in_zone(value, zone: dt.tzinfo):
    """A datetime as the same moment in ``zone`` (naive values are UTC, as stored).

    Expressions see datetimes this way so that the calendar day of one
    (``DAYS_BETWEEN(created_at, TODAY())``, ``YEAR(closed_at)``) is the user's
    day, the day TODAY() gives, not the day in Greenwich.
    """
    if isinstance(value, dt.datetime):
        return aware(value).astimezone(zone)
    return value


def to_utc(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Naive UTC from an aware datetime, or from a naive one read in ``zone``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC).replace(tzinfo=None)
