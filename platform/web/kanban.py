"""The kanban board of an object: one column per active value of a picklist (opportunity
stages, lead statuses), cards moved between columns by drag and drop.

The board shows the records the list page would show for the same arguments (its view,
filter builder, quick search and sort: ``lists.list_selection``), read through the records
service with the viewer's data scope. Each column says how many records it holds and, for
an object with an amount (a currency field), their sum, counted in one GROUP BY.

A move is an ordinary update through the records service with the card's version, so
validation rules, the approval lock, edit rights and stale-version refusal all apply: a
refused move changes nothing and says why. ``kanban.js`` posts moves with ``fetch`` and
puts a refused card back; without JavaScript each card's small form does the same move.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.metadata import FieldDef, ObjectDef
from trellis.runtime import queries
from trellis.runtime.errors import BadRequest, NotFound, TrellisError
from trellis.runtime.permissions import Access
from trellis.runtime.queries import ListRequest
from trellis.web import pages
from trellis.web.display import Names, cell, collect
from trellis.web.filters import FilterInputError, combine
from trellis.web.i18n import label
from trellis.web.lists import list_selection
from trellis.web.metadata_view import access, object_runtime
from trellis.web.refusals import refusal_message
from trellis.web.sessions import page_context, runtime
from trellis.web.wiring import list_args

#: Cards shown per column; the column's count and sum still cover all its records.
CARDS_PER_COLUMN = 50
#: The column of records whose value is blank or no longer offered (cards leave it only).
OTHER = ""


def board_fields(obj: ObjectDef, rights: Access) -> list[FieldDef]:
    """The picklists a board can be built on: single-choice, stored, visible to the viewer."""
    return [
        f
        for f in obj.live_fields
        if f.type == "picklist" and f.stored and f.api_name not in rights.hidden
    ]


def default_board_field(obj: ObjectDef, rights: Access) -> FieldDef | None:
    """The picklist a record moves along: the first indexed one with a default value (a
    state every record starts in, like stage or status), else the first picklist."""
    fields = board_fields(obj, rights)
    moving = [f for f in fields if f.indexed and f.default_value is not None]
    return (moving or fields or [None])[0]


def kanban_field(obj: ObjectDef) -> str | None:
    """The default board field's name for the list page's Kanban link (None: no board)."""
    f = default_board_field(obj, access(obj.api_name))
    return f.api_name if f else None


@pages.app_context_processor
def _kanban_helpers():
    return {"kanban_field": kanban_field}


def board_field(obj: ObjectDef, rights: Access, name: str | None) -> FieldDef:
    """The field asked for (or the default one); BadRequest when it is not a picklist."""
    if not name:
        f = default_board_field(obj, rights)
        if f is None:
            raise BadRequest(_("This object has no picklist to build a board on."))
        return f
    f = next((f for f in board_fields(obj, rights) if f.api_name == name), None)
    if f is None:
        raise BadRequest(
            _(
                "%(field)s is not a picklist of this object: a board needs a picklist field, "
                "such as a stage or a status.",
                field=name[:40],
            )
        )
    return f


def active_values(f: FieldDef) -> list[dict]:
    return [v for v in f.options.get("values", ()) if v.get("active", True)]


def amount_field(obj: ObjectDef, rights: Access) -> FieldDef | None:
    """The object's key amount (its first stored currency field the viewer may see)."""
    return next(
        (
            f
            for f in obj.live_fields
            if f.type == "currency" and f.stored and f.api_name not in rights.hidden
        ),
        None,
    )


@dataclass
class Board:
    object: ObjectDef
    field: FieldDef
    amount: FieldDef | None
    columns: list[dict]
    can_move: bool
    error: str | None = None


def _value_filter(f: FieldDef, value: str) -> str:
    if value == OTHER:
        offered = [v["api_name"] for v in active_values(f)]
        return f"ISBLANK({f.api_name}) or {f.api_name} not in {offered!r}"
    return f"{f.api_name} == {value!r}"


def column_totals(object_name: str, f: FieldDef, amount: FieldDef | None, source: str | None):
    """``{value: (count, sum)}`` of the records the board shows, in one GROUP BY query
    with the viewer's data scope (blank and no-longer-offered values under ``OTHER``)."""
    ctx = page_context()
    records = runtime().records
    offered = {v["api_name"] for v in active_values(f)}
    with records.session(ctx, write=False) as (conn, compiled):
        rt = records.object(compiled, object_name)
        rights = records.authorize(compiled, ctx, rt, "read")
        where = queries.where_clause(rt, rights, ListRequest(filter=source), ctx.local_now)
        column = rt.table.c[f.api_name]
        sums = [sa.func.sum(rt.table.c[amount.api_name])] if amount else []
        query = sa.select(column, sa.func.count(), *sums).where(*where).group_by(column)
        totals: dict[str, list] = {}
        for value, count, *total in conn.execute(query):
            key = value if value in offered else OTHER
            entry = totals.setdefault(key, [0, None])
            entry[0] += count
            if total and total[0] is not None:
                entry[1] = (entry[1] or 0) + total[0]
    return {k: (count, total) for k, (count, total) in totals.items()}


