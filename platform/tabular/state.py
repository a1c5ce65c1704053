"""``ImportState``: an import as its owner sees it (status, progress, counts, mapping)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from trellis.tabular.mapping import ColumnMapping
from trellis.tabular.options import ImportOptions

#: draft: uploaded, mapping and options may change; queued: started, waiting for the
#: worker; running: chunks are being written; done; failed: stopped as a whole (message
#: says why); cancelled by its owner.
STATUSES = ("draft", "queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class ImportState:
    id: int
    object: str
    status: str
    file_name: str
    file_format: str
    encoding: str | None
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    mapping: tuple[ColumnMapping, ...]
    options: ImportOptions
    message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_row(cls, row) -> ImportState:
        return cls(
            id=row.id,
            object=row.object,
            status=row.status,
            file_name=row.file_name,
            file_format=row.file_format,
            encoding=row.encoding,
            total_rows=row.total_rows,
            processed_rows=row.processed_rows,
            created=row.created_count,
            updated=row.updated_count,
            skipped=row.skipped_count,
            failed=row.failed_count,
            mapping=tuple(ColumnMapping.from_json(c) for c in row.mapping),
            options=ImportOptions(**row.options),
            message=row.message,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    @property
    def percent(self) -> int:
        """Rows processed out of the total, in whole percent (what a progress bar shows)."""
        if not self.total_rows:
            return 100 if self.status == "done" else 0
        return self.processed_rows * 100 // self.total_rows

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def as_json(self) -> dict[str, Any]:
        def moment(value: dt.datetime | None) -> str | None:
            return None if value is None else value.replace(tzinfo=dt.UTC).isoformat()

        return {
            "id": self.id,
            "object": self.object,
            "status": self.status,
            "file_name": self.file_name,
            "format": self.file_format,
            "encoding": self.encoding,
            "progress": {
                "processed": self.processed_rows,
                "total": self.total_rows,
                "percent": self.percent,
            },
            "counts": {
                "created": self.created,
                "updated": self.updated,
                "skipped": self.skipped,
                "failed": self.failed,
            },
            "mapping": [c.as_json() for c in self.mapping],
            "options": self.options.as_json(),
            "message": self.message,
            "created_at": moment(self.created_at),
            "started_at": moment(self.started_at),
            "finished_at": moment(self.finished_at),
            "errors_url": f"/api/v1/imports/{self.id}/errors.csv",
        }
