"""The job queue for administrators: the dead-letter list and retries.

``GET /jobs?status=dead`` (or pending, running, done; ``limit``, ``cursor``)
lists jobs newest first; ``POST /jobs/{id}/retry`` gives a dead job new
attempts, due now. Others are refused (403), as for definitions.
"""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request

from trellis.flows import jobs
from trellis.runtime.api import api
from trellis.runtime.api.requests import context, runtime
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, Conflict, Forbidden, NotFound
from trellis.runtime.permissions import is_admin

MAX_LIMIT = 200


def _require_admin():
    rt = runtime()
    with rt.engine.connect() as conn:
        defs = rt.cache.get(conn).definitions
    if not is_admin(defs, context().principal):
        raise Forbidden("only administrators may see and retry jobs")


def _as_json(job: dict) -> dict:
    def moment(value: dt.datetime | None) -> str | None:
        return value.replace(tzinfo=dt.UTC).isoformat() if value else None

    return {
        "id": job["id"],
        "kind": job["kind"],
        "unique_key": job["unique_key"],
        "status": job["status"],
        "attempts": job["attempts"],
        "max_attempts": job["max_attempts"],
        "due_at": moment(job["due_at"]),
        "created_at": moment(job["created_at"]),
        "finished_at": moment(job["finished_at"]),
        "locked_by": job["locked_by"],
        "heartbeat_at": moment(job["heartbeat_at"]),
        "last_error": job["last_error"],
        "payload": job["payload"],
    }


@api.get("/jobs")
def list_jobs():
    _require_admin()
    args = request.args
    unknown = set(args) - {"status", "limit", "cursor"}
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}; use status, limit, cursor"
        )
    status = args.get("status") or None
    if status is not None and status not in jobs.STATUSES:
        raise BadRequest(f"status must be one of {', '.join(jobs.STATUSES)}")
    limit, cursor = args.get("limit", "50"), args.get("cursor") or None
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    if cursor is not None and not cursor.isdigit():
        raise BadRequest("cursor must be the next_cursor of the previous page")
    with runtime().engine.connect() as conn:
        rows = jobs.find(
            conn, status=status, limit=int(limit) + 1, before_id=int(cursor) if cursor else None
        )
    page = rows[: int(limit)]
    return jsonify(
        {
            "jobs": [_as_json(job) for job in page],
            "next_cursor": str(page[-1]["id"]) if len(rows) > len(page) else None,
        }
    )


@api.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    _require_admin()
    with begin_write(runtime().engine) as conn:
        job = jobs.get(conn, job_id)
        if job is None:
            raise NotFound(f"there is no job {job_id}")
        if not jobs.retry(conn, job_id, context().stamp):
            raise Conflict(f"job {job_id} is {job['status']}; only dead jobs can be retried")
        job = jobs.get(conn, job_id)
    return jsonify({"job": _as_json(job)})
