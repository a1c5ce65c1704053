"""SQLAlchemy tables for record objects, derived from definitions.

Physical names come from api_names and never change: table ``rec_<object>``,
one column per stored field named like the field. Archived fields keep their
columns (and data); duplicate rules get a hidden, indexed match-key column
``dup_<rule>``.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from trellis.fieldtypes.temporal import UTCDateTime
from trellis.metadata import ObjectDef
from trellis.metadata.names import table_name

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def index_name(table: str, *columns: str, unique: bool = False) -> str:
    """A short, stable index name (PostgreSQL cuts identifiers at 63 bytes)."""
    name = f"{'ux' if unique else 'ix'}_{table}_{'_'.join(columns)}"
    if len(name) <= 60:
        return name
    return f"{name[:48]}_{hashlib.sha1(name.encode()).hexdigest()[:10]}"


def system_columns() -> list[sa.Column]:
    return [
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        # No owner means the record sits in a pool (公海) waiting to be claimed.
        sa.Column("owner", sa.BigInteger),
        sa.Column("department", sa.BigInteger),
        sa.Column("record_type", sa.String(40)),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.BigInteger),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ]


def field_columns(obj: ObjectDef) -> list[sa.Column]:
    columns = [
        sa.Column(f.api_name, f.field_type.column_type(f))
        for f in obj.fields
        if not f.system and f.stored
    ]
    columns += [sa.Column(rule.column, sa.String(1000)) for rule in obj.duplicate_rules]
    return columns


def indexes(obj: ObjectDef, table: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """(name, columns, unique) for every index an object's table should have."""
    wanted = [("owner",), ("department",), ("created_at",), ("updated_at",)]
    out = [(index_name(table, *cols), cols, False) for cols in wanted]
    for f in obj.fields:
        if f.system or not f.stored:
            continue
        unique = f.unique or f.type == "auto_number"
        if unique or f.indexed or f.type in ("lookup", "user"):
            out.append((index_name(table, f.api_name, unique=unique), (f.api_name,), unique))
    for rule in obj.duplicate_rules:
        out.append((index_name(table, rule.column), (rule.column,), False))
    return out


def build_table(obj: ObjectDef, meta: sa.MetaData) -> sa.Table:
    """The Table for ``obj`` in ``meta`` (columns and indexes)."""
    name = table_name(obj.api_name)
    table = sa.Table(name, meta, *system_columns(), *field_columns(obj))
    for index, cols, unique in indexes(obj, name):
        sa.Index(index, *(table.c[c] for c in cols), unique=unique)
    return table
