"""The throwaway database contract tests run on: packs installed, sample org loaded.

Set-up installs the packs the way an administrator would (dependencies first,
shipped packs by name, through ``MetadataAPI.install_pack``) and loads the
sample organisation (``sample_data/org.json``) of the pack or of the first pack
it depends on that has one. Then it takes a snapshot of every table.

Before each case the database goes back to that snapshot, so a case sees no
record, job, notification, counter or round-robin position another case left
behind. Copying a database per case would be as clean but costs a second or
more per case (installing, compiling), and rolling a case back in one
transaction is impossible: the flow engine and the worker commit on their own.
Restoring rows is cheap: only tables that changed are touched, and after
set-up only a handful hold rows at all. It is a reset of a database the runner
owns, not a way to write records: cases write through the records service and
the flow engine only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import sqlalchemy as sa

from trellis.metadata import packs as pack_files
from trellis.metadata import store
from trellis.runtime import sample_data
from trellis.runtime.database import begin_write
from trellis.runtime.errors import TrellisError
from trellis.runtime.platform_runtime import Runtime


class SetupFailed(Exception):
    """The packs could not be installed; ``details`` are ``{"pointer", "message"}`` items."""

    def __init__(self, message: str, details: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.message = message
        self.details = list(details)


@dataclass(frozen=True)
class InstalledPack:
    """One step of the set-up: a pack installed, or upgraded from ``upgraded_from``."""

    name: str
    version: str
    folder: Path
    upgraded_from: str | None = None

    def __str__(self) -> str:
        if self.upgraded_from:
            return f"{self.name} {self.upgraded_from} → {self.version} (upgraded)"
        return f"{self.name} {self.version}"


def refuse_used_database(engine: sa.Engine) -> None:
    """Contract tests reset the database between cases: they never run on one in use."""
    tables = sa.inspect(engine).get_table_names()
    if tables:
        raise ValueError(
            f"pack tests need an empty database, and {engine.url.render_as_string()} has "
            f"{len(tables)} table(s) ({', '.join(sorted(tables)[:5])} …); they reset it "
            "between cases, so give a new, empty database (or none: a temporary SQLite file)"
        )


def manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "pack.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SetupFailed(f"{folder / 'pack.json'} cannot be read: {exc}") from None


def install_order(pack: Path, extra_packs: Sequence[Path]) -> list[Path]:
    """Folders to install, dependencies before the packs needing them: the extra packs
    in the order given, then the pack. A dependency is the pack under test or an extra
    pack when the name matches, else the shipped pack of that name."""
    chosen = {manifest(p)["name"]: p for p in (*extra_packs, pack)}
    order: list[Path] = []
    visiting: list[str] = []

    def visit(folder: Path) -> None:
        name = manifest(folder)["name"]
        if folder in order:
            return
        if name in visiting:
            cycle = " → ".join((*visiting, name))
            raise SetupFailed(f"the packs depend on each other in a circle: {cycle}")
        visiting.append(name)
        for dependency in manifest(folder).get("dependencies", {}):
            visit(chosen.get(dependency) or _shipped(dependency, name))
        visiting.pop()
        order.append(folder)

    for folder in (*extra_packs, pack):
        visit(folder)
    return order


def _shipped(name: str, needed_by: str) -> Path:
    if name not in pack_files.shipped_packs():
        raise SetupFailed(
            f"pack {needed_by} depends on {name!r}, which is not a shipped pack "
            f"({', '.join(pack_files.shipped_packs())}); pass its folder as an extra pack"
        )
    return pack_files.locate(name)


def install(runtime: Runtime, folders: Sequence[Path]) -> list[InstalledPack]:
    """Install the folders in order. A pack already installed in the same version is
    kept; in another version it is upgraded, as ``trellis pack upgrade`` would."""
    runtime.metadata.init_database()
    return [_install_one(runtime, folder) for folder in folders]


def _install_one(runtime: Runtime, folder: Path) -> InstalledPack:
    wanted = manifest(folder)
    before = runtime.metadata.installed_packs().get(wanted["name"])
    upgrade = before is not None and before != wanted["version"]
    try:
        if upgrade:
            runtime.metadata.upgrade_pack(str(folder), "pack tests")
        else:
            runtime.metadata.install_pack(str(folder), "pack tests")
    except TrellisError as exc:
        verb = "upgrading to" if upgrade else "installing"
        raise SetupFailed(f"{verb} {folder} failed: {exc.message}", exc.details) from None
    version = runtime.metadata.installed_packs()[wanted["name"]]
    return InstalledPack(wanted["name"], version, folder, before if upgrade else None)


def load_org(runtime: Runtime, candidates: Sequence[Path]) -> Path:
    """Load the first ``sample_data/org.json`` among ``candidates``; returns its folder."""
    for folder in candidates:
        sample = folder / "sample_data"
        if (sample / "org.json").is_file():
            # Nobody signs in during contract tests: a random password nobody knows.
            sample_data.load_org(runtime, sample, secrets.token_urlsafe(16))
            return sample
    names = ", ".join(str(c) for c in candidates)
    raise SetupFailed(
        f"no sample organisation: none of {names} has sample_data/org.json; the cases act "
        "as its users"
    )


class Snapshot:
    """Every row of the database at one moment, to put back before each case."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.meta = sa.MetaData()
        self.meta.reflect(engine)
        with engine.connect() as conn:
            self.version = store.current_version(conn)
            self.rows = {t.name: rows for t in self.meta.sorted_tables if (rows := _rows(conn, t))}
        self._dependents = _dependents(self.meta)

    def restore(self) -> None:
        """Put the database back as it was: empty the tables that were empty, rewrite
        the ones whose rows changed (and those whose foreign keys lead to them)."""
        with begin_write(self.engine) as conn:
            changed = self._changed(conn)
            rewrite = set(changed)
            for name in changed:
                rewrite |= self._dependents[name] & set(self.rows)
            occupied = _occupied(conn, [t for t in self.meta.sorted_tables])
            for table in reversed(self.meta.sorted_tables):
                if table.name in rewrite or (
                    table.name in occupied and table.name not in self.rows
                ):
                    conn.execute(table.delete())
            for table in self.meta.sorted_tables:
                if table.name in rewrite:
                    conn.execute(table.insert(), self.rows[table.name])

    def _changed(self, conn: sa.Connection) -> set[str]:
        # The stored definitions (the largest tables here) change only with the metadata
        # version: one query instead of reading every component back.
        skip = METADATA_TABLES if store.current_version(conn) == self.version else set()
        return {
            name
            for name, rows in self.rows.items()
            if name not in skip and _rows(conn, self.meta.tables[name]) != rows
        }


