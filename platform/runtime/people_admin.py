"""Administering people: users and the department tree, as the admin pages change them.

Users and departments are system tables, not metadata, and this module is the one place
that writes them for an administrator (``trellis.runtime.people`` keeps the small helpers
sample data uses). Every function takes an open write transaction. Bad input is refused
with ``Invalid`` whose ``details`` name the form field (``field``), a stable ``code`` the
pages translate, the offending ``value`` and an English ``message``; a name already taken
is a ``Conflict``, so a form sent twice creates one user, never two.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from trellis.fieldtypes.base import FieldValueError
from trellis.fieldtypes.registry import get_field_type
from trellis.runtime import people
from trellis.runtime.errors import Conflict, Invalid, NotFound
from trellis.runtime.system_tables import department_table, user_role_table, user_table

#: Letters, digits and . _ @ - (sign-in names are typed, and appear in URLs and flows).
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,79}$")
DEPARTMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
LOCALES = ("zh-CN", "en")
MIN_PASSWORD = 8

_MESSAGES = {
    "required": "is required",
    "bad_username": "use 2 to 80 letters, digits and . _ @ - (starting with a letter or digit)",
    "username_taken": "this username is taken",
    "bad_email": "is not an email address; use the form name@example.com",
    "bad_phone": "is not a valid phone number",
    "unknown_department": "there is no such department",
    "unknown_user": "there is no such user",
    "unknown_role": "there is no such role",
    "manager_cycle": "would make the user their own manager (directly or up the chain)",
    "bad_time_zone": "is not a time zone; use an IANA name such as Asia/Shanghai",
    "bad_locale": "choose zh-CN or en",
    "short_password": f"a password needs at least {MIN_PASSWORD} characters",
    "too_long": "is too long",
    "self_deactivate": "you cannot deactivate yourself",
    "bad_department_name": "use 2 to 40 lower-case letters, digits and _ (starting with a letter)",
    "department_taken": "a department with this API name exists",
    "department_cycle": "a department cannot move under itself or one of its own sub-departments",
    "inactive_head": "a deactivated user cannot head a department",
}


@dataclass
class Problems:
    """The problems found in one form, raised together so the admin fixes them in one go."""

    found: list[dict[str, Any]] = field(default_factory=list)

    def add(self, field_name: str, code: str, value: Any = None) -> None:
        self.found.append(
            {"field": field_name, "code": code, "value": value, "message": _MESSAGES[code]}
        )

    def raise_any(self, what: str) -> None:
        if self.found:
            raise Invalid(f"the {what} was refused: {len(self.found)} problem(s)", self.found)


def problem(field_name: str, code: str, value: Any = None, *, error=Invalid) -> Exception:
    """One problem as an error (``Conflict`` for names taken)."""
    problems = Problems()
    problems.add(field_name, code, value)
    return error(problems.found[0]["message"], problems.found)


# -- reading -----------------------------------------------------------------


def list_users(
    conn: sa.Connection,
    *,
    search: str = "",
    department: str | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    """Users with department, manager and roles, by username; filters combine."""
    u, d, m = user_table, department_table, user_table.alias("manager")
    query = (
        sa.select(
            u.c.id,
            u.c.username,
            u.c.display_name,
            u.c.email,
            u.c.phone,
            u.c.is_active,
            u.c.time_zone,
            u.c.locale,
            d.c.api_name.label("department"),
            d.c.label_zh.label("department_zh"),
            d.c.label_en.label("department_en"),
            m.c.username.label("manager"),
            m.c.display_name.label("manager_name"),
        )
        .outerjoin(d, d.c.id == u.c.department_id)
        .outerjoin(m, m.c.id == u.c.manager_id)
        .order_by(u.c.username)
    )
    if search.strip():
        like = f"%{_escape_like(search.strip().lower())}%"
        query = query.where(
            sa.or_(
                *(
                    sa.func.lower(col).like(like, escape="\\")
                    for col in (u.c.username, u.c.display_name, u.c.email, u.c.phone)
                )
            )
        )
    if department:
        query = query.where(d.c.api_name == department)
    if role:
        holders = sa.select(user_role_table.c.user_id).where(user_role_table.c.role == role)
        query = query.where(u.c.id.in_(holders))
    if active is not None:
        query = query.where(u.c.is_active == active)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    roles = _roles_of(conn, [r["id"] for r in rows])
    for row in rows:
        row["roles"] = roles.get(row["id"], [])
    return rows


def user_detail(conn: sa.Connection, username: str) -> dict[str, Any]:
    found = [u for u in list_users(conn, search="") if u["username"] == username]
    if not found:
        raise NotFound(f"there is no user {username[:80]!r}")
    return found[0]


#: Departments as the admin ordered them; those never placed come after, by label.
_SIBLING_ORDER = (
    department_table.c.position.is_(None),
    department_table.c.position,
    department_table.c.label_en,
    department_table.c.api_name,
)


def departments(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every department with its parent's and head's names, flat (``tree`` nests them)."""
    d, head, parent = department_table, user_table, department_table.alias("parent")
    rows = conn.execute(
        sa.select(
            d.c.id,
            d.c.api_name,
            d.c.label_zh,
            d.c.label_en,
            parent.c.api_name.label("parent"),
            head.c.username.label("head"),
            head.c.display_name.label("head_name"),
        )
        .outerjoin(parent, parent.c.id == d.c.parent_id)
        .outerjoin(head, head.c.id == d.c.head_user_id)
        .order_by(*_SIBLING_ORDER)
    )
    return [dict(r._mapping) for r in rows]


