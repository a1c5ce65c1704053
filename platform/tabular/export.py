"""Exporting a list to CSV or .xlsx, as the user sees it.

The list is what the list view (or the caller's filter, sort and columns)
shows this user: rows come from ``RecordsService.query`` page by page with
its cursor, so the user's data scope and hidden fields apply exactly as on
the list page. A list view's filter and the caller's filter both apply.

``prepare_export`` checks everything and reads the first page before any
byte is written, so a bad filter is an ordinary error answer, not a broken
download. See ``trellis.tabular.writers`` for the two file formats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trellis.metadata import FieldDef
from trellis.runtime.errors import BadRequest, NotFound
from trellis.runtime.queries import MAX_LIMIT, ListRequest
from trellis.tabular import limits
from trellis.tabular.export_values import Cell, ValueFormatter

#: System fields a default export shows after the object's own fields.
_DEFAULT_SYSTEM = ("owner", "created_at", "updated_at")


@dataclass(frozen=True)
class ExportRequest:
    """What to export: an object, optionally one of its list views, a filter, sort, columns."""

    object_name: str
    view: str | None = None
    filter: str | None = None
    sort: str | None = None
    columns: tuple[str, ...] | None = None


class Export:
    """A checked export: column headers in the user's language, then rows of cells."""

    def __init__(self, runtime, ctx, request: ExportRequest):
        self.runtime = runtime
        self.ctx = ctx
        self.object_name = request.object_name
        with runtime.engine.connect() as conn:
            self.compiled = runtime.cache.get(conn)
        rt = runtime.records.object(self.compiled, request.object_name)
        self.definition = rt.definition
        self.access = runtime.records.authorize(self.compiled, ctx, rt, "read")
        self.list_request = self._list_request(request)
        self.fields = [rt.definition.by_name[c] for c in self.list_request.fields]
        self.formatter = ValueFormatter(self.compiled, ctx, self.fields)
        self._first = runtime.records.query(ctx, self.object_name, self.list_request)
        total = self._first["total"]
        if total > limits.MAX_EXPORT_ROWS:
            raise BadRequest(
                f"this list holds {total:,} records; an export holds at most "
                f"{limits.MAX_EXPORT_ROWS:,}: narrow the list with a filter"
            )
        self.total = total

    @property
    def headers(self) -> list[str]:
        return [f.label.get(self.ctx.locale) for f in self.fields]

    @property
    def sheet_title(self) -> str:
        return self.definition.plural_label.get(self.ctx.locale)

    def file_name(self, extension: str) -> str:
        moment = self.ctx.now.astimezone(self.ctx.zone).strftime("%Y%m%d-%H%M")
        return f"{self.object_name}-{moment}.{extension}"

    def rows(self) -> Iterator[list[Cell]]:
        """Every row of the list, a page (500 records) at a time."""
        page = self._first
        while True:
            with self.runtime.engine.connect() as conn:
                self.formatter.load_names(conn, page["records"])
            for record in page["records"]:
                yield self.formatter.row(record)
            if not page["next_cursor"]:
                return
            request = ListRequest(
                filter=self.list_request.filter,
                sort=self.list_request.sort,
                fields=self.list_request.fields,
                limit=MAX_LIMIT,
                cursor=page["next_cursor"],
            )
            page = self.runtime.records.query(self.ctx, self.object_name, request)

    # -- the request ---------------------------------------------------------------------

    def _list_request(self, request: ExportRequest) -> ListRequest:
        view = self._view(request.view)
        view_filter = view.filter.source if view and view.filter else None
        filters = [f for f in (view_filter, request.filter) if f]
        columns = request.columns or (view.columns if view else None) or self._default_columns()
        self._check_columns(columns)
        return ListRequest(
            filter=" and ".join(f"({f})" for f in filters) if filters else None,
            sort=request.sort or (view.sort if view else None),
            fields=tuple(dict.fromkeys(columns)),
            limit=MAX_LIMIT,
            total=True,
        )

    def _view(self, name: str | None):
        if not name:
            return None
        view = self.compiled.definitions.list_views.get(f"{self.object_name}.{name}")
        if view is None:
            names = sorted(
                v.api_name
                for v in self.compiled.definitions.list_views.values()
                if v.object_name == self.object_name
            )
            raise NotFound(
                f"{self.object_name} has no list view {name[:60]!r}; "
                f"choose one of: {', '.join(names) or '(none)'}"
            )
        return view

    def _default_columns(self) -> tuple[str, ...]:
        own = [f.api_name for f in self.definition.live_fields if not f.system]
        return (*own, *(n for n in _DEFAULT_SYSTEM if n in self.definition.by_name))

    def _check_columns(self, columns) -> None:
        unknown = [c for c in columns if not self._visible(self.definition.by_name.get(c))]
        if unknown:
            raise BadRequest(
                f"cannot export column(s) {', '.join(repr(str(c)[:40]) for c in unknown[:5])}: "
                "not fields of this object that you can see",
                [{"field": str(c)[:40], "message": "no such field"} for c in unknown[:20]],
            )

    def _visible(self, f: FieldDef | None) -> bool:
        return f is not None and not f.archived and f.api_name not in self.access.hidden


def prepare_export(runtime, ctx, request: ExportRequest) -> Export:
    """Check an export and read its first page; raises like ``RecordsService.query``."""
    return Export(runtime, ctx, request)


def cells_as_text(cells: list[Cell]) -> list[Any]:
    """Plain values of a row, e.g. for a JSON preview of an export."""
    out: list[Any] = []
    for cell in cells:
        if isinstance(cell.value, dt.date):
            out.append(cell.value.isoformat())
        else:
            out.append(cell.value)
    return out
