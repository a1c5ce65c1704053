"""Loading a pack's sample data: the demo organisation and demo records.

``sample_data/org.json`` holds departments (a tree) and users (with manager
and roles); ``sample_data/records*.json`` hold records per object in
dependency order (files are read in name order, so ``records.json`` comes
before ``records_2_orders.json`` and later files may point at earlier records).
In records, ``"_ref"`` names a record so later ones can point at it with
``"#name"`` in a lookup field, and ``owner`` is a username.
Records go through the records service like any other write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trellis.runtime import people
from trellis.runtime.database import begin_write
from trellis.runtime.errors import Invalid


def load_org(runtime, folder: Path, password: str) -> list[str]:
    """Create the departments and users of ``org.json``; skip the ones that exist."""
    with begin_write(runtime.engine) as conn:
        return load_org_on(conn, folder, password)


def load_org_on(conn, folder: Path, password: str) -> list[str]:
    """``load_org`` inside the caller's transaction (no ``org.json``: nothing to do)."""
    if not (folder / "org.json").is_file():
        return []
    org = json.loads((folder / "org.json").read_text("utf-8"))
    created = []
    for d in org["departments"]:
        people.ensure_department(
            conn, d["api_name"], d["label"]["zh-CN"], d["label"]["en"], d.get("parent")
        )
    for u in org["users"]:
        if people.user_id(conn, u["username"]) is None:
            people.create_user(
                conn,
                u["username"],
                password,
                display_name=u["display_name"],
                department=u.get("department"),
                manager=u.get("manager"),
                roles=u.get("roles", []),
                locale=u.get("locale", "zh-CN"),
                email=u.get("email"),
            )
            created.append(u["username"])
    for d in org["departments"]:
        if d.get("head"):
            people.set_department_head(conn, d["api_name"], d["head"])
    return created


def load_records(runtime, folder: Path, acting_user: str) -> int:
    """Create the records of ``records*.json`` in one transaction; returns how many."""
    with begin_write(runtime.engine) as conn:
        return load_records_on(runtime, conn, folder, acting_user)


def load_records_on(runtime, conn, folder: Path, acting_user: str) -> int:
    """``load_records`` inside the caller's transaction."""
    blocks = [
        block
        for path in sorted(folder.glob("records*.json"))
        for block in json.loads(path.read_text("utf-8"))["objects"]
    ]
    refs: dict[str, int] = {}
    count = 0
    acting = people.user_id(conn, acting_user)
    if acting is None:
        raise Invalid(f"sample data is loaded as {acting_user!r}, and there is no such user")
    ctx = runtime.context(acting, conn=conn).on(conn)
    owners: dict[str, int] = {}
    for block in blocks:
        for raw in block["records"]:
            values, ref, owner = _resolve(raw, refs)
            owner_id = owners.setdefault(owner, people.user_id(conn, owner)) if owner else None
            result = runtime.records.create(ctx, block["object"], values, owner=owner_id)
            if ref:
                refs[ref] = result.record["id"]
            count += 1
    return count


def loader(runtime, password: str, acting_user: str = "admin"):
    """A ``SampleLoader`` for ``install_pack``: the org, then the records, in its transaction."""

    def load(conn, folder: Path) -> int:
        load_org_on(conn, folder, password)
        return load_records_on(runtime, conn, folder, acting_user)

    return load


def _resolve(raw: dict[str, Any], refs: dict[str, int]):
    values = {}
    for key, value in raw.items():
        if key in ("_ref", "owner"):
            continue
        if isinstance(value, str) and value.startswith("#") and value[1:] in refs:
            value = refs[value[1:]]
        values[key] = value
    return values, raw.get("_ref"), raw.get("owner")
