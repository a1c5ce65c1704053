"""Exporting the list a user is looking at, as CSV or Excel (.xlsx).

The links on a list page carry the list's own arguments (view, quick search, filter
builder, expression, sort), so the export holds exactly the records and columns of that
list: the filter is built by the list page's own ``ListSelection`` and the file by
``trellis.tabular`` (the same ``prepare_export``, ``csv_chunks`` and ``write_xlsx`` as
``GET /api/v1/objects/<o>/export``), with the viewer's data scope and hidden fields.
CSV is streamed (UTF-8 with a BOM, so Excel opens Chinese text correctly); cells that a
spreadsheet would run as a formula are neutralised by the writers.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _

from trellis.runtime.errors import BadRequest
from trellis.tabular import ExportRequest, csv_chunks, prepare_export, write_xlsx
from trellis.web import pages
from trellis.web.filters import FilterInputError
from trellis.web.i18n import label
from trellis.web.lists import list_selection
from trellis.web.sessions import page_context, runtime

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": "text/csv", "xlsx": XLSX}


@pages.get("/o/<object_name>/export.<file_format>")
def export_list(object_name: str, file_format: str):
    if file_format not in FORMATS:
        raise BadRequest(_("Export as CSV or Excel (.xlsx)."))
    chosen = list_selection(object_name)
    try:
        source = chosen.filter_source()
    except FilterInputError as exc:
        raise BadRequest(str(exc)) from None
    ctx = page_context()
    export = prepare_export(
        runtime(),
        ctx,
        ExportRequest(
            object_name,
            filter=source,
            sort=chosen.sort,
            columns=tuple(f.api_name for f in chosen.columns),
        ),
    )
    day = ctx.now.astimezone(ctx.zone).strftime("%Y%m%d")
    headers = {
        "Content-Disposition": attachment(
            f"{label(chosen.object.plural_label)}-{day}.{file_format}",
            f"{object_name}-{day}.{file_format}",
        )
    }
    if file_format == "csv":
        return Response(
            csv_chunks(export.headers, export.rows()), mimetype=FORMATS["csv"], headers=headers
        )
    return Response(_xlsx_bytes(export), mimetype=XLSX, headers=headers)


def attachment(name: str, ascii_name: str) -> str:
    """A Content-Disposition for ``name``: an ASCII ``filename`` for old clients and the
    real (e.g. Chinese) name as RFC 5987 ``filename*``."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _xlsx_bytes(export) -> bytes:
    # XlsxWriter's constant-memory mode writes to a file; the download is read back from it.
    handle, path = tempfile.mkstemp(prefix="trellis-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, export.sheet_title, export.headers, export.rows())
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)
