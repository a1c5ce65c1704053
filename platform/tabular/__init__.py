"""Tabular files in and out: import CSV and .xlsx into objects, export list views to CSV and .xlsx.

The Python API (the REST API in ``trellis.runtime.api.tabular`` and the pages
use the same calls)::

    service = imports_for(runtime)                       # one ImportService per Runtime
    state = service.upload(ctx, "lead", data, "leads.csv")   # a draft, mapping proposed
    rows = service.preview(ctx, state.id)                 # [RowOutcome], nothing written
    service.configure(ctx, state.id, mapping_choices={"公司": "company_name"},
                      options={"duplicates": "skip"})
    service.start(ctx, state.id)                          # queued for the worker
    service.run(ctx, state.id)                            # ... or written in this thread
    service.get(ctx, state.id)                            # status, progress, counts
    service.error_file(ctx, state.id)                     # CSV bytes: row, column, value, reason

    export = prepare_export(runtime, ctx, ExportRequest("lead", view="all_leads"))
    csv_chunks(export.headers, export.rows())             # bytes pieces of the CSV
    write_xlsx(path, export.sheet_title, export.headers, export.rows())

``docs/imports.md`` describes the feature for users.
"""

from trellis.tabular.export import Export, ExportRequest, prepare_export
from trellis.tabular.imports import JOB_KIND, ImportService, imports_for
from trellis.tabular.mapping import ColumnMapping
from trellis.tabular.options import ImportOptions
from trellis.tabular.processing import RowError, RowOutcome
from trellis.tabular.state import ImportState
from trellis.tabular.writers import csv_chunks, write_xlsx

__all__ = [
    "JOB_KIND",
    "ColumnMapping",
    "Export",
    "ExportRequest",
    "ImportOptions",
    "ImportService",
    "ImportState",
    "RowError",
    "RowOutcome",
    "csv_chunks",
    "imports_for",
    "prepare_export",
    "write_xlsx",
]
