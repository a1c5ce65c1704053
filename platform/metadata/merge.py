"""Merging JSON property values: an extension over its base, and three-way merges.

Two operations share one idea of how JSON values nest:

* ``overlay(base, top)`` lays a pack's extension (``"extends": true``) over the
  value a lower pack defined: objects merge key by key, lists of items that
  carry an ``api_name`` (or ``id``) merge item by item, anything else is
  replaced. ``None`` removes a key; an item ``{"api_name": x, "$remove": true}``
  removes that item; ``{"$replace": value}`` takes ``value`` whole, unmerged.
* ``merge3(base, vendor, admin)`` is the per-property three-way merge of a pack
  upgrade: ``base`` is what the installed pack version said, ``vendor`` what the
  new version says, ``admin`` the admin's customization. A side that did not
  change yields to the side that did; when both changed the same place
  differently that place is a ``Clash`` and the admin's value stays.

Values are plain JSON (dict, list, str, number, bool, None). ``ABSENT`` stands
for "this key or item is not there", which differs from ``None``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

#: A key or list item that is not there (JSON-storable, same marker as a removed patch).
ABSENT: dict[str, bool] = {"$unset": True}
REMOVE = "$remove"
#: ``{"$replace": value}`` in an extension: take ``value`` as it is, without merging.
REPLACE = "$replace"
IDENTITY_KEYS = ("api_name", "id")

#: One step of a path into a value: a dict key, or a list item by identity.
Step = str | dict[str, Any]


@dataclass(frozen=True)
class Clash:
    """One place both the vendor and the admin changed, differently."""

    path: tuple[Step, ...]
    base: Any
    vendor: Any
    admin: Any


def describe(path: tuple[Step, ...] | list[Step]) -> str:
    """A readable path: ``values[important]/label/zh-CN``."""
    out = ""
    for step in path:
        if isinstance(step, dict):
            out += f"[{next(iter(step.values()))}]"
        else:
            out += f"/{step}" if out else step
    return out


def identity_key(items: Any) -> str | None:
    """The key that identifies the items of a list, when every item has one."""
    if not isinstance(items, list) or not items:
        return None
    for key in IDENTITY_KEYS:
        if all(isinstance(i, dict) and isinstance(i.get(key), str | int) for i in items):
            return key
    return None


def _ident(items: list, key: str) -> dict[Any, dict]:
    return {item[key]: item for item in items}


# -- extension over base -------------------------------------------------------


def overlay(base: Any, top: Any) -> Any:
    """``top`` (from an extension) laid over ``base``; neither is modified."""
    if isinstance(top, dict) and set(top) == {REPLACE}:
        return copy.deepcopy(top[REPLACE])
    if isinstance(base, dict) and isinstance(top, dict):
        merged = copy.deepcopy(base)
        for key, value in top.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged and not (isinstance(value, dict) and set(value) == {REPLACE}):
                merged[key] = overlay(merged[key], value)
            else:
                merged[key] = overlay(None, value)
        return merged
    key = identity_key(base)
    if key and isinstance(top, list) and identity_key(top) == key:
        return _overlay_items(base, top, key)
    return copy.deepcopy(top)


def _overlay_items(base: list, top: list, key: str) -> list:
    merged = [copy.deepcopy(i) for i in base]
    position = {item[key]: n for n, item in enumerate(merged)}
    removed = set()
    for item in top:
        ident = item[key]
        if item.get(REMOVE):
            removed.add(ident)
        elif ident in position:
            merged[position[ident]] = overlay(merged[position[ident]], item)
        else:
            position[ident] = len(merged)
            merged.append(copy.deepcopy(item))
    return [i for i in merged if i[key] not in removed]


# -- three-way merge -----------------------------------------------------------


def merge3(base: Any, vendor: Any, admin: Any, path: tuple[Step, ...] = ()) -> tuple[Any, list]:
    """Merge the vendor's and the admin's changes to ``base``; returns (value, clashes)."""
    if vendor == base or admin == vendor:
        return admin, []
    if admin == base:
        return vendor, []
    if all(isinstance(v, dict) and v != ABSENT for v in (vendor, admin)) and isinstance(base, dict):
        return _merge_dicts({} if base == ABSENT else base, vendor, admin, path)
    key = identity_key(admin) or identity_key(vendor)
    if (
        key
        and all(isinstance(v, list) for v in (vendor, admin))
        and (base == ABSENT or isinstance(base, list))
    ):
        return _merge_items([] if base == ABSENT else base, vendor, admin, key, path)
    return admin, [Clash(path, base, vendor, admin)]


def _merge_dicts(base: dict, vendor: dict, admin: dict, path) -> tuple[dict, list]:
    merged, clashes = {}, []
    for key in [*vendor, *(k for k in admin if k not in vendor), *(k for k in base)]:
        if key in merged:
            continue
        value, found = merge3(
            base.get(key, ABSENT), vendor.get(key, ABSENT), admin.get(key, ABSENT), (*path, key)
        )
        clashes += found
        if value != ABSENT:
            merged[key] = value
    return merged, clashes


def _merge_items(base: list, vendor: list, admin: list, key: str, path) -> tuple[list, list]:
    b, v, a = _ident(base, key), _ident(vendor, key), _ident(admin, key)
    values, clashes = {}, []
    for ident in [*a, *(i for i in v if i not in a), *(i for i in b if i not in a and i not in v)]:
        value, found = merge3(
            b.get(ident, ABSENT), v.get(ident, ABSENT), a.get(ident, ABSENT), (*path, {key: ident})
        )
        clashes += found
        if value != ABSENT:
            values[ident] = value
    return [values[i] for i in _order(list(b), list(v), list(a), values)], clashes


def _order(base: list, vendor: list, admin: list, keep: dict) -> list:
    """The admin's order, with items the vendor added placed after their vendor predecessor."""
    order = [i for i in admin if i in keep]
    for n, ident in enumerate(vendor):
        if ident in order or ident not in keep or ident in base:
            continue
        before = next((p for p in reversed(vendor[:n]) if p in order), None)
        order.insert(order.index(before) + 1 if before is not None else 0, ident)
    return order


# -- editing one place ---------------------------------------------------------


def put(value: Any, path: tuple[Step, ...] | list[Step], new: Any) -> Any:
    """A copy of ``value`` with the place at ``path`` set to ``new`` (ABSENT removes it)."""
    if not path:
        return copy.deepcopy(new)
    step, rest = path[0], tuple(path[1:])
    if isinstance(step, dict):
        ((key, ident),) = step.items()
        items = list(value if isinstance(value, list) else [])
        out, found = [], False
        for item in items:
            if isinstance(item, dict) and item.get(key) == ident:
                found = True
                changed = put(item, rest, new)
                if changed != ABSENT:
                    out.append(changed)
            else:
                out.append(copy.deepcopy(item))
        if not found and new != ABSENT:
            out.append(put({key: ident}, rest, new))
        return out
    out = dict(value) if isinstance(value, dict) else {}
    changed = put(out.get(step, ABSENT if rest == () else {}), rest, new)
    if changed == ABSENT:
        out.pop(step, None)
    else:
        out[step] = changed
    return out
