"""The metadata store: layers and customizations in the platform's own tables.

Every change gets a new metadata version (a row in ``trellis_metadata_change``
with who, when and what), so each process can tell with one cheap query
whether its compiled metadata is still current.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from trellis.metadata.components import Component
from trellis.metadata.layers import CUSTOM, Conflict, Layers, PackLayer

meta = sa.MetaData()

pack_table = sa.Table(
    "trellis_pack",
    meta,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("installed_at", sa.DateTime, nullable=False),
    sa.Column("installed_by", sa.String(80)),
)

component_table = sa.Table(
    "trellis_component",
    meta,
    sa.Column("id", sa.Integer, primary_key=True),
    # The pack name, or "custom" for components an admin created.
    sa.Column("layer", sa.String(40), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    # True for a pack's extension of a component a lower pack defines.
    sa.Column("extends", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("layer", "key"),
)

customization_table = sa.Table(
    "trellis_customization",
    meta,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("property", sa.String(80), primary_key=True),
    sa.Column("value", sa.JSON),
    sa.Column("changed_by", sa.String(80)),
    sa.Column("changed_at", sa.DateTime, nullable=False),
)

conflict_table = sa.Table(
    "trellis_pack_conflict",
    meta,
    sa.Column("key", sa.String(200), primary_key=True),
    # The place inside the property, readable: "label/zh-CN", "values[vip]/label/en".
    sa.Column("place", sa.String(400), primary_key=True),
    sa.Column("pack", sa.String(40), nullable=False),
    sa.Column("property", sa.String(80), nullable=False),
    sa.Column("path", sa.JSON, nullable=False),
    sa.Column("base", sa.JSON),
    sa.Column("vendor", sa.JSON),
    sa.Column("admin", sa.JSON),
)

change_table = sa.Table(
    "trellis_metadata_change",
    meta,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Column("changed_by", sa.String(80)),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)


_CURRENT_VERSION = sa.select(sa.func.coalesce(sa.func.max(change_table.c.version), 0))


def current_version(conn: sa.Connection) -> int:
    """The newest metadata version (0 before anything was defined)."""
    return conn.execute(_CURRENT_VERSION).scalar_one()


def load(conn: sa.Connection) -> Layers:
    """Read every layer and customization."""
    rows = conn.execute(sa.select(component_table).order_by(component_table.c.id)).all()
    by_layer: dict[str, dict[str, Component]] = {}
    for row in rows:
        by_layer.setdefault(row.layer, {})[row.key] = Component(
            row.key, row.definition, row.position, row.extends
        )
    packs = tuple(
        PackLayer(p.name, p.version, p.manifest, by_layer.get(p.name, {}))
        for p in conn.execute(sa.select(pack_table).order_by(pack_table.c.position))
    )
    patches = {(r.key, r.property): r.value for r in conn.execute(sa.select(customization_table))}
    conflicts = {
        (r.key, r.place): Conflict(
            r.pack, r.key, r.property, tuple(r.path), r.base, r.vendor, r.admin
        )
        for r in conn.execute(sa.select(conflict_table))
    }
    return Layers(
        packs=packs, created=by_layer.get(CUSTOM, {}), patches=patches, conflicts=conflicts
    )


def save(
    conn: sa.Connection, before: Layers, after: Layers, *, actor: str | None, summary: str
) -> int:
    """Write what differs between two Layers and record a new version; returns it."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    detail: list[dict[str, Any]] = []
    _save_packs(conn, before, after, now, actor, detail)
    _save_components(conn, CUSTOM, before.created, after.created, detail)
    for layer in after.packs:
        old = next((p.components for p in before.packs if p.name == layer.name), {})
        _save_components(conn, layer.name, old, layer.components, detail)
    for layer in before.packs:
        if after.pack(layer.name) is None:
            _save_components(conn, layer.name, layer.components, {}, detail)
    _save_patches(conn, before.patches, after.patches, now, actor, detail)
    _save_conflicts(conn, before.conflicts, after.conflicts, detail)
    result = conn.execute(
        sa.insert(change_table).values(
            changed_at=now, changed_by=actor, summary=summary[:500], detail=detail
        )
    )
    return result.inserted_primary_key[0]


