"""The platform's own tables for people and record bookkeeping.

Definitions live in ``trellis.metadata.store``; record tables are made from
definitions by schema sync. These are the rest: departments, users, their
roles and API tokens, field history, and the counters behind auto-numbers.
"""

from __future__ import annotations

import sqlalchemy as sa

from trellis.metadata.store import meta

department_table = sa.Table(
    "trellis_department",
    meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("api_name", sa.String(40), nullable=False, unique=True),
    sa.Column("label_zh", sa.String(200), nullable=False),
    sa.Column("label_en", sa.String(200), nullable=False),
    sa.Column("parent_id", sa.ForeignKey("trellis_department.id")),
    sa.Column("head_user_id", sa.BigInteger),
    # Order among its siblings, as the admin dragged them (None: after those, by label).
    sa.Column("position", sa.Integer),
)

user_table = sa.Table(
    "trellis_user",
    meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(255)),
    sa.Column("phone", sa.String(32)),
    sa.Column("password_hash", sa.String(255)),
    sa.Column("department_id", sa.ForeignKey("trellis_department.id")),
    sa.Column("manager_id", sa.ForeignKey("trellis_user.id")),
    sa.Column("locale", sa.String(10), nullable=False, server_default="zh-CN"),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default="Asia/Shanghai"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    # After repeated wrong passwords the account waits until this moment (UTC).
    sa.Column("locked_until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

user_role_table = sa.Table(
    "trellis_user_role",
    meta,
    sa.Column("user_id", sa.ForeignKey("trellis_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(40), primary_key=True),
)

api_token_table = sa.Table(
    "trellis_api_token",
    meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("trellis_user.id", ondelete="CASCADE"), nullable=False),
    # Only a SHA-256 of the token is kept: a leaked database leaks no tokens.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime),
    sa.Column("revoked_at", sa.DateTime),
)

history_table = sa.Table(
    "trellis_field_history",
    meta,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("object", sa.String(40), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("field", sa.String(40), nullable=False),
    sa.Column("old_value", sa.JSON),
    sa.Column("new_value", sa.JSON),
    sa.Column("changed_by", sa.BigInteger),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Index("ix_trellis_field_history_record", "object", "record_id"),
)

counter_table = sa.Table(
    "trellis_counter",
    meta,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


#: Columns added to a system table after its first release: (table, column). Databases made
#: before get them on ``create_system_tables`` (``create_all`` only makes missing tables).
ADDED_COLUMNS = ((user_table, "phone"), (department_table, "position"))


def create_system_tables(conn: sa.Connection) -> None:
    """Create every platform table that does not exist yet, and add later columns (idempotent)."""
    meta.create_all(conn, checkfirst=True)
    for table, name in ADDED_COLUMNS:
        present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
        if name not in present:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {kind}'))
