"""The pack lifecycle on the one metadata API: install, upgrade, uninstall, export, diff.

``MetadataAPI`` inherits these; each operation is one ``change()``: one
transaction that edits the stored layers, rebuilds and checks the definitions,
plans and applies the DDL and records a new metadata version. A dry run goes
through the same steps and stops before writing, so it reports exactly what the
real run then does. The CLI (``trellis pack …``) and the REST API
(``/api/v1/packs…``) call these and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from trellis.metadata import DefinitionError, Layers, PackLayer, store
from trellis.metadata import packs as pack_files
from trellis.metadata.names import table_name
from trellis.metadata.pack_archive import ArchiveRefused, is_archive, opened
from trellis.metadata.pack_diff import diff
from trellis.metadata.pack_export import export_customizations
from trellis.metadata.pack_validate import validate
from trellis.metadata.uninstall import UninstallReport, plan_uninstall
from trellis.metadata.upgrade import PackRefused, UpgradeReport, plan_upgrade, resolve_conflict
from trellis.runtime.errors import Conflict, Invalid, NotFound

PACK_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")
#: Loads a pack's sample data inside the install's transaction.
SampleLoader = Callable[[sa.Connection, Path], Any]


@dataclass
class PackResult:
    """What a pack operation did (or, for a dry run, would do)."""

    change: Any  # ChangeResult
    report: UpgradeReport | UninstallReport | None = None
    #: rows in archived columns and tables: {"table.column" or "table": rows}.
    archived_rows: dict[str, int] | None = None

    def as_json(self) -> dict[str, Any]:
        out = {
            "applied": self.change.applied,
            "version": self.change.version,
            "ddl": self.change.plan.as_json(),
            "rows_affected": sum(s.rows_affected for s in self.change.plan.steps),
        }
        if self.report is not None:
            out.update(self.report.as_json())
        if self.archived_rows is not None:
            out["archived_rows"] = self.archived_rows
        return out


@contextlib.contextmanager
def pack_folder(name_or_path: str | Path) -> Iterator[Path]:
    """A pack folder from a folder, an archive (checked, then unpacked) or a shipped name."""
    path = Path(name_or_path)
    if is_archive(path):
        try:
            with opened(path) as folder:
                yield folder
        except ArchiveRefused as exc:
            raise Invalid(f"the pack archive was refused: {exc}") from None
        return
    try:
        yield pack_files.locate(str(name_or_path))
    except FileNotFoundError as exc:
        raise NotFound(str(exc)) from None


def read_pack(folder: Path) -> PackLayer:
    try:
        return pack_files.read(folder)
    except DefinitionError as exc:
        raise Invalid(
            f"the pack was refused: {len(exc.problems)} problem(s)",
            [p.as_json() for p in exc.problems],
        ) from None


def _refused(exc: PackRefused) -> Invalid | Conflict:
    if exc.problems:
        return Invalid(exc.message, [p.as_json() for p in exc.problems])
    return Conflict(exc.message)


class PackOperations:
    """Mixed into ``MetadataAPI`` (which provides ``engine`` and ``change``)."""

    engine: sa.Engine
    change: Callable[..., Any]

    def install_pack(
        self,
        name_or_path: str | Path,
        actor: str | None = None,
        *,
        dry_run: bool = False,
        sample_data: SampleLoader | None = None,
    ):
        """Install a pack as a new layer; with ``sample_data``, load its demo data in the
        same transaction (all or nothing)."""
        with pack_folder(name_or_path) as folder:
            layer = read_pack(folder)
            sample = folder / "sample_data"

            def edit(layers: Layers) -> Layers:
                installed = {p.name: p.version for p in layers.packs}
                if layer.name in installed:
                    if installed[layer.name] == layer.version:
                        return layers
                    raise Conflict(
                        f"pack {layer.name} {installed[layer.name]} is installed; to move to "
                        f"{layer.version} run: trellis pack upgrade PATH"
                    )
                problems = pack_files.dependency_problems(layer.manifest, installed)
                if problems:
                    raise Invalid(
                        "the pack's dependencies are not met", [p.as_json() for p in problems]
                    )
                return layers.with_pack(layer)

            then = (lambda conn, defs: sample_data(conn, sample)) if sample_data else None
            return self.change(
                actor,
                f"install pack {layer.name} {layer.version}",
                edit,
                dry_run=dry_run,
                then=then,
            )

    def upgrade_pack(
        self, name_or_path: str | Path, actor: str | None = None, *, dry_run: bool = False
    ) -> PackResult:
        """Upgrade an installed pack with a three-way merge per property (see ``upgrade``)."""
        with pack_folder(name_or_path) as folder:
            layer = read_pack(folder)
        found: dict[str, Any] = {}

        def edit(layers: Layers) -> Layers:
            try:
                after, found["report"] = plan_upgrade(layers, layer)
            except PackRefused as exc:
                raise _refused(exc) from None
            return after

        change = self.change(
            actor, f"upgrade pack {layer.name} to {layer.version}", edit, dry_run=dry_run
        )
        return PackResult(change, found.get("report"))

    def uninstall_pack(
        self, name: str, actor: str | None = None, *, dry_run: bool = False
    ) -> PackResult:
        """Remove what pack ``name`` created; tables and columns stay with their data."""
        found: dict[str, Any] = {}

        def edit(layers: Layers) -> Layers:
            try:
                after, found["report"] = plan_uninstall(layers, name)
            except PackRefused as exc:
                raise _refused(exc) from None
            return after

        with self.engine.connect() as conn:
            layers_before = store.load(conn)
        change = self.change(actor, f"uninstall pack {name}", edit, dry_run=dry_run)
        report = found.get("report")
        rows = self._archived_rows(layers_before, report) if report else None
        return PackResult(change, report, rows)

    def resolve_conflict(
        self, actor: str | None, key: str, place: str, keep: str, *, dry_run: bool = False
    ):
        """Settle an upgrade conflict by keeping the admin's or the new version's value."""
        if keep not in ("admin", "vendor"):
            raise Invalid('choose keep="admin" (your value) or keep="vendor" (the new version\'s)')

        def edit(layers: Layers) -> Layers:
            try:
                return resolve_conflict(layers, key, place, keep)
            except KeyError:
                raise NotFound(f"there is no open conflict on {key} at {place!r}") from None

        return self.change(
            actor, f"resolve conflict {key} {place}: keep {keep}", edit, dry_run=dry_run
        )

    def conflicts(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [c.as_json() for c in store.load(conn).conflicts.values()]

    def packs(self) -> list[dict[str, Any]]:
        """Installed packs in install order, with their manifests."""
        with self.engine.connect() as conn:
            layers = store.load(conn)
            t = store.pack_table
            when = {
                r.name: r
                for r in conn.execute(sa.select(t.c.name, t.c.installed_at, t.c.installed_by))
            }
        return [
            {
                "name": p.name,
                "version": p.version,
                "label": p.manifest.get("label"),
                "publisher": p.manifest.get("publisher"),
                # Stored in UTC without a zone (as every metadata time).
                "installed_at": when[p.name].installed_at.isoformat(timespec="seconds"),
                "installed_by": when[p.name].installed_by,
                "dependencies": p.manifest.get("dependencies", {}),
                "components": len(p.components),
                "open_conflicts": sum(c.pack == p.name for c in layers.conflicts.values()),
            }
            for p in layers.packs
        ]

    def export_pack(
        self, name: str, folder: Path, *, version: str = "1.0.0", label: dict | None = None
    ) -> list[str]:
        """Write the admin's customizations as a pack folder; returns the files written."""
        if not PACK_NAME.fullmatch(name):
            raise Invalid(
                f"{name[:60]!r} is not a pack name: use a-z, 0-9 and _ (2–40), e.g. acme_crm"
            )
        with self.engine.connect() as conn:
            layers = store.load(conn)
        if not layers.created and not layers.patches:
            raise Invalid("there are no customizations to export")
        files = export_customizations(layers, name, version, label)
        for rel, data in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return sorted(files)

    def diff_packs(self, a: str | Path, b: str | Path) -> list[dict[str, Any]]:
        """What differs from ``a`` to ``b``: pack folders/archives/names, or ``"live"``.

        Against ``"live"``, only the components the pack defines (or that came
        from an installed pack of that name) are compared.
        """
        packs = {str(w): self._pack_components(w) for w in (a, b) if str(w) != "live"}
        live: dict = {}
        if len(packs) < 2:
            with self.engine.connect() as conn:
                layers = store.load(conn)
            effective = layers.effective()
            name, components = next(iter(packs.values())) if packs else ("", {})
            live = {
                k: c
                for k, c in effective.items()
                if k in components or layers.provenance(k).startswith(f"{name}@")
            }
        first, second = (packs.get(str(w), (None, live))[1] for w in (a, b))
        return diff(first, second)

    def _pack_components(self, which: str | Path) -> tuple[str, dict]:
        with pack_folder(which) as folder:
            layer = read_pack(folder)
        return layer.name, layer.components

    def validate_pack(self, name_or_path: str | Path) -> list[dict[str, Any]]:
        """Every problem an install would find, without touching the database."""
        with pack_folder(name_or_path) as folder:
            _, problems = validate(folder)
        return [p.as_json() for p in problems]

    def _archived_rows(self, layers: Layers, report: UninstallReport) -> dict[str, int]:
        effective = layers.effective()
        rows: dict[str, int] = {}
        with self.engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            for key in report.archived:
                kind, name = key.split(":", 1)
                obj, _, field = name.partition(".")
                table = table_name(obj)
                if table not in tables or key not in effective:
                    continue
                t = sa.table(table, *([sa.column(field)] if field else []))
                query = sa.select(sa.func.count()).select_from(t)
                if field:
                    query = query.where(t.c[field].isnot(None))
                rows[f"{table}.{field}" if field else table] = conn.execute(query).scalar_one()
        return rows