def tree(conn: sa.Connection) -> list[dict[str, Any]]:
    """The departments nested: each has ``children`` (in the admin's order, then by label)."""
    flat = departments(conn)
    for dep in flat:
        dep["children"] = []
    by_name = {dep["api_name"]: dep for dep in flat}
    roots = []
    for dep in flat:
        parent = by_name.get(dep["parent"]) if dep["parent"] else None
        (parent["children"] if parent else roots).append(dep)
    return roots


def indented(conn: sa.Connection) -> list[dict[str, Any]]:
    """The tree in reading order, each department with its ``depth`` (0 at the top)."""

    def walk(nodes, depth):
        for node in nodes:
            yield {**node, "depth": depth}
            yield from walk(node["children"], depth + 1)

    return list(walk(tree(conn), 0))


# -- users -------------------------------------------------------------------


def create_user(
    conn: sa.Connection, values: dict[str, Any], *, known_roles: set[str] | frozenset[str]
) -> int:
    """Create a user from the admin's form (``username``, ``password``, and what
    ``update_user`` takes); Conflict when the username is taken."""
    username = str(values.get("username") or "").strip()
    problems = Problems()
    if not username:
        problems.add("username", "required")
    elif not USERNAME.match(username):
        problems.add("username", "bad_username", username)
    elif people.user_id(conn, username) is not None:
        raise problem("username", "username_taken", username, error=Conflict)
    password = str(values.get("password") or "")
    if len(password) < MIN_PASSWORD:
        problems.add("password", "short_password")
    row = _profile(conn, values, problems, user=None, known_roles=known_roles)
    problems.raise_any("user")
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                sa.insert(user_table).values(
                    username=username,
                    password_hash=people.generate_password_hash(password),
                    created_at=_now(),
                    **row,
                )
            ).inserted_primary_key[0]
    except sa.exc.IntegrityError:  # the same form sent twice at once: one of them wins
        raise problem("username", "username_taken", username, error=Conflict) from None
    _set_roles(conn, new_id, values.get("roles") or [])
    return new_id


def update_user(
    conn: sa.Connection,
    username: str,
    values: dict[str, Any],
    *,
    known_roles: set[str] | frozenset[str],
) -> None:
    """Set a user's display name, email, phone, department, manager, roles, time zone
    and language (the username stays: flows and history name users by it)."""
    user_id = _existing_user(conn, username)
    problems = Problems()
    row = _profile(conn, values, problems, user=user_id, known_roles=known_roles)
    problems.raise_any("user")
    conn.execute(sa.update(user_table).where(user_table.c.id == user_id).values(**row))
    conn.execute(sa.delete(user_role_table).where(user_role_table.c.user_id == user_id))
    _set_roles(conn, user_id, values.get("roles") or [])


