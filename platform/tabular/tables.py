"""The import subsystem's own tables.

They join the platform's MetaData (like the flow engine's tables), so
``trellis init`` creates them once this module is imported; ``ensure_tables``
creates them on first use in a database set up before imports existed.

An import is durable: the uploaded file is parsed once, at upload, into
chunks of rows (``trellis_import_chunk``); processing commits one chunk's
records together with the import's checkpoint (``next_chunk``), so a crash
resumes after the last committed chunk and never writes a row twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from trellis.metadata.store import meta

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

#: One import of one file into one object by one user.
import_table = sa.Table(
    "trellis_import",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("object", sa.String(40), nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    # The uploader's language: row errors (validation messages) are written in it.
    sa.Column("locale", sa.String(10), nullable=False),
    # draft → queued → running → done; or failed (the whole import), cancelled.
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("file_format", sa.String(8), nullable=False),  # csv, xlsx
    sa.Column("encoding", sa.String(20)),  # utf-8, utf-8-sig, gb18030 (CSV only)
    sa.Column("headers", sa.JSON, nullable=False),
    # [{"column": 1, "header": ..., "field": ... or null, "matched_by": ...}]
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("total_rows", sa.Integer, nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
    # The checkpoint: chunks before this one are committed, records and counts alike.
    sa.Column("next_chunk", sa.Integer, nullable=False, server_default="0"),
    sa.Column("processed_rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text),  # why a failed import stopped
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
    sa.Index("ix_trellis_import_user", "user_id", "id"),
)

#: The file's rows, parsed at upload: ``rows`` is [[row number, [cell text, ...]], ...].
#: Deleted when the import ends; the error rows stay.
import_chunk_table = sa.Table(
    "trellis_import_chunk",
    meta,
    sa.Column(
        "import_id", sa.ForeignKey("trellis_import.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("rows", sa.JSON, nullable=False),
)

#: Every problem of every failed row: what the error file lists.
import_error_table = sa.Table(
    "trellis_import_error",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("import_id", sa.ForeignKey("trellis_import.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.Column("header", sa.String(255)),  # the column as the file names it; null: the whole row
    sa.Column("field", sa.String(40)),
    sa.Column("value", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_trellis_import_error_import", "import_id", "row_number"),
)

#: The mapping a user last chose for an object, offered on their next import:
#: {normalised header: field api_name, or null for "do not import this column"}.
import_mapping_table = sa.Table(
    "trellis_import_mapping",
    meta,
    sa.Column("object", sa.String(40), primary_key=True),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

TABLES = (import_table, import_chunk_table, import_error_table, import_mapping_table)


def ensure_tables(engine: sa.Engine) -> None:
    """Create the import tables that do not exist yet (idempotent)."""
    from trellis.runtime.database import begin_write

    with begin_write(engine) as conn:
        meta.create_all(conn, tables=list(TABLES), checkfirst=True)
