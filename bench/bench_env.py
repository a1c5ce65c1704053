"""The databases the benchmarks run on, and a Trellis runtime with the CRM installed on each.

SQLite: a fresh file in a temporary folder. PostgreSQL: ``TRELLIS_TEST_POSTGRES_URL`` when
set, otherwise a throwaway cluster started with the test suite's helper
``tests/pg_cluster.py`` (loaded from its file, not copied). Either can be unavailable; the
caller then prints why and skips that half.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
BASELINE_TABLE = "baseline_lead"


class Unavailable(RuntimeError):
    """This database cannot be had here; the message says why."""


def load_pg_cluster():
    """``tests/pg_cluster.py`` as a module (tests/ is no package, so load it by path)."""
    name = "trellis_bench_pg_cluster"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "pg_cluster.py")
    if spec is None or spec.loader is None:
        raise Unavailable("tests/pg_cluster.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Database:
    kind: str  # sqlite | postgresql
    url: str
    description: str
    _cleanups: list[Any] = field(default_factory=list)
    #: Makes the URL of another new, empty database of the same kind (benchmark 8).
    _fresh: Any = None

    def fresh(self) -> str:
        return self._fresh()

    def close(self) -> None:
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide results
                print(f"  (cleanup of {self.kind} failed: {exc})")


def sqlite_database(keep: bool = False) -> Database:
    folder = Path(tempfile.mkdtemp(prefix="trellis-bench-"))
    db = Database(
        "sqlite",
        f"sqlite:///{folder}/trellis.db",
        f"SQLite {sqlite_version()} file {folder}/trellis.db",
    )
    if not keep:
        db._cleanups.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    counter = iter(range(1, 1000))
    db._fresh = lambda: f"sqlite:///{folder}/fresh{next(counter)}.db"
    return db


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def postgres_database(shared_buffers: str | None = "256MB") -> Database:
    """A fresh database on PostgreSQL; raises Unavailable with the reason when there is none."""
    try:
        pg = load_pg_cluster()
    except Unavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. psycopg missing
        raise Unavailable(f"cannot load tests/pg_cluster.py: {exc}") from exc
    server = pg.server_from_env()
    cluster = None
    if server is None:
        binaries = pg.find_server_binaries()
        if binaries is None:
            raise Unavailable(pg.MISSING_BINARIES)
        cluster = pg.ThrowawayCluster(binaries, label="bench")
        try:
            server = cluster.start()
        except pg.PostgresUnavailable as exc:
            raise Unavailable(f"the throwaway PostgreSQL cluster did not start: {exc}") from exc
        if shared_buffers:
            _tune_cluster(pg, cluster, shared_buffers)
    name, url = server.create_database()
    with pg._connect_admin(server.admin_url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        sync_commit = conn.execute("SHOW synchronous_commit").fetchone()[0]
    where = (
        f"throwaway cluster on port {cluster.port}"
        if cluster
        else f"server from {pg.SERVER_URL_ENV}"
    )
    db = Database(
        "postgresql",
        url,
        f"PostgreSQL {version}, {where}, shared_buffers={buffers}, fsync={fsync}, "
        f"synchronous_commit={sync_commit}",
    )
    if cluster is not None:
        db._cleanups.append(cluster.stop)
    else:
        db._cleanups.append(lambda: server.drop_database(name))

    def fresh() -> str:
        other, other_url = server.create_database()
        if cluster is None:
            db._cleanups.append(lambda: server.drop_database(other))
        return other_url

    db._fresh = fresh
    return db


def _tune_cluster(pg, cluster, shared_buffers: str) -> None:
    """The test helper sizes the server for many small test servers (32MB of buffers);
    give the benchmark server more, like a production server would have."""
    from psycopg import sql

    with pg._connect_admin(cluster.server.admin_url) as conn:
        conn.execute(
            sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(shared_buffers))
        )
        conn.execute("ALTER SYSTEM SET work_mem = '16MB'")
        conn.execute("ALTER SYSTEM SET maintenance_work_mem = '256MB'")
    cluster._run(
        "pg_ctl",
        "restart",
        "--pgdata",
        str(cluster.data_dir),
        "--log",
        str(cluster.log_file),
        "--wait",
        "--timeout",
        "60",
        "-o",
        f"-p {cluster.port}",
        failure="pg_ctl restart failed",
    )


# -- Trellis with the CRM ----------------------------------------------------------------


@dataclass
class Env:
    """One database with Trellis, the CRM, the demo organisation and the baseline table."""

    db: Database
    runtime: Any  # trellis.runtime.platform_runtime.Runtime
    admin: Any  # Context of the admin (creates leads: a sales rep may not write score)
    rep: Any  # Context of rep_east (lists with read scope "own")
    users: dict[str, tuple[int, int | None]]  # username -> (id, department id)
    lead_table: sa.Table  # Trellis' rec_lead as its compiled metadata describes it
    baseline: sa.Table  # the hand-made equivalent

    @property
    def engine(self) -> sa.Engine:
        return self.runtime.engine

    def lead_runtime(self):
        with self.engine.connect() as conn:
            return self.runtime.cache.get(conn).object("lead")


def build_env(db: Database) -> Env:
    from trellis.metadata.packs import locate
    from trellis.runtime import sample_data
    from trellis.runtime.platform_runtime import Runtime
    from trellis.runtime.system_tables import user_table

    runtime = Runtime(db.url)
    runtime.metadata.init_database()
    runtime.metadata.install_pack("crm_standard")
    sample_data.load_org(runtime, locate("crm_standard") / "sample_data", "trellis-bench")
    with runtime.engine.connect() as conn:
        users = {
            r.username: (r.id, r.department_id)
            for r in conn.execute(
                sa.select(user_table.c.username, user_table.c.id, user_table.c.department_id)
            )
        }
        lead = runtime.cache.get(conn).object("lead")
    baseline = create_baseline_table(runtime.engine, lead.table)
    return Env(
        db=db,
        runtime=runtime,
        admin=runtime.context_for("admin"),
        rep=runtime.context_for("rep_east"),
        users=users,
        lead_table=lead.table,
        baseline=baseline,
    )


def baseline_definition(trellis_table: sa.Table, name: str = BASELINE_TABLE) -> sa.Table:
    """The table a developer would write by hand for leads: the same columns with the same
    types, the same primary key, and an index wherever Trellis has one (unique where
    Trellis' is unique). Derived column by column from rec_lead so the two cannot drift."""
    meta = sa.MetaData()
    columns = [
        sa.Column(
            c.name,
            c.type,
            primary_key=c.primary_key,
            nullable=c.nullable,
            autoincrement=True if c.primary_key else "auto",
        )
        for c in trellis_table.columns
    ]
    table = sa.Table(name, meta, *columns)
    for index in trellis_table.indexes:
        cols = [c.name for c in index.columns]
        sa.Index(
            f"bx_{name}_{'_'.join(cols)}"[:60], *(table.c[c] for c in cols), unique=index.unique
        )
    return table


def create_baseline_table(engine: sa.Engine, trellis_table: sa.Table) -> sa.Table:
    table = baseline_definition(trellis_table)
    with engine.begin() as conn:
        table.metadata.create_all(conn)
    check_same_shape(engine, trellis_table.name, table.name)
    return table


def check_same_shape(engine: sa.Engine, first: str, second: str) -> None:
    """Reflect both tables from the database and insist on the same columns and indexes."""
    inspector = sa.inspect(engine)

    def shape(name):
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)]
        indexes = sorted(
            (tuple(ix["column_names"]), bool(ix["unique"])) for ix in inspector.get_indexes(name)
        )
        return columns, indexes

    a, b = shape(first), shape(second)
    if a != b:
        raise AssertionError(f"baseline table differs from {first}:\n{a}\n{b}")
