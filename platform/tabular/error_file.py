"""The error file of an import: one line per problem of a failed row.

CSV in UTF-8 with a BOM (so Excel on Chinese Windows opens it without
garbling), headers in the user's language. The values are the user's own
cells, so they are neutralised like any export.
"""

from __future__ import annotations

import codecs
import csv
import io

from trellis.tabular.cells import neutralise

HEADERS = {
    "zh-CN": ("行号", "列", "值", "原因"),
    "en": ("Row", "Column", "Value", "Reason"),
}


def render(errors, locale: str) -> bytes:
    """``errors`` (``RowError``) as CSV bytes."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADERS["en" if locale == "en" else "zh-CN"])
    for e in errors:
        writer.writerow(
            [e.row, neutralise(e.header or ""), neutralise(e.value or ""), neutralise(e.reason)]
        )
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
