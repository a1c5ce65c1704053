"""Time buckets: the first day of a record's day, week, month, quarter or year, in SQL.

Dates are cut as they are. A date-time is stored as naive UTC, so it is first
moved into the viewer's time zone, so that an order at 00:30 on 1 April in
Shanghai counts in April. PostgreSQL converts with the real zone rules
(``timezone(zone, timezone('UTC', column))``). SQLite knows no zones: it adds the
zone's UTC offset at the moment the report runs, which is exact for zones
without daylight saving time (Asia/Shanghai, the default) and may put records
within an hour of a DST change into the neighbouring bucket elsewhere.

Weeks start on Monday (ISO 8601) and are named by their ISO year and number.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa


def bucket_start(
    column: sa.ColumnElement, bucket: str, kind: str, dialect: str, zone: ZoneInfo, now: dt.datetime
) -> sa.ColumnElement:
    """The SQL for the first day of the bucket that holds ``column``'s value."""
    if dialect == "postgresql":
        local = (
            sa.cast(column, sa.DateTime)
            if kind == "date"
            else sa.func.timezone(str(zone), sa.func.timezone("UTC", column))
        )
        return sa.cast(sa.func.date_trunc(bucket, local), sa.Date)
    if kind == "date":
        local = column
    else:
        offset = now.astimezone(zone).utcoffset() or dt.timedelta()
        local = sa.func.datetime(column, f"{int(offset.total_seconds() // 60):+d} minutes")
    if bucket == "day":
        return sa.func.date(local)
    if bucket == "week":
        return sa.func.date(local, "-6 days", "weekday 1")
    if bucket == "month":
        return sa.func.date(local, "start of month")
    if bucket == "year":
        return sa.func.date(local, "start of year")
    months_in = (sa.cast(sa.func.strftime("%m", local), sa.Integer) - 1) % 3
    back = sa.literal("-").concat(sa.cast(months_in, sa.String)).concat(" months")
    return sa.func.date(local, "start of month", back)


def as_date(value) -> dt.date | None:
    """A bucket start as the database returns it (a date, or ISO text on SQLite)."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def bucket_key(start: dt.date, bucket: str) -> str:
    """The stable name of a bucket: 2026-03-05, 2026-W10, 2026-03, 2026-Q1, 2026."""
    if bucket == "day":
        return start.isoformat()
    if bucket == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return f"{start.year}-{start.month:02d}"
    if bucket == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def bucket_label(start: dt.date, bucket: str, locale: str) -> str:
    """The bucket as the viewer reads it: 2026-03 / 2026年3月, 2026-Q1 / 2026年第1季度."""
    if not locale.lower().startswith("zh"):
        return bucket_key(start, bucket)
    if bucket == "week":
        year, week, _ = start.isocalendar()
        return f"{year}年第{week}周"
    if bucket == "month":
        return f"{start.year}年{start.month}月"
    if bucket == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    if bucket == "year":
        return f"{start.year}年"
    return start.isoformat()


def bucket_end(start: dt.date, bucket: str) -> dt.date:
    """The first day after the bucket that starts on ``start``."""
    if bucket == "day":
        return start + dt.timedelta(days=1)
    if bucket == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[bucket]
    total = start.year * 12 + start.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)
