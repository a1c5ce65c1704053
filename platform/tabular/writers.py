"""Writing an export as CSV or .xlsx.

CSV is UTF-8 with a BOM: without it Excel on Chinese Windows reads the
bytes as GBK and shows mojibake. ``.xlsx`` is written by XlsxWriter in
constant-memory mode (rows go to disk as they are written), every text cell
with ``write_string`` so that nothing can become a formula, numbers as
number cells, dates and datetimes as date cells in the user's zone.

Text cells that a spreadsheet would run as a formula are neutralised with a
leading ``'`` in both formats (``trellis.tabular.cells``). Numbers are not
text: an .xlsx number cell cannot hold a formula, and in CSV a number is
written as a plain numeral (``-1200.50``) that matches ``^-?\\d+(\\.\\d+)?$``;
a spreadsheet reads such a cell as a number, never as a formula, so it is
left unquoted and stays a number after the round trip.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

import xlsxwriter

from trellis.tabular import limits
from trellis.tabular.cells import neutralise
from trellis.tabular.export_values import Cell

_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
#: Rows per CSV piece sent to the client.
_CSV_BATCH = 500


def csv_text(cell: Cell) -> str:
    if cell.kind == "number":
        text = str(cell.value)
        # Decimal and int print as plain numerals; anything else would be text.
        return text if _PLAIN_NUMBER.fullmatch(text) else neutralise(text)
    if cell.kind == "datetime":
        return cell.value.strftime("%Y-%m-%d %H:%M:%S")
    if cell.kind == "date":
        return cell.value.isoformat()
    return neutralise(str(cell.value))


def csv_chunks(headers: list[str], rows: Iterable[list[Cell]]) -> Iterator[bytes]:
    """The CSV file in pieces (a BOM, the header row, then batches of rows)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in headers])
    yield codecs.BOM_UTF8 + _take(out)
    for i, row in enumerate(rows, start=1):
        writer.writerow([csv_text(c) for c in row])
        if i % _CSV_BATCH == 0:
            yield _take(out)
    rest = _take(out)
    if rest:
        yield rest


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def write_xlsx(path: str, title: str, headers: list[str], rows: Iterable[list[Cell]]) -> int:
    """Write the .xlsx to ``path``; returns the number of data rows."""
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            # Belt and braces: every cell is written with a typed method anyway.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(_sheet_name(title))
        bold = workbook.add_format({"bold": True})
        formats = {
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        }
        for col, header in enumerate(headers):
            sheet.write_string(0, col, neutralise(header), bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, cell in enumerate(row):
                _write_cell(sheet, count, col, cell, formats)
        sheet.freeze_panes(1, 0)
    finally:
        workbook.close()
    return count


def _write_cell(sheet, row: int, col: int, cell: Cell, formats) -> None:
    if cell.kind == "number":
        value = cell.value
        sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value)
    elif cell.kind in ("date", "datetime"):
        sheet.write_datetime(row, col, cell.value, formats[cell.kind])
    elif cell.value != "":
        text = neutralise(str(cell.value))[: limits.MAX_CELL_CHARS]
        sheet.write_string(row, col, text)


def _sheet_name(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return _SHEET_NAME.sub(" ", title)[:31].strip() or "Sheet1"
