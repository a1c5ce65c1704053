"""Engines for SQLite (the embedded default) and PostgreSQL.

SQLite is set up as a serious database: WAL journal (readers never block the
writer), foreign keys on, a busy timeout, and real transactions around DDL.
Python's sqlite3 module would otherwise commit implicitly before DDL and
begin transactions lazily, which breaks "a rejected change leaves tables
exactly as they were"; so we take over BEGIN ourselves.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

#: Execution option that makes a SQLite transaction take the write lock at
#: BEGIN, so two writers queue on the busy timeout instead of failing with
#: "database is locked" when a read lock cannot be upgraded.
WRITE = {"trellis_write": True}


def make_engine(url: str, **kwargs) -> sa.Engine:
    """Create an engine for ``url`` with Trellis' settings for its dialect."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # Datetime columns hold naive UTC. Aware values (NOW() in a default, a filter constant)
    # are cast with the session's time zone, so pin it to UTC whatever the server says.
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args["options"] = f"{connect_args.get('options', '')} -c timezone=UTC".strip()
    # pool_pre_ping costs a round trip per transaction (~10 % of a single create, measured)
    # but keeps a PostgreSQL restart from failing the next request on every pooled connection.
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("trellis_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def begin_write(engine: sa.Engine):
    """A transaction that will write: ``with begin_write(engine) as conn: ...``."""
    return engine.execution_options(**WRITE).begin()


def is_postgresql(conn_or_engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"
