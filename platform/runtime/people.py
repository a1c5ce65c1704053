"""Departments, users and their roles: the data the permission checks read.

Used by ``trellis demo``, tests and (later) the admin UI. Roles themselves
are definitions (packs ship them); a user holds role names.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from trellis.runtime.errors import Conflict, Invalid
from trellis.runtime.system_tables import department_table, user_role_table, user_table


def department_id(conn: sa.Connection, api_name: str) -> int | None:
    return conn.execute(
        sa.select(department_table.c.id).where(department_table.c.api_name == api_name)
    ).scalar()


def user_id(conn: sa.Connection, username: str) -> int | None:
    return conn.execute(
        sa.select(user_table.c.id).where(user_table.c.username == username)
    ).scalar()


def ensure_department(
    conn: sa.Connection, api_name: str, label_zh: str, label_en: str, parent: str | None = None
) -> int:
    """Create a department unless one with this api_name exists; returns its id."""
    existing = department_id(conn, api_name)
    if existing is not None:
        return existing
    parent_id = department_id(conn, parent) if parent else None
    if parent and parent_id is None:
        raise Invalid(f"parent department {parent!r} does not exist; create it first")
    return conn.execute(
        sa.insert(department_table).values(
            api_name=api_name, label_zh=label_zh, label_en=label_en, parent_id=parent_id
        )
    ).inserted_primary_key[0]


def set_department_head(conn: sa.Connection, department: str, username: str) -> None:
    conn.execute(
        sa.update(department_table)
        .where(department_table.c.api_name == department)
        .values(head_user_id=user_id(conn, username))
    )


def create_user(
    conn: sa.Connection,
    username: str,
    password: str,
    *,
    display_name: str,
    department: str | None = None,
    manager: str | None = None,
    roles: list[str] = (),
    locale: str = "zh-CN",
    email: str | None = None,
) -> int:
    """Create a user with a hashed password and roles; Conflict if the name is taken."""
    if user_id(conn, username) is not None:
        raise Conflict(f"user {username!r} already exists")
    if len(password) < 8:
        raise Invalid("a password needs at least 8 characters")
    new_id = conn.execute(
        sa.insert(user_table).values(
            username=username,
            display_name=display_name,
            email=email,
            password_hash=generate_password_hash(password),
            department_id=department_id(conn, department) if department else None,
            manager_id=user_id(conn, manager) if manager else None,
            locale=locale,
            created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
    ).inserted_primary_key[0]
    if roles:
        conn.execute(sa.insert(user_role_table), [{"user_id": new_id, "role": r} for r in roles])
    return new_id
