"""Personal saved views: a user's own named list arguments, kept in ``trellis_saved_view``.

A personal view is what the list page's address says (view, quick search, filter builder
rows, typed expression, sort), saved under a name by one user for one object. It is theirs
alone: every read and delete is by the signed-in user's id, so nobody else lists, opens or
deletes it. Choosing one in the list's view picker goes to the list with its arguments.

Shared views are not stored here: they are ``list_view`` components made through the
metadata API (``trellis.web.saved_views``).
"""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import redirect, request, url_for

from trellis.metadata.store import meta
from trellis.runtime.database import begin_write
from trellis.web.sessions import page_context, runtime

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

#: The list arguments a view keeps (the cursor is a position, not a choice).
KEPT_ARGS = (
    "view",
    "q",
    "filter",
    "sort",
    *(f"{p}{i}" for i in range(3) for p in "f op v".split()),
)
#: The picker's value for a personal view: ``saved-<id>``.
PICKER_PREFIX = "saved-"
NAME_LENGTH = 80

saved_view_table = sa.Table(
    "trellis_saved_view",
    meta,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("object", sa.String(40), nullable=False),
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False),
    # {"view": "open_pipeline", "q": "华东", "f0": "amount", ...}; "view" may be "" (all records)
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", "object", "name", name="uq_trellis_saved_view_name"),
)

_ready: set[int] = set()


def ensure_table() -> None:
    """Create the table in a database set up before saved views existed (idempotent).

    Runs before any transaction of the request opens: on SQLite a second writer would wait.
    """
    engine = runtime().engine
    if id(engine) not in _ready:
        with begin_write(engine) as conn:
            meta.create_all(conn, tables=[saved_view_table], checkfirst=True)
        _ready.add(id(engine))


def kept_args(args) -> dict[str, str]:
    """The list arguments a view keeps; ``view`` always (blank = all records)."""
    kept = {k: args.get(k, "").strip() for k in KEPT_ARGS if args.get(k, "").strip()}
    kept["view"] = args.get("view", "")
    return kept


def personal_views(object_name: str) -> list[dict]:
    """The signed-in user's views of ``object_name``: ``[{"id", "name", "args"}]`` by name."""
    ensure_table()
    t = saved_view_table
    query = (
        sa.select(t.c.id, t.c.name, t.c.args)
        .where(t.c.user_id == page_context().user_id, t.c.object == object_name)
        .order_by(t.c.name, t.c.id)
    )
    with runtime().engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def own_view(object_name: str, view_id: int) -> dict | None:
    """One of the signed-in user's views, or None (also for another user's view)."""
    return next((v for v in personal_views(object_name) if v["id"] == view_id), None)


def save_view(object_name: str, name: str, args: dict[str, str]) -> int:
    """Save ``args`` under ``name``; saving an existing name again replaces its arguments."""
    ensure_table()
    ctx = page_context()
    t = saved_view_table
    mine = (t.c.user_id == ctx.user_id, t.c.object == object_name, t.c.name == name)
    with begin_write(runtime().engine) as conn:
        existing = conn.execute(sa.select(t.c.id).where(*mine)).scalar()
        if existing is not None:
            conn.execute(sa.update(t).where(t.c.id == existing).values(args=args))
            return existing
        return conn.execute(
            sa.insert(t).values(
                user_id=ctx.user_id,
                object=object_name,
                name=name,
                args=args,
                created_at=ctx.stamp,
            )
        ).inserted_primary_key[0]


def delete_view(object_name: str, view_id: int) -> bool:
    """Delete one of the signed-in user's views; False when they have no such view."""
    ensure_table()
    t = saved_view_table
    with begin_write(runtime().engine) as conn:
        gone = conn.execute(
            sa.delete(t).where(
                t.c.id == view_id,
                t.c.user_id == page_context().user_id,
                t.c.object == object_name,
            )
        )
        return gone.rowcount == 1


def view_url(object_name: str, view: dict) -> str:
    """The list page showing a personal view (``saved`` marks it as the one shown)."""
    args = {**view["args"], "saved": view["id"]}
    # urlencode, not list_args: a blank "view" must stay in the address (= all records)
    return url_for("pages.list_page", object_name=object_name) + "?" + urlencode(args)


def open_chosen_view(object_name: str):
    """A redirect to the personal view chosen in the picker (``view=saved-<id>``), else None.

    An htmx request (the picker submits on change) is told to load the whole page, so the
    filter controls show the view's arguments too.
    """
    chosen = request.args.get("view", "")
    if not chosen.startswith(PICKER_PREFIX):
        return None
    number = chosen.removeprefix(PICKER_PREFIX)
    view = own_view(object_name, int(number)) if number.isdigit() else None
    target = (
        view_url(object_name, view) if view else url_for("pages.list_page", object_name=object_name)
    )
    response = redirect(target)
    if request.headers.get("HX-Request"):
        response.status_code = 200
        response.headers["HX-Redirect"] = target
    return response