def _cards(object_name, f, amount, source, value, sort, names) -> list[dict]:
    obj = object_runtime(object_name).definition
    shown = {"id", "version", "owner", f.api_name}
    shown |= {obj.name_field} if obj.name_field else set()
    shown |= {amount.api_name} if amount else set()
    page = runtime().records.query(
        page_context(),
        object_name,
        ListRequest(
            filter=combine(source, _value_filter(f, value)),
            sort=sort,
            fields=tuple(sorted(shown)),
            limit=CARDS_PER_COLUMN,
        ),
    )
    owner = obj.by_name.get("owner")
    if owner is not None:
        collect(names, [owner], page["records"])
    return page["records"]


def _board_source(object_name: str) -> tuple[str | None, str | None]:
    """The list selection's filter as one expression, and the message when it is wrong."""
    try:
        return list_selection(object_name).filter_source(), None
    except FilterInputError as exc:
        return None, str(exc)


def _columns(object_name: str, f: FieldDef, amount, source, names: Names) -> list[dict]:
    """The columns with their counts and sums (no cards yet)."""
    totals = column_totals(object_name, f, amount, source)
    values = [(v["api_name"], label(v["label"]), v.get("color")) for v in active_values(f)]
    if totals.get(OTHER):
        values.append((OTHER, _("No value"), None))
    columns = []
    for value, text, color in values:
        count, total = totals.get(value, (0, None))
        columns.append(
            {
                "value": value,
                "label": text,
                "color": color,
                "count": count,
                "sum_text": _money(amount, total, names),
            }
        )
    return columns


def build_board(object_name: str, error: str | None = None) -> Board:
    """The board of this request's arguments (``field`` and the list page's own)."""
    obj = object_runtime(object_name).definition
    rights = access(object_name)
    f = board_field(obj, rights, request.args.get("field"))
    amount = amount_field(obj, rights)
    names = Names(runtime(), page_context())
    source, wrong = _board_source(object_name)
    try:
        columns = _columns(object_name, f, amount, source, names) if wrong is None else []
    except BadRequest as exc:  # a typed expression that does not compile
        columns, wrong = [], exc.message
    sort = list_selection(object_name).sort
    for column in columns:  # every column's cards first: then one name query per target
        column["records"] = (
            _cards(object_name, f, amount, source, column["value"], sort, names)
            if column["count"]
            else []
        )
    for column in columns:
        column["cards"] = [_card(obj, amount, r, names) for r in column.pop("records")]
    can_move = rights.edit and f.writable and f.api_name not in rights.read_only
    return Board(obj, f, amount, columns, can_move, error or wrong)


def _money(amount: FieldDef | None, total, names: Names) -> str | None:
    if amount is None:
        return None
    return cell(amount, total or 0, names, page_context().locale).text


def _card(obj: ObjectDef, amount: FieldDef | None, record: dict, names: Names) -> dict:
    locale = page_context().locale
    owner = obj.by_name.get("owner")
    return {
        "id": record["id"],
        "version": record.get("version"),
        "name": (record.get(obj.name_field) if obj.name_field else None) or f"#{record['id']}",
        "amount": cell(amount, record.get(amount.api_name), names, locale).text if amount else "",
        "owner": cell(owner, record.get("owner"), names, locale).text if owner else "",
    }


def _render(board: Board, status: int = 200):
    return render_template(
        "kanban.html",
        board=board,
        object=board.object,
        fields=board_fields(board.object, access(board.object.api_name)),
        choices=[(c["value"], c["label"]) for c in board.columns if c["value"] != OTHER],
    ), status


@pages.get("/o/<object_name>/kanban")
def kanban_page(object_name: str):
    return _render(build_board(object_name))


# -- moving a card ------------------------------------------------------------------------


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@pages.post("/o/<object_name>/<int:record_id>/move")
def move_card(object_name: str, record_id: int):
    """Move a record to another column: ``field``, ``value`` and ``version`` in the form,
    the board's arguments in the address (to answer the columns' new counts)."""
    obj = object_runtime(object_name).definition
    rights = access(object_name)
    f = board_field(obj, rights, request.form.get("field"))
    value = request.form.get("value", "")
    if value not in {v["api_name"] for v in active_values(f)}:
        raise BadRequest(_("Choose one of the columns of the board."))
    version = request.form.get("version", "")
    try:
        result = runtime().records.update(
            page_context(),
            object_name,
            record_id,
            {f.api_name: value},
            expected_version=int(version) if version.isdigit() else None,
        )
    except TrellisError as exc:
        return _refused(object_name, exc)
    if _wants_json():
        return {"version": result.record.get("version"), "columns": _totals_json(object_name, f)}
    back = url_for("pages.kanban_page", object_name=object_name)
    query = list_args(request.args)
    return redirect(f"{back}?{query}" if query else back)


def _refused(object_name: str, exc: TrellisError):
    message = refusal_message(exc)
    if _wants_json():
        return {"message": message}, exc.status
    if isinstance(exc, NotFound):
        raise exc
    return _render(build_board(object_name, error=message), exc.status)


def _totals_json(object_name: str, f: FieldDef) -> list[dict]:
    obj = object_runtime(object_name).definition
    amount = amount_field(obj, access(object_name))
    source, _wrong = _board_source(object_name)
    names = Names(runtime(), page_context())
    return [
        {"value": c["value"], "count": c["count"], "sum": c["sum_text"]}
        for c in _columns(object_name, f, amount, source, names)
    ]
