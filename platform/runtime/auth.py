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
#: How stale a token's "last used" may get before a request writes it again.
USE_NOTE_EVERY = dt.timedelta(minutes=1)


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


def live_token(conn: sa.Connection, token: str) -> sa.Row:
    """The stored token (id, user_id, last_used_at); Unauthorized when unknown or revoked."""
    t = api_token_table
    row = conn.execute(
        sa.select(t.c.id, t.c.user_id, t.c.last_used_at).where(
            t.c.token_hash == _digest(token), t.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise Unauthorized(
            "the token is unknown or revoked; get a new one from POST /api/v1/auth/token"
        )
    return row


def user_for_token(conn: sa.Connection, token: str) -> int:
    return live_token(conn, token).user_id


def use_note_due(row: sa.Row) -> bool:
    """Whether a request with this token should write "last used" again: at most once a
    minute per token, so a busy client does not turn every read into a write."""
    return row.last_used_at is None or _now() - row.last_used_at > USE_NOTE_EVERY


def note_token_use(conn: sa.Connection, token_id: int) -> None:
    t = api_token_table
    conn.execute(sa.update(t).where(t.c.id == token_id).values(last_used_at=_now()))


def tokens(conn: sa.Connection) -> list[sa.Row]:
    """Every token with its user's name, newest first (never the token itself)."""
    t, u = api_token_table, user_table
    return conn.execute(
        sa.select(
            t.c.id,
            t.c.name,
            t.c.created_at,
            t.c.last_used_at,
            t.c.revoked_at,
            u.c.username,
            u.c.display_name,
        )
        .join(u, u.c.id == t.c.user_id)
        .order_by(t.c.created_at.desc(), t.c.id.desc())
    ).all()


def revoke_token_id(conn: sa.Connection, token_id: int) -> bool:
    """Revoke a token by its id (the admin page has no token); False if already revoked."""
    t = api_token_table
    result = conn.execute(
        sa.update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=_now())
    )
    return result.rowcount == 1


def revoke_token(conn: sa.Connection, token: str) -> bool:
    t = api_token_table
    result = conn.execute(
        sa.update(t)
        .where(t.c.token_hash == _digest(token), t.c.revoked_at.is_(None))
        .values(revoked_at=_now())
    )
    return result.rowcount == 1