def set_active(conn: sa.Connection, username: str, active: bool, *, by: str) -> None:
    """Deactivate (cannot sign in, records stay theirs) or reactivate a user."""
    user_id = _existing_user(conn, username)
    if not active and username == by:
        raise problem("username", "self_deactivate", username)
    values: dict[str, Any] = {"is_active": active}
    if active:
        values.update(failed_logins=0, locked_until=None)
    conn.execute(sa.update(user_table).where(user_table.c.id == user_id).values(**values))


def reset_password(conn: sa.Connection, username: str, password: str) -> None:
    """Set a new password and lift a lockout from wrong passwords."""
    user_id = _existing_user(conn, username)
    if len(password or "") < MIN_PASSWORD:
        raise problem("password", "short_password")
    conn.execute(
        sa.update(user_table)
        .where(user_table.c.id == user_id)
        .values(
            password_hash=people.generate_password_hash(password),
            failed_logins=0,
            locked_until=None,
        )
    )


def _profile(
    conn: sa.Connection,
    values: dict[str, Any],
    problems: Problems,
    *,
    user: int | None,
    known_roles,
) -> dict[str, Any]:
    """The user-table values of a form, checked; problems are added, not raised."""
    display_name = str(values.get("display_name") or "").strip()
    if not display_name:
        problems.add("display_name", "required")
    elif len(display_name) > 200:
        problems.add("display_name", "too_long")
    row: dict[str, Any] = {
        "display_name": display_name,
        "email": _checked(values, "email", "bad_email", problems),
        "phone": _checked(values, "phone", "bad_phone", problems),
        "department_id": _department_ref(conn, values.get("department"), problems),
        "manager_id": _manager_ref(conn, values.get("manager"), user, problems),
        "time_zone": _time_zone(values.get("time_zone"), problems),
        "locale": values.get("locale") or "zh-CN",
    }
    if row["locale"] not in LOCALES:
        problems.add("locale", "bad_locale", row["locale"])
    for role in values.get("roles") or []:
        if role not in known_roles:
            problems.add("roles", "unknown_role", role)
    return row


def _checked(values: dict[str, Any], name: str, code: str, problems: Problems) -> str | None:
    """An email or phone through the field type records use (phones stored as E.164)."""
    raw = str(values.get(name) or "").strip()
    if not raw:
        return None
    try:
        return get_field_type(name).parse(raw, _Field(name, name))
    except FieldValueError:
        problems.add(name, code, raw)
        return None


@dataclass(frozen=True)
class _Field:
    """Just enough of a field definition for a field type's ``parse``."""

    api_name: str
    type: str
    options: dict = field(default_factory=dict)


def _department_ref(
    conn, name: Any, problems: Problems, field_name: str = "department"
) -> int | None:
    if not name:
        return None
    found = people.department_id(conn, str(name))
    if found is None:
        problems.add(field_name, "unknown_department", name)
    return found


def _manager_ref(conn, name: Any, user: int | None, problems: Problems) -> int | None:
    if not name:
        return None
    manager = people.user_id(conn, str(name))
    if manager is None:
        problems.add("manager", "unknown_user", name)
        return None
    if user is not None and user in _manager_chain(conn, manager):
        problems.add("manager", "manager_cycle", name)
        return None
    return manager


def _manager_chain(conn, user_id: int) -> set[int]:
    """The user and everyone above them (stops at a loop the data may already hold)."""
    managers = dict(conn.execute(sa.select(user_table.c.id, user_table.c.manager_id)).all())
    chain, current = set(), user_id
    while current is not None and current not in chain:
        chain.add(current)
        current = managers.get(current)
    return chain


def _time_zone(zone: Any, problems: Problems) -> str:
    zone = str(zone or "").strip() or "Asia/Shanghai"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("time_zone", "bad_time_zone", zone)
    return zone


def _set_roles(conn, user_id: int, roles) -> None:
    unique = sorted(set(roles))
    if unique:
        conn.execute(sa.insert(user_role_table), [{"user_id": user_id, "role": r} for r in unique])


