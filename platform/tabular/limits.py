"""Limits of imports and exports, each with the reason for its size.

Errors that hit a limit name it, so a user knows how to split a file.
"""

#: The web app refuses bodies above 10 MB (``MAX_CONTENT_LENGTH``); the Python API agrees.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Data rows per import: enough for a CRM migration file, small enough that an import
#: finishes in minutes and its staged rows stay a few tens of megabytes.
MAX_ROWS = 100_000
#: Columns per file; no object has more fields than this.
MAX_COLUMNS = 200
#: Excel's own limit for the characters in one cell.
MAX_CELL_CHARS = 32_767
#: An .xlsx is a zip: refuse one whose parts unpack to more than this (a zip bomb).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
#: Rows written and committed together with the checkpoint.
CHUNK_ROWS = 200
#: Rows a preview shows by default, and at most.
PREVIEW_ROWS = 20
MAX_PREVIEW_ROWS = CHUNK_ROWS
#: Problems kept per failed row (a row with every column wrong lists the first ones).
MAX_ERRORS_PER_ROW = 20
#: Records per export: the same ceiling as imports, so an export can be imported back.
MAX_EXPORT_ROWS = 100_000
