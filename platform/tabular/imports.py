"""``ImportService``: upload a file, map its columns, preview, and import it durably.

The life of an import::

    upload  → draft    the file is parsed once into chunks of rows; a mapping is proposed
    configure          (draft only) the user changes the mapping or the options
    preview            the first rows run through the real records service, rolled back
    start   → queued   the mapping is remembered; a job of kind ``tabular_import`` is queued
    chunks  → running  each chunk's records commit with the checkpoint and the counts
            → done     (or failed as a whole, e.g. the object was archived; or cancelled)

Chunks run in ``trellis worker`` (and ``trellis serve``'s worker thread):
each job writes one chunk and queues the next job in the same transaction,
so a killed worker loses at most the chunk it was writing, which the next
worker writes again from the checkpoint. ``run`` writes chunks in the
calling thread instead (the CLI, tests). Either way the import row is
locked (PostgreSQL) or the write lock held (SQLite) while a chunk is
written, so two runners never write the same chunk.

Every user sees only their own imports; another user's import answers 404,
like a missing one.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from trellis.flows.jobs import schedule
from trellis.runtime.database import WRITE, begin_write, is_postgresql
from trellis.runtime.errors import BadRequest, Conflict, Invalid, NotFound, TrellisError
from trellis.tabular import error_file, limits, mapping
from trellis.tabular.options import ImportOptions, parse_options
from trellis.tabular.processing import ChunkWriter, ImportPlan, RowError, RowOutcome
from trellis.tabular.reading import read_file
from trellis.tabular.state import ACTIVE, ImportState
from trellis.tabular.tables import (
    ensure_tables,
    import_chunk_table,
    import_error_table,
    import_table,
)

JOB_KIND = "tabular_import"

_services: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def imports_for(runtime) -> ImportService:
    """The import service of ``runtime`` (one per runtime; its job kind registered once)."""
    service = _services.get(runtime)
    if service is None:
        service = _services[runtime] = ImportService(runtime)
    return service


class ImportService:
    def __init__(self, runtime):
        self.runtime = runtime
        self.records = runtime.records
        self.engine: sa.Engine = runtime.engine
        self._tables_ready = False
        runtime.flows.register_job(JOB_KIND, self._run_job)

    # -- upload and configure --------------------------------------------------------

    def upload(
        self,
        ctx,
        object_name: str,
        data: bytes,
        file_name: str,
        *,
        mapping_choices: dict[str, str | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ImportState:
        """Parse ``data`` (a CSV or .xlsx file) and keep it as a draft import of ``object_name``.

        Raises Forbidden when the user may not create records of the object,
        BadRequest for an unreadable or too large file, Invalid for bad choices.
        """
        self._ensure_tables()
        source = read_file(data, file_name)
        with begin_write(self.engine) as conn:
            rt, access = self._object_for_create(conn, ctx, object_name)
            fields = mapping.importable_fields(rt, access)
            remembered = mapping.remembered(conn, object_name, ctx.user_id)
            columns = mapping.propose(source.headers, fields, remembered)
            if mapping_choices is not None:
                columns = mapping.apply_choices(columns, mapping_choices, fields)
            chosen = parse_options(options, rt, access)
            import_id = conn.execute(
                sa.insert(import_table).values(
                    object=object_name,
                    user_id=ctx.user_id,
                    locale=ctx.locale,
                    status="draft",
                    file_name=(file_name or "upload")[:255],
                    file_format=source.file_format,
                    encoding=source.encoding,
                    headers=source.headers,
                    mapping=[c.as_json() for c in columns],
                    options=chosen.as_json(),
                    total_rows=0,
                    chunks=0,
                    created_at=ctx.stamp,
                )
            ).inserted_primary_key[0]
            total, chunks = _stage(conn, import_id, source.rows)
            conn.execute(
                sa.update(import_table)
                .where(import_table.c.id == import_id)
                .values(total_rows=total, chunks=chunks)
            )
            return self._state(conn, import_id)

    def configure(
        self,
        ctx,
        import_id: int,
        *,
        mapping_choices: dict[str, str | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> ImportState:
        """Change a draft's mapping (``{header or column number: field or None}``) or options."""
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        with begin_write(self.engine) as conn:
            row = self._own(conn, ctx, import_id, lock=True)
            self._configure(conn, ctx, row, mapping_choices, options)
            return self._state(conn, import_id)

    def _configure(self, conn, ctx, row, mapping_choices, options):
        """Apply and store the choices; returns the checked plan and the mapping."""
        if row.status != "draft":
            raise Conflict(f"import {row.id} is {row.status}; only a draft can be changed")
        rt, access = self._object_for_create(conn, ctx, row.object)
        fields = mapping.importable_fields(rt, access)
        columns = [mapping.ColumnMapping.from_json(c) for c in row.mapping]
        if mapping_choices is not None:
            columns = mapping.apply_choices(columns, mapping_choices, fields)
        chosen = parse_options(options, rt, access, ImportOptions(**row.options))
        conn.execute(
            sa.update(import_table)
            .where(import_table.c.id == row.id)
            .values(mapping=[c.as_json() for c in columns], options=chosen.as_json())
        )
        return ImportPlan.build(rt, access, columns, chosen), columns

    # -- preview -------------------------------------------------------------------------

    def preview(self, ctx, import_id: int, rows: int = limits.PREVIEW_ROWS) -> list[RowOutcome]:
        """What importing the first ``rows`` rows would do, with every error; writes nothing.

        The rows really go through the records service, in a transaction that is
        then rolled back: the errors are the ones the import will report.
        """
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        if not 1 <= rows <= limits.MAX_PREVIEW_ROWS:
            raise BadRequest(f"a preview shows 1 to {limits.MAX_PREVIEW_ROWS} rows")
        with self.engine.execution_options(**WRITE).connect() as conn:
            transaction = conn.begin()
            try:
                row = self._own(conn, ctx, import_id)
                rt, access = self._object_for_create(conn, ctx, row.object)
                plan = ImportPlan.build(
                    rt,
                    access,
                    [mapping.ColumnMapping.from_json(c) for c in row.mapping],
                    ImportOptions(**row.options),
                )
                sample = _chunk_rows(conn, import_id, 0)[:rows]
                writer = ChunkWriter(self.records, self.runtime.cache.get(conn), ctx.on(conn), plan)
                return writer.write(sample)
            finally:
                transaction.rollback()

    # -- start, run, cancel ------------------------------------------------------------

    def start(
        self,
        ctx,
        import_id: int,
        *,
        mapping_choices: dict[str, str | None] | None = None,
        options: dict[str, Any] | None = None,
        background: bool = True,
    ) -> ImportState:
        """Start a draft: remember its mapping and queue it for the worker (``background``).

        With ``background=False`` nothing is queued: call :meth:`run`.
        """
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        with begin_write(self.engine) as conn:
            row = self._own(conn, ctx, import_id, lock=True)
            plan, columns = self._configure(conn, ctx, row, mapping_choices, options)
            if not plan.columns:
                raise Invalid("map at least one column to a field before starting the import")
            mapping.remember(conn, row.object, ctx.user_id, columns, ctx.stamp)
            conn.execute(
                sa.update(import_table)
                .where(import_table.c.id == import_id)
                .values(status="queued", started_at=ctx.stamp)
            )
            if background:
                schedule(conn, JOB_KIND, {"import_id": import_id}, ctx.stamp, now=ctx.stamp)
            return self._state(conn, import_id)

    def run(
        self,
        ctx,
        import_id: int,
        *,
        until_done: bool = True,
        max_chunks: int | None = None,
        on_chunk: Callable[[ImportState], None] | None = None,
    ) -> ImportState:
        """Write the chunks of a started import in this thread, each in its own transaction.

        ``until_done=False`` writes one chunk; ``max_chunks`` stops after that many
        (what a crash between chunks leaves behind); ``on_chunk`` hears of each.
        """
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        with self.engine.connect() as conn:
            row = self._own(conn, ctx, import_id)
        if row.status == "draft":
            raise Conflict(f"import {import_id} is a draft; start it first")
        budget = max_chunks if max_chunks is not None else (None if until_done else 1)
        written = 0
        while budget is None or written < budget:
            with begin_write(self.engine) as conn:
                more = self._write_next_chunk(conn, import_id, dt.datetime.now(dt.UTC))
                state = self._state(conn, import_id)
            written += 1
            if on_chunk is not None:
                on_chunk(state)
            if not more:
                break
        return self.get(ctx, import_id)

    def cancel(self, ctx, import_id: int) -> ImportState:
        """Stop an import that has not finished; what its committed chunks wrote stays."""
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        with begin_write(self.engine) as conn:
            row = self._own(conn, ctx, import_id, lock=True)
            if row.status in ("done", "failed", "cancelled"):
                raise Conflict(f"import {import_id} is {row.status} already")
            self._end(conn, import_id, "cancelled", ctx.stamp)
            return self._state(conn, import_id)

    def _run_job(self, conn: sa.Connection, ctx, payload: dict[str, Any]) -> None:
        """The ``tabular_import`` job: one chunk, then the job for the next one."""
        import_id = int(payload["import_id"])
        if self._write_next_chunk(conn, import_id, ctx.now):
            schedule(conn, JOB_KIND, {"import_id": import_id}, ctx.stamp, now=ctx.stamp)

    # -- one chunk -----------------------------------------------------------------------

    def _write_next_chunk(self, conn: sa.Connection, import_id: int, now: dt.datetime) -> bool:
        """Write the chunk after the checkpoint; True while chunks remain."""
        query = sa.select(import_table).where(import_table.c.id == import_id)
        if is_postgresql(conn):
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None or row.status not in ACTIVE:
            return False
        stamp = now.astimezone(dt.UTC).replace(tzinfo=None)
        rows = _chunk_rows(conn, import_id, row.next_chunk)
        if not rows:
            self._end(conn, import_id, "done", stamp)
            return False
        try:
            ctx = self.runtime.context(row.user_id, locale=row.locale, conn=conn, now=now)
            rt, access = self._object_for_create(conn, ctx, row.object)
            plan = ImportPlan.build(
                rt,
                access,
                [mapping.ColumnMapping.from_json(c) for c in row.mapping],
                ImportOptions(**row.options),
            )
        except TrellisError as exc:  # the user, object or field went away since the start
            self._end(conn, import_id, "failed", stamp, f"the import stopped: {exc.message}")
            return False
        outcomes = ChunkWriter(self.records, self.runtime.cache.get(conn), ctx, plan).write(rows)
        self._checkpoint(conn, row, outcomes)
        if row.next_chunk + 1 >= row.chunks:
            self._end(conn, import_id, "done", stamp)
            return False
        return True

    def _checkpoint(self, conn: sa.Connection, row, outcomes: list[RowOutcome]) -> None:
        """The chunk's counts, errors and the new checkpoint, in the chunk's transaction."""
        counts = Counter(o.action for o in outcomes)
        errors = [e for o in outcomes for e in o.errors]
        if errors:
            conn.execute(sa.insert(import_error_table), [_error_row(row.id, e) for e in errors])
        t = import_table.c
        conn.execute(
            sa.update(import_table)
            .where(t.id == row.id)
            .values(
                status="running",
                next_chunk=row.next_chunk + 1,
                processed_rows=t.processed_rows + len(outcomes),
                created_count=t.created_count + counts["created"],
                updated_count=t.updated_count + counts["updated"],
                skipped_count=t.skipped_count + counts["skipped"],
                failed_count=t.failed_count + counts["failed"],
            )
        )

    def _end(self, conn, import_id: int, status: str, stamp, message: str | None = None) -> None:
        conn.execute(
            sa.update(import_table)
            .where(import_table.c.id == import_id)
            .values(status=status, finished_at=stamp, message=message)
        )
        # The staged rows have served; the error rows stay for the error file.
        chunks = import_chunk_table
        conn.execute(sa.delete(chunks).where(chunks.c.import_id == import_id))

    # -- reading -------------------------------------------------------------------------

    def get(self, ctx, import_id: int) -> ImportState:
        """The import's status, progress (processed of total rows) and counts."""
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        with self.engine.connect() as conn:
            return ImportState.from_row(self._own(conn, ctx, import_id))

    def list(self, ctx, object_name: str | None = None, limit: int = 50) -> list[ImportState]:
        """The user's imports, newest first."""
        self._ensure_tables()
        query = (
            sa.select(import_table)
            .where(import_table.c.user_id == ctx.user_id)
            .order_by(import_table.c.id.desc())
            .limit(max(1, min(limit, 200)))
        )
        if object_name is not None:
            query = query.where(import_table.c.object == object_name)
        with self.engine.connect() as conn:
            return [ImportState.from_row(r) for r in conn.execute(query)]

    def errors(self, ctx, import_id: int) -> list[RowError]:
        """Every problem of every failed row, in row order."""
        import_id = parse_import_id(import_id)
        self._ensure_tables()
        t = import_error_table.c
        with self.engine.connect() as conn:
            self._own(conn, ctx, import_id)
            rows = conn.execute(
                sa.select(import_error_table)
                .where(t.import_id == import_id)
                .order_by(t.row_number, t.id)
            )
            return [RowError(r.row_number, r.header, r.field, r.value, r.reason) for r in rows]

    def error_file(self, ctx, import_id: int) -> bytes:
        """The error file: CSV (UTF-8 with BOM) of row, column, value and reason."""
        return error_file.render(self.errors(ctx, import_id), ctx.locale)

    # -- helpers -------------------------------------------------------------------------

    def _ensure_tables(self) -> None:
        # Never inside an open transaction: on SQLite a second writer would wait on it.
        if not self._tables_ready:
            ensure_tables(self.engine)
            self._tables_ready = True

    def _object_for_create(self, conn, ctx, object_name: str):
        compiled = self.runtime.cache.get(conn)
        rt = self.records.object(compiled, object_name)
        return rt, self.records.authorize(compiled, ctx, rt, "create")

    def _own(self, conn, ctx, import_id, *, lock: bool = False):
        import_id = parse_import_id(import_id)
        query = sa.select(import_table).where(
            import_table.c.id == import_id, import_table.c.user_id == ctx.user_id
        )
        if lock and is_postgresql(conn):
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:  # another user's import answers like a missing one
            raise NotFound(f"there is no import {import_id} of yours")
        return row

    def _row(self, conn, import_id: int):
        return conn.execute(sa.select(import_table).where(import_table.c.id == import_id)).one()

    def _state(self, conn, import_id: int) -> ImportState:
        return ImportState.from_row(self._row(conn, import_id))