def _roles_of(conn, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    t = user_role_table
    for user_id, role in conn.execute(
        sa.select(t.c.user_id, t.c.role).where(t.c.user_id.in_(ids)).order_by(t.c.role)
    ):
        out.setdefault(user_id, []).append(role)
    return out


def _existing_user(conn, username: str) -> int:
    found = people.user_id(conn, username)
    if found is None:
        raise NotFound(f"there is no user {username[:80]!r}")
    return found


# -- departments -------------------------------------------------------------


def create_department(
    conn: sa.Connection,
    api_name: str,
    label_zh: str,
    label_en: str,
    parent: str | None = None,
) -> int:
    """Add a department (under ``parent``, or at the top); Conflict if the name is taken."""
    problems = Problems()
    if not DEPARTMENT_NAME.match(api_name or ""):
        problems.add("api_name", "bad_department_name", api_name)
    elif people.department_id(conn, api_name) is not None:
        raise problem("api_name", "department_taken", api_name, error=Conflict)
    labels = _labels(label_zh, label_en, problems)
    parent_id = _department_ref(conn, parent, problems, "parent")
    problems.raise_any("department")
    try:
        with conn.begin_nested():
            return conn.execute(
                sa.insert(department_table).values(api_name=api_name, parent_id=parent_id, **labels)
            ).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        raise problem("api_name", "department_taken", api_name, error=Conflict) from None


def rename_department(conn: sa.Connection, api_name: str, label_zh: str, label_en: str) -> None:
    dep = _existing_department(conn, api_name)
    problems = Problems()
    labels = _labels(label_zh, label_en, problems)
    problems.raise_any("department")
    conn.execute(sa.update(department_table).where(department_table.c.id == dep).values(**labels))


def set_head(conn: sa.Connection, api_name: str, username: str | None) -> None:
    """Make ``username`` the department's head (None: no head)."""
    dep = _existing_department(conn, api_name)
    head = None
    if username:
        row = conn.execute(
            sa.select(user_table.c.id, user_table.c.is_active).where(
                user_table.c.username == username
            )
        ).first()
        if row is None:
            raise problem("head", "unknown_user", username)
        if not row.is_active:
            raise problem("head", "inactive_head", username)
        head = row.id
    conn.execute(
        sa.update(department_table).where(department_table.c.id == dep).values(head_user_id=head)
    )


def move_department(
    conn: sa.Connection, api_name: str, parent: str | None, index: int | None = None
) -> None:
    """Put a department (with everything below it) under ``parent`` (None: the top), as
    its ``index``-th child (None: the last); the siblings keep their order around it.

    Refused when ``parent`` is the department itself or below it: the tree would
    become a loop and every "department and below" scope would be wrong.
    """
    dep = _existing_department(conn, api_name)
    parent_id = None
    if parent:
        parent_id = people.department_id(conn, parent)
        if parent_id is None:
            raise problem("parent", "unknown_department", parent)
        if parent_id in _subtree(conn, dep):
            raise problem("parent", "department_cycle", parent)
    conn.execute(
        sa.update(department_table).where(department_table.c.id == dep).values(parent_id=parent_id)
    )
    _place(conn, dep, parent_id, index)


def _place(conn: sa.Connection, dep: int, parent_id: int | None, index: int | None) -> None:
    """Number the children of ``parent_id`` 0, 1, … with ``dep`` at ``index``."""
    t = department_table
    siblings = [
        row.id
        for row in conn.execute(
            sa.select(t.c.id)
            .where(t.c.parent_id.is_(None) if parent_id is None else t.c.parent_id == parent_id)
            .where(t.c.id != dep)
            .order_by(*_SIBLING_ORDER)
        )
    ]
    at = len(siblings) if index is None else max(0, min(index, len(siblings)))
    siblings.insert(at, dep)
    for position, sibling in enumerate(siblings):
        conn.execute(sa.update(t).where(t.c.id == sibling).values(position=position))


def _subtree(conn, dep: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in conn.execute(
        sa.select(department_table.c.id, department_table.c.parent_id)
    ):
        children.setdefault(parent, []).append(child)
    found, stack = {dep}, [dep]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _labels(label_zh: str, label_en: str, problems: Problems) -> dict[str, str]:
    labels = {"label_zh": (label_zh or "").strip(), "label_en": (label_en or "").strip()}
    for name, value in labels.items():
        if not value:
            problems.add(name, "required")
        elif len(value) > 200:
            problems.add(name, "too_long")
    return labels


def _existing_department(conn, api_name: str) -> int:
    found = people.department_id(conn, api_name)
    if found is None:
        raise NotFound(f"there is no department {api_name[:80]!r}")
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
