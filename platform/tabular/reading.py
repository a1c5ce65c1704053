"""Reading an uploaded file into a header and rows of cell text.

CSV: UTF-8 (with or without BOM) is tried strictly first; what is not UTF-8
is read as GB18030, a superset of GBK, which Excel and WPS on Chinese Windows
write. The delimiter is the one the header line uses most: comma, tab or
semicolon. ``.xlsx``: the first visible worksheet, streamed row by row with
python-calamine; formula cells give their cached value (a formula is never
evaluated or kept). Before calamine opens a workbook, its zip directory is
checked so that a few kilobytes cannot unpack into gigabytes.

Every problem that makes a file unreadable is a ``BadRequest`` saying what
to do instead. Row numbers are the ones a spreadsheet shows: the header is
row 1 (or the row the sheet's data starts on).
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from trellis.runtime.errors import BadRequest
from trellis.tabular import limits
from trellis.tabular.cells import cell_text

FORMATS = ("csv", "xlsx")


@dataclass
class SourceFile:
    """A readable upload: its format, the CSV encoding, the header and a lazy row iterator."""

    file_format: str
    encoding: str | None
    headers: list[str]
    #: (row number, cells) for every row after the header that holds something
    rows: Iterator[tuple[int, list[str]]]


def read_file(data: bytes, file_name: str) -> SourceFile:
    """Open ``data`` (the bytes of ``file_name``) as CSV or .xlsx."""
    if len(data) > limits.MAX_FILE_BYTES:
        raise BadRequest(
            f"the file is larger than {limits.MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "split it into smaller files"
        )
    if not data.strip():
        raise BadRequest("the file is empty; the first row must name the columns")
    file_format = _format(data, file_name)
    if file_format == "xlsx":
        rows = _xlsx_rows(data)
        encoding = None
    else:
        text, encoding = decode(data)
        rows = _csv_rows(text)
    return _with_header(file_format, encoding, rows)


def _format(data: bytes, file_name: str) -> str:
    name = (file_name or "").lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise BadRequest(
            "old Excel files (.xls) are not read; in Excel or WPS choose Save As → "
            "Excel Workbook (.xlsx) or CSV, then upload that"
        )
    if name.endswith(".xlsx") or (is_zip and not name.endswith((".csv", ".txt"))):
        if not is_zip:
            raise BadRequest("this .xlsx file is not an Excel workbook; save it again from Excel")
        return "xlsx"
    if name.endswith((".csv", ".txt")):
        if is_zip:
            raise BadRequest(
                "this file is an Excel workbook, not CSV text; name it .xlsx or save it as CSV"
            )
        return "csv"
    raise BadRequest(
        f"{file_name[:80]!r} is neither a .csv nor an .xlsx file; "
        "upload CSV (UTF-8 or GBK) or an Excel workbook (.xlsx)"
    )


def decode(data: bytes) -> tuple[str, str]:
    """CSV bytes as text, with the encoding found: utf-8, utf-8-sig or gb18030."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise BadRequest(
            "the file is UTF-16 text (Excel's 'Unicode text'); save it as 'CSV UTF-8' instead"
        )
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as exc:
            raise BadRequest(
                f"the file is neither UTF-8 nor GBK/GB18030 text (byte {exc.start + 1} cannot "
                "be read); save it as CSV UTF-8 and upload it again"
            ) from None
    if "\x00" in text:
        raise BadRequest("the file holds binary data, not CSV text; upload a .csv or .xlsx file")
    return text, encoding


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", "\t", ";"), key=first.count)


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    number = 0
    try:
        for number, row in enumerate(reader, start=1):  # noqa: B007  (read after the loop)
            yield number, row
    except csv.Error as exc:
        raise BadRequest(
            f"row {number + 1} of the CSV cannot be read ({exc}); check its quotes, "
            f"and that no cell holds more than {limits.MAX_CELL_CHARS:,} characters"
        ) from None


def _check_unzipped(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise BadRequest("this .xlsx file is damaged; open it in Excel and save it again") from None
    if "xl/workbook.xml" not in names:
        raise BadRequest("this zip file is not an Excel workbook (.xlsx)")
    if unpacked > limits.MAX_UNZIPPED_BYTES:
        raise BadRequest(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB, more than "
            f"{limits.MAX_UNZIPPED_BYTES // (1024 * 1024)} MB; split it into smaller files"
        )


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list]]:
    _check_unzipped(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        index = _first_visible_sheet(workbook)
        sheet = workbook.get_sheet_by_index(index)
    except CalamineError as exc:
        raise BadRequest(
            f"this .xlsx file cannot be read ({type(exc).__name__}); "
            "open it in Excel and save it again"
        ) from None
    start = sheet.start
    first_row = (start[0] if start else 0) + 1
    return ((first_row + i, row) for i, row in enumerate(sheet.iter_rows()))


def _first_visible_sheet(workbook: CalamineWorkbook) -> int:
    for i, sheet in enumerate(workbook.sheets_metadata):
        if sheet.typ == SheetTypeEnum.WorkSheet and sheet.visible == SheetVisibleEnum.Visible:
            return i
    raise BadRequest("the workbook has no visible worksheet to import")


def _with_header(file_format: str, encoding: str | None, rows) -> SourceFile:
    rows = iter(rows)
    header_row = None
    for number, raw in rows:
        cells = _cells(number, raw)
        if any(cells):
            header_row = number, cells
            break
    if header_row is None:
        raise BadRequest("the file holds no rows; the first row must name the columns")
    number, headers = header_row
    if len(headers) > limits.MAX_COLUMNS:
        raise BadRequest(
            f"the file has more than {limits.MAX_COLUMNS} columns; remove the columns "
            "you do not import"
        )
    _check_headers(number, headers)
    return SourceFile(file_format, encoding, headers, _data_rows(rows))


def _check_headers(number: int, headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, header in enumerate(headers, start=1):
        if not header:
            continue
        if header in seen:
            raise BadRequest(
                f"columns {seen[header]} and {i} of row {number} are both named {header[:60]!r}; "
                "give every column its own name"
            )
        if len(header) > 255:
            raise BadRequest(f"the name of column {i} is longer than 255 characters")
        seen[header] = i


def _data_rows(rows) -> Iterator[tuple[int, list[str]]]:
    for number, raw in rows:
        cells = _cells(number, raw)
        if any(cells):  # blank lines are not rows to import (their numbers still count)
            yield number, cells


def _cells(number: int, raw: list) -> list[str]:
    cells = [cell_text(v) for v in raw[: limits.MAX_COLUMNS + 1]]
    while cells and not cells[-1]:
        cells.pop()
    for i, cell in enumerate(cells, start=1):
        if len(cell) > limits.MAX_CELL_CHARS:
            raise BadRequest(
                f"row {number}, column {i} holds {len(cell):,} characters; a cell holds at "
                f"most {limits.MAX_CELL_CHARS:,} (Excel's limit)"
            )
    return cells
