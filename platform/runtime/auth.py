"""Authentication: passwords (hashed with werkzeug.security) and API tokens.

A token is shown once when created; only its SHA-256 is stored, so a copy of
the database does not leak working tokens. Tokens can be revoked. Repeated
wrong passwords lock the account for a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from trellis.runtime.errors import Unauthorized
from trellis.runtime.system_tables import api_token_table, user_table

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


@cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so timing does not tell."""
    return generate_password_hash(secrets.token_hex(16))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(conn: sa.Connection, username: str, password: str) -> int:
    """The user's id when the password is right; Unauthorized otherwise."""
    t = user_table
    user = conn.execute(sa.select(t).where(t.c.username == username)).first()
    if user is not None and user.locked_until and user.locked_until > _now():
        raise Unauthorized("too many wrong passwords; this account is locked for 15 minutes")
    ok = check_password_hash(
        user.password_hash if user and user.password_hash else _dummy_hash(), password
    )
    if user is None or not ok or not user.is_active:
        if user is not None:
            # After a lockout has run out, counting starts again from zero.
            failed = (0 if user.locked_until else user.failed_logins) + 1
            conn.execute(
                sa.update(t)
                .where(t.c.id == user.id)
                .values(
                    failed_logins=failed,
                    locked_until=_now() + LOCKOUT if failed >= MAX_FAILED_LOGINS else None,
                )
            )
        raise Unauthorized("wrong username or password")
    if user.failed_logins:
        conn.execute(
            sa.update(t).where(t.c.id == user.id).values(failed_logins=0, locked_until=None)
        )
    return user.id


def issue_token(conn: sa.Connection, user_id: int, name: str = "api") -> str:
    """Create a token for a user and return it (the only time it is visible)."""
    token = "trl_" + secrets.token_urlsafe(32)
    conn.execute(
        sa.insert(api_token_table).values(
            user_id=user_id, token_hash=_digest(token), name=name[:200], created_at=_now()
        )
    )
    return token


def user_for_token(conn: sa.Connection, token: str) -> int:
    t = api_token_table
    row = conn.execute(
        sa.select(t.c.id, t.c.user_id).where(
            t.c.token_hash == _digest(token), t.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise Unauthorized(
            "the token is unknown or revoked; get a new one from POST /api/v1/auth/token"
        )
    return row.user_id


def revoke_token(conn: sa.Connection, token: str) -> bool:
    t = api_token_table
    result = conn.execute(
        sa.update(t)
        .where(t.c.token_hash == _digest(token), t.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    return result.rowcount == 1