def parse_import_id(value: Any) -> int:
    """An import id from a caller (a path segment); NotFound when it is not one."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise NotFound(f"there is no import {str(value)[:40]!r}") from None


def _stage(conn: sa.Connection, import_id: int, rows) -> tuple[int, int]:
    """Keep the file's rows in chunks; returns (rows, chunks)."""
    total = chunks = 0
    batch: list[list] = []
    for number, cells in rows:
        total += 1
        if total > limits.MAX_ROWS:
            raise BadRequest(
                f"the file has more than {limits.MAX_ROWS:,} rows; split it into files of "
                f"at most {limits.MAX_ROWS:,} rows"
            )
        batch.append([number, cells])
        if len(batch) == limits.CHUNK_ROWS:
            _insert_chunk(conn, import_id, chunks, batch)
            chunks, batch = chunks + 1, []
    if batch:
        _insert_chunk(conn, import_id, chunks, batch)
        chunks += 1
    if total == 0:
        raise BadRequest("the file has a header row but no rows to import")
    return total, chunks


def _insert_chunk(conn, import_id: int, number: int, rows: list) -> None:
    values = {"import_id": import_id, "number": number, "rows": rows}
    conn.execute(sa.insert(import_chunk_table).values(values))


def _chunk_rows(conn, import_id: int, number: int) -> list[tuple[int, list[str]]]:
    t = import_chunk_table.c
    rows = conn.execute(
        sa.select(t.rows).where(t.import_id == import_id, t.number == number)
    ).scalar()
    return [(n, cells) for n, cells in rows or []]


def _error_row(import_id: int, error: RowError) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "row_number": error.row,
        "header": error.header,
        "field": error.field,
        "value": error.value,
        "reason": error.reason,
    }


__all__ = ["JOB_KIND", "ImportService", "imports_for"]
