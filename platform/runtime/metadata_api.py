"""The one metadata API: every change to definitions goes through here.

The CLI, pack installation, the REST API and (later) the admin UI call
``MetadataAPI``; each change is one transaction that loads the layers,
applies the edit in memory, checks the result (every problem reported at
once), plans and applies the DDL, and stores the new layers as a new
metadata version. A refused change leaves definitions and tables exactly as
they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from trellis import metadata
from trellis.metadata import (
    UNSET,
    Component,
    DefinitionError,
    Definitions,
    Layers,
    explode,
    key_for,
    store,
)
from trellis.metadata import packs as pack_files
from trellis.metadata.components import FLOW_KINDS, assemble_objects
from trellis.metadata.layers import IDENTITY
from trellis.metadata.revert import NotRevertible, Superseded
from trellis.metadata.revert import revert as revert_change
from trellis.runtime import schema_sync
from trellis.runtime.compiled import MetadataCache, compile_definitions
from trellis.runtime.context import system_context
from trellis.runtime.database import begin_write
from trellis.runtime.errors import Conflict, Forbidden, Invalid, NotFound
from trellis.runtime.pack_operations import PackOperations
from trellis.runtime.records import propagation
from trellis.runtime.system_tables import create_system_tables

#: Kinds ``define`` takes: each is one whole component (objects are made of fields).
DEFINABLE = (*FLOW_KINDS, "layout", "list_view", "role", "conversion", "report", "dashboard", "app")
#: Kinds ``remove`` deletes. Roles, apps and conversions stay out: users and pages hang
#: on them, so an admin changes those instead. Fields are archived, never removed.
REMOVABLE = (*FLOW_KINDS, "layout", "list_view", "report", "dashboard")


@dataclass
class ChangeResult:
    version: int
    plan: schema_sync.Plan
    definitions: Definitions
    applied: bool


class _DryRun(Exception):
    pass


class MetadataAPI(PackOperations):
    def __init__(self, engine: sa.Engine, cache: MetadataCache):
        self.engine = engine
        self.cache = cache
        #: Called inside every applied change's transaction with the connection,
        #: the keys of the components that changed and the new definitions: the
        #: flow engine schedules catch-up work for new or changed automations here.
        self.after_change: list[Callable[[sa.Connection, set[str], Definitions], None]] = []
        #: Asked before ``remove`` deletes a component, with the connection and its key;
        #: one raises Conflict when data still hangs on it (records in a pool).
        self.removal_checks: list[Callable[[sa.Connection, str], None]] = []

    def init_database(self) -> None:
        """Create the platform's own tables (safe to run again)."""
        with begin_write(self.engine) as conn:
            create_system_tables(conn)

    def change(
        self,
        actor: str | None,
        summary: str,
        edit: Callable[[Layers], Layers],
        *,
        dry_run: bool = False,
        check: Callable[[sa.Connection], None] | None = None,
        then: Callable[[sa.Connection, Definitions], None] | None = None,
    ) -> ChangeResult:
        """Apply ``edit`` to the stored layers in one transaction; Invalid (422) when refused.

        ``check`` runs right after ``edit``, in a dry run too, for refusals that read
        the data. ``then`` runs last inside the same transaction with the new
        definitions in force (a pack's sample data is loaded there): if it fails,
        nothing is kept.
        """
        outcome: dict[str, Any] = {}
        try:
            with begin_write(self.engine) as conn:
                before = store.load(conn)
                old = self.cache.get(conn).definitions if store.current_version(conn) else None
                after = edit(before)
                if check is not None:
                    check(conn)
                if after == before:  # nothing to do: no new version, no DDL
                    outcome["unchanged"] = store.current_version(conn)
                    raise _DryRun
                try:
                    defs = metadata.build(after.effective(), provenance=after.provenance)
                except DefinitionError as exc:
                    raise Invalid(
                        f"the definitions were refused: {len(exc.problems)} problem(s)",
                        [p.as_json() for p in exc.problems],
                    ) from None
                # Compiled once: the plan reads its tables, the backfill uses it, then
                # (with the new version) the cache.
                compiled = compile_definitions(defs)
                tables = {name: rt.table for name, rt in compiled.objects.items()}
                plan = schema_sync.plan(conn, old, defs, tables)
                outcome.update(plan=plan, defs=defs)
                if dry_run:
                    raise _DryRun
                schema_sync.apply(conn, plan)
                propagation.backfill(conn, compiled, old, system_context(actor, conn))
                outcome["version"] = store.save(conn, before, after, actor=actor, summary=summary)
                current = replace(defs, version=outcome["version"])
                compiled.definitions = outcome["defs"] = current
                outcome["compiled"] = compiled
                changed = _changed_keys(before.effective(), after.effective())
                for hook in self.after_change:
                    hook(conn, changed, current)
                if then is not None:
                    self.cache.use(conn, compiled)
                    then(conn, current)
        except _DryRun:
            if "unchanged" in outcome:
                return ChangeResult(0, schema_sync.Plan(), None, applied=False)
            return ChangeResult(0, outcome["plan"], outcome["defs"], applied=False)
        self.cache.prime(outcome["compiled"])
        return ChangeResult(outcome["version"], outcome["plan"], outcome["defs"], applied=True)

    # -- packs: install, upgrade, uninstall … come from PackOperations -----

    def installed_packs(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {p.name: p.version for p in store.load(conn).packs}

    # -- admin changes ------------------------------------------------------

    def create_object(
        self, actor: str | None, definition: dict[str, Any], *, dry_run: bool = False
    ) -> ChangeResult:
        if not isinstance(definition, dict):
            raise Invalid("an object definition is a JSON object")
        key = key_for("object", definition)

        def edit(layers: Layers) -> Layers:
            if key in layers.effective():
                raise Conflict(f"object {definition.get('api_name')!r} already exists")
            for comp in explode("object", definition):
                layers = layers.with_created(comp)
            return layers

        summary = f"create object {definition.get('api_name')}"
        return self.change(actor, summary, edit, dry_run=dry_run)

    def add_field(
        self,
        actor: str | None,
        object_name: str,
        definition: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> ChangeResult:
        if not isinstance(definition, dict):
            raise Invalid("a field definition is a JSON object")
        key = key_for("field", definition, object_name)

        def edit(layers: Layers) -> Layers:
            effective = layers.effective()
            if f"object:{object_name}" not in effective:
                raise NotFound(f"there is no object {object_name[:60]!r}")
            if key in effective:
                archived = effective[key].definition.get("archived")
                raise Conflict(
                    f"field {definition.get('api_name')!r} already exists"
                    + (" (archived: restore it instead)" if archived else "")
                )
            return layers.with_created(Component(key, definition))

        return self.change(actor, f"add field {key}", edit, dry_run=dry_run)

    def patch(
        self, actor: str | None, key: str, changes: dict[str, Any], *, dry_run: bool = False
    ) -> ChangeResult:
        """Change properties of one component (a customization; packs keep their layer)."""
        if not isinstance(changes, dict) or not changes:
            raise Invalid("send the properties to change as a JSON object")

        def edit(layers: Layers) -> Layers:
            if key not in layers.effective():
                raise NotFound(f"there is no {key.replace(':', ' ')}")
            _refuse_locked(layers, key)
            for prop, value in changes.items():
                if prop in IDENTITY:
                    raise Invalid(
                        f"{prop!r} identifies the component and cannot be changed",
                        [{"field": prop, "message": "cannot be changed"}],
                    )
                layers = layers.with_patch(key, prop, UNSET if value is None else value)
            return layers

        summary = f"change {key}: {', '.join(sorted(changes))}"
        return self.change(actor, summary, edit, dry_run=dry_run)

    def define(
        self,
        actor: str | None,
        kind: str,
        definition: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> ChangeResult:
        """Create one component, or make an existing one equal ``definition``.

        For ``approval_flow``, ``automation``, ``pool``, ``assignment_rule``,
        ``layout``, ``list_view`` and ``role``: the whole definition is sent.
        A new component is the admin's own; for an existing one each property
        that differs is kept as a patch, so a pack's component stays the pack's
        and an upgrade can still tell what the admin changed.
        """
        if kind not in DEFINABLE:
            raise Invalid(f"{kind[:40]!r} cannot be defined here; kinds: {', '.join(DEFINABLE)}")
        if not isinstance(definition, dict):
            raise Invalid(f"a {kind.replace('_', ' ')} definition is a JSON object")
        key = key_for(kind, definition)

        def edit(layers: Layers) -> Layers:
            current = layers.effective().get(key)
            if current is None:
                return layers.with_created(Component(key, definition))
            _refuse_locked(layers, key)
            for prop in set(definition) | set(current.definition):
                new = definition.get(prop, UNSET)
                if prop not in IDENTITY and new != current.definition.get(prop, UNSET):
                    layers = layers.with_patch(key, prop, new)
            return layers

        return self.change(actor, f"define {key}", edit, dry_run=dry_run)

    def definition(self, kind: str, key: str) -> dict[str, Any]:
        """The effective JSON of one component (``kind`` and ``"object.api_name"``)."""
        with self.engine.connect() as conn:
            comp = store.load(conn).effective().get(f"{kind}:{key}")
        if comp is None:
            raise NotFound(f"there is no {kind.replace('_', ' ')} {key[:80]!r}")
        return comp.definition

    def remove(
        self, actor: str | None, kind: str, key: str, *, dry_run: bool = False
    ) -> ChangeResult:
        """Delete a component the admin made (``kind`` and ``"object.api_name"``).

        A pack's component is refused (422): it is the pack's, and would come back with
        the next upgrade; the admin deactivates it or changes it instead. A component
        something else still names is refused with each place (the definitions check).
        The removal is a change like any other: the history shows it and reverts it.
        """
        if kind not in REMOVABLE:
            raise Invalid(
                f"a {kind[:40].replace('_', ' ')} cannot be removed here; "
                f"kinds: {', '.join(REMOVABLE)}"
            )
        full = f"{kind}:{key}"

        def edit(layers: Layers) -> Layers:
            if full not in layers.effective():
                raise NotFound(f"there is no {kind.replace('_', ' ')} {key[:80]!r}")
            if full not in layers.created:
                raise Invalid(
                    f"{kind.replace('_', ' ')} {key} comes with pack {layers.provenance(full)} "
                    "and cannot be removed; change it or deactivate it instead"
                )
            return layers.without(full)

        def check(conn: sa.Connection) -> None:
            for refuse in self.removal_checks:
                refuse(conn, full)

        try:
            return self.change(actor, f"remove {full}", edit, dry_run=dry_run, check=check)
        except Invalid as exc:
            if exc.details and exc.message.startswith("the definitions were refused"):
                raise _still_used(kind, key, exc.details) from None
            raise

    def archive_field(
        self, actor: str | None, object_name: str, field_name: str, *, dry_run: bool = False
    ) -> ChangeResult:
        key = f"field:{object_name}.{field_name}"
        return self.patch(actor, key, {"archived": True}, dry_run=dry_run)

    # -- history and revert ---------------------------------------------------

    def history(
        self, *, limit: int = 50, before: int | None = None, key: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored changes, newest first: version, who, when, summary and ``detail``
        (per component or property touched: the value before and after)."""
        with self.engine.connect() as conn:
            return store.changes(conn, limit=max(1, min(limit, 500)), before=before, key=key)

    def revert(self, actor: str | None, version: int, *, dry_run: bool = False) -> ChangeResult:
        """Undo one change as a new change of its own (checked like any edit).

        Refused (409) when a later change touched the same property, naming it, and
        (422) for pack operations, which the pack manager undoes.
        """
        with self.engine.connect() as conn:
            target = store.change(conn, version)
        if target is None:
            raise NotFound(f"there is no metadata version {version}")

        def edit(layers: Layers) -> Layers:
            try:
                return revert_change(layers, target["detail"])
            except NotRevertible as exc:
                raise Invalid(f"version {version} cannot be reverted: {exc}") from None
            except Superseded as exc:
                raise Conflict(self._superseded(version, exc)) from None

        summary = f"revert version {version}: {target['summary']}"
        return self.change(actor, summary, edit, dry_run=dry_run)

    def _superseded(self, version: int, exc: Superseded) -> str:
        with self.engine.connect() as conn:
            later = [
                c
                for c in store.changes(conn, limit=500, key=exc.key)
                if c["version"] > version and store.touches(c["detail"], exc.key, exc.prop)
            ]
        if not later:
            return f"version {version} cannot be reverted: {exc}"
        last = later[0]
        return (
            f"version {version} cannot be reverted: {exc} (version {last['version']} by "
            f"{last['changed_by'] or 'the system'}: {last['summary']}); revert that one first"
        )

    # -- plan, export and import ----------------------------------------------

    def plan(self) -> schema_sync.Plan:
        """The DDL that would bring the database in line with the stored definitions."""
        with self.engine.connect() as conn:
            layers = store.load(conn)
            defs = metadata.build(layers.effective(), provenance=layers.provenance)
            return schema_sync.plan(conn, None, defs)

    def export(self, folder: Path) -> int:
        """Write the effective definitions as JSON files (the pack folder layout)."""
        with self.engine.connect() as conn:
            effective = store.load(conn).effective()
        written = 0
        for name, obj in assemble_objects(effective.values()).items():
            written += _write(folder / "objects" / f"{name}.json", obj)
        for comp in effective.values():
            if comp.kind in DEFINABLE:
                fname = comp.key.split(":", 1)[1].replace(".", "_")
                written += _write(folder / f"{comp.kind}s" / f"{fname}.json", comp.definition)
        return written

    def import_folder(
        self, actor: str | None, folder: Path, *, dry_run: bool = False
    ) -> ChangeResult:
        """Apply definition files as the admin's changes: new components are created,
        existing ones are patched where their properties differ."""
        components = _read_folder(folder)

        def edit(layers: Layers) -> Layers:
            effective = layers.effective()
            for comp in components:
                current = effective.get(comp.key)
                if current is None:
                    layers = layers.with_created(comp)
                    continue
                for prop in set(comp.definition) | set(current.definition):
                    new = comp.definition.get(prop, UNSET)
                    if prop not in IDENTITY and new != current.definition.get(prop, UNSET):
                        layers = layers.with_patch(comp.key, prop, new)
            return layers

        summary = f"import definitions from {folder.name}"
        return self.change(actor, summary, edit, dry_run=dry_run)


def _still_used(kind: str, key: str, problems: list[dict[str, Any]]) -> Invalid:
    """The definitions check refused a removal: each problem is a place naming ``key``
    (only the removal changed), so say that rather than "there is no report …"."""
    places = []
    for problem in problems:
        component, _, inside = str(problem.get("pointer", "")).partition("/")
        other_kind, _, other_key = component.partition(":")
        places.append(f"{other_kind.replace('_', ' ')} {other_key} (/{inside})")
    what = f"{kind.replace('_', ' ')} {key}"
    return Invalid(
        f"{what} is still used by {', '.join(places)}; change or remove those first",
        [
            {"pointer": p.get("pointer", ""), "message": f"names {what}, which you are removing"}
            for p in problems
        ],
    )


def _refuse_locked(layers: Layers, key: str) -> None:
    reason = layers.lock_reason(key)
    if reason:
        raise Forbidden(f"{reason}; it cannot be changed here")


def _changed_keys(before: dict, after: dict) -> set[str]:
    """Component keys whose effective definition was added, changed or removed."""
    return {
        key
        for key in before.keys() | after.keys()
        if (before.get(key) and before[key].definition)
        != (after.get(key) and after[key].definition)
    }


def _write(path: Path, data: Any) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 1


def _read_folder(folder: Path) -> list[Component]:
    problems, out = [], []
    for sub, kind in pack_files.FOLDERS.items():
        for path in sorted((folder / sub).glob("*.json")):
            try:
                data = json.loads(path.read_text("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(
                    {"pointer": f"{sub}/{path.name}", "message": f"not valid JSON: {exc}"}
                )
                continue
            if not isinstance(data, dict):
                problems.append(
                    {"pointer": f"{sub}/{path.name}", "message": "expected one JSON object"}
                )
                continue
            out.extend(explode(kind, data))
    if problems:
        raise Invalid("some definition files could not be read", problems)
    if not out:
        raise Invalid(
            f"no definition files under {folder} (expected .json files in "
            f"{', '.join(f'{sub}/' for sub in pack_files.FOLDERS)})"
        )
    return out