#: The metadata store's tables: a definition change always moves the metadata version.
METADATA_TABLES = {
    t.name
    for t in (
        store.pack_table,
        store.component_table,
        store.customization_table,
        store.conflict_table,
        store.change_table,
    )
}
#: Tables probed per query for rows (SQLite allows 500 terms in a compound SELECT).
PROBE_CHUNK = 200


def _occupied(conn: sa.Connection, tables: list[sa.Table]) -> set[str]:
    """The names of the tables holding at least one row, in a few queries."""
    found: set[str] = set()
    for i in range(0, len(tables), PROBE_CHUNK):
        probes = [
            sa.select(sa.literal(t.name).label("name")).where(sa.exists().select_from(t))
            for t in tables[i : i + PROBE_CHUNK]
        ]
        found |= set(conn.execute(sa.union_all(*probes)).scalars())
    return found


def _rows(conn: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    return [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]


def _dependents(meta: sa.MetaData) -> dict[str, set[str]]:
    """Table → every table whose foreign keys lead to it (deleting it may cascade there)."""
    graph = nx.DiGraph()
    for table in meta.sorted_tables:
        graph.add_node(table.name)
        for fk in table.foreign_keys:
            if fk.column.table.name != table.name:
                graph.add_edge(fk.column.table.name, table.name)
    return {name: nx.descendants(graph, name) for name in graph}
