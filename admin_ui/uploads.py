"""Pack archives uploaded through the admin forms.

An archive is saved under its checked suffix and handed to the metadata API as a path
(``pack_archive`` checks every member before unpacking). An upgrade needs the archive
twice, for the dry run and then for the confirmed run, so it is held in the instance
folder under a random token remembered in the admin's session: the confirm form names
only that token, never a path.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from flask import current_app, request, session
from flask_babel import gettext as _

from trellis.runtime.errors import Invalid

SUFFIXES = (".zip", ".tar.gz", ".tgz")
TOKEN = re.compile(r"[0-9a-f]{32}")
#: Held archives older than this are removed when the next one is held.
KEEP_SECONDS = 24 * 3600


def _suffix() -> str:
    upload = request.files.get("archive")
    name = (upload.filename or "") if upload is not None else ""
    suffix = next((s for s in SUFFIXES if name.lower().endswith(s)), None)
    if not name or suffix is None:
        raise Invalid(_("Choose a pack archive: a .zip or .tar.gz file."))
    return suffix


def _save(path: Path) -> None:
    upload = request.files["archive"]
    try:
        upload.save(path)
    finally:
        upload.close()  # a large upload is spooled to a temporary file


@contextlib.contextmanager
def uploaded_archive() -> Iterator[Path]:
    """The archive of this request in a temporary folder, removed afterwards."""
    suffix = _suffix()
    with tempfile.TemporaryDirectory(prefix="trellis-admin-upload-") as tmp:
        path = Path(tmp) / f"pack{suffix}"
        _save(path)
        yield path


def _held_folder() -> Path:
    folder = Path(current_app.instance_path) / "pack_uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def hold_archive() -> str:
    """Keep this request's archive for a later confirmed run; returns its token."""
    suffix = _suffix()
    folder = _held_folder()
    for old in folder.iterdir():
        if old.stat().st_mtime < time.time() - KEEP_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    _save(folder / f"{token}{suffix}")
    session["pack_uploads"] = {**session.get("pack_uploads", {}), token: suffix}
    return token


def held_archive(token: str) -> Path:
    """The archive held under ``token`` by this session; refused when it is not there."""
    suffix = session.get("pack_uploads", {}).get(token)
    path = _held_folder() / f"{token}{suffix}"
    if not TOKEN.fullmatch(token) or suffix not in SUFFIXES or not path.is_file():
        raise Invalid(_("The uploaded archive is no longer kept: upload it again."))
    return path


def release_archive(token: str) -> None:
    held = dict(session.get("pack_uploads", {}))
    suffix = held.pop(token, None)
    session["pack_uploads"] = held
    if TOKEN.fullmatch(token) and suffix in SUFFIXES:
        (_held_folder() / f"{token}{suffix}").unlink(missing_ok=True)