def _save_packs(conn, before: Layers, after: Layers, now, actor, detail) -> None:
    old = {p.name: p for p in before.packs}
    for name in old.keys() - {p.name for p in after.packs}:
        conn.execute(sa.delete(pack_table).where(pack_table.c.name == name))
        detail.append({"pack": name, "before": old[name].version, "after": None})
    for position, layer in enumerate(after.packs):
        row = {"version": layer.version, "manifest": layer.manifest, "position": position}
        if layer.name not in old:
            conn.execute(
                sa.insert(pack_table).values(
                    name=layer.name, installed_at=now, installed_by=actor, **row
                )
            )
            detail.append({"pack": layer.name, "after": layer.version})
        elif old[layer.name].version != layer.version or old[layer.name].manifest != layer.manifest:
            conn.execute(sa.update(pack_table).where(pack_table.c.name == layer.name).values(**row))
            detail.append(
                {"pack": layer.name, "before": old[layer.name].version, "after": layer.version}
            )


def _save_components(
    conn, layer: str, old: dict[str, Component], new: dict[str, Component], detail
) -> None:
    t = component_table
    for key, comp in new.items():
        previous = old.get(key)
        row = {"definition": comp.definition, "position": comp.position, "extends": comp.extends}
        if previous is None:
            conn.execute(sa.insert(t).values(layer=layer, key=key, **row))
        elif previous != comp:
            conn.execute(sa.update(t).where(t.c.layer == layer, t.c.key == key).values(**row))
        else:
            continue
        detail.append(
            {
                "layer": layer,
                "key": key,
                "before": previous and previous.definition,
                "after": comp.definition,
            }
        )
    for key in old.keys() - new.keys():
        conn.execute(sa.delete(t).where(t.c.layer == layer, t.c.key == key))
        detail.append({"layer": layer, "key": key, "before": old[key].definition, "after": None})


def _save_patches(conn, old: dict, new: dict, now, actor, detail) -> None:
    t = customization_table
    for (key, prop), value in new.items():
        if (key, prop) in old and old[(key, prop)] == value:
            continue
        conn.execute(sa.delete(t).where(t.c.key == key, t.c.property == prop))
        conn.execute(
            sa.insert(t).values(
                key=key, property=prop, value=value, changed_by=actor, changed_at=now
            )
        )
        detail.append(
            {"key": key, "property": prop, "before": old.get((key, prop)), "after": value}
        )
    for key, prop in old.keys() - new.keys():
        conn.execute(sa.delete(t).where(t.c.key == key, t.c.property == prop))
        detail.append({"key": key, "property": prop, "before": old[(key, prop)], "after": None})


def _save_conflicts(conn, old: dict, new: dict, detail) -> None:
    t = conflict_table
    for ident in old.keys() - new.keys():
        conn.execute(sa.delete(t).where(t.c.key == ident[0], t.c.place == ident[1]))
        detail.append({"conflict": list(ident), "resolved": True})
    for ident, c in new.items():
        if old.get(ident) == c:
            continue
        conn.execute(sa.delete(t).where(t.c.key == ident[0], t.c.place == ident[1]))
        conn.execute(
            sa.insert(t).values(
                key=c.key,
                place=c.place,
                pack=c.pack,
                property=c.property,
                path=list(c.path),
                base=c.base,
                vendor=c.vendor,
                admin=c.admin,
            )
        )
        detail.append({"conflict": list(ident), "vendor": c.vendor, "admin": c.admin})


def changes(
    conn: sa.Connection, *, limit: int = 50, before: int | None = None, key: str | None = None
) -> list[dict[str, Any]]:
    """Stored changes, newest first: ``before`` a version (paging), touching ``key`` only.

    The detail is JSON, so the ``key`` filter reads rows in pages rather than asking
    the database to look inside it (history is read by people, a page at a time).
    """
    found: list[dict[str, Any]] = []
    query = sa.select(change_table).order_by(change_table.c.version.desc())
    while len(found) < limit:
        page = query.limit(200)
        if before is not None:
            page = page.where(change_table.c.version < before)
        rows = conn.execute(page).all()
        found.extend(_change(r) for r in rows if key is None or touches(r.detail, key))
        if len(rows) < 200:
            break
        before = rows[-1].version
    return found[:limit]


def change(conn: sa.Connection, version: int) -> dict[str, Any] | None:
    """One stored change by its version, or None."""
    row = conn.execute(sa.select(change_table).where(change_table.c.version == version)).first()
    return _change(row) if row else None


def touches(detail: list[dict[str, Any]], key: str, prop: str | None = None) -> bool:
    """Whether a change's detail touched component ``key`` (and property ``prop``)."""
    for item in detail:
        if item.get("key") == key and (prop is None or item.get("property") in (None, prop)):
            return True
        if "conflict" in item and item["conflict"][0] == key:
            return True
    return False


def _change(row) -> dict[str, Any]:
    return {
        "version": row.version,
        "changed_at": row.changed_at.isoformat(timespec="seconds"),
        "changed_by": row.changed_by,
        "summary": row.summary,
        "detail": row.detail,
    }
