"""The pack manager's main page: installed packs, install from an archive, export.

Everything goes through ``runtime().metadata`` (the one ``MetadataAPI``), the same calls
``trellis pack install|export`` and ``/api/v1/packs`` make.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.sections import section
from trellis.admin_ui.uploads import uploaded_archive
from trellis.runtime.errors import TrellisError
from trellis.web.sessions import page_context, runtime


def actor() -> str:
    return page_context().principal.username


def shown_value(value: Any) -> str:
    """A definition value as text: strings as they are, anything else as JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def local_time(stored: str) -> str:
    """A stored UTC time in the viewer's time zone."""
    moment = dt.datetime.fromisoformat(stored).replace(tzinfo=dt.UTC)
    zone = page_context().principal.time_zone or "Asia/Shanghai"
    try:
        moment = moment.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        pass
    return moment.strftime("%Y-%m-%d %H:%M")


section(
    "packs",
    _l("Packs"),
    "admin.packs",
    order=90,
    prefixes=(
        "admin.packs",
        "admin.install_pack",
        "admin.export_pack",
        "admin.upgrade_",
        "admin.uninstall_",
    ),
)


@admin.get("/packs")
def packs():
    installed = runtime().metadata.packs()
    for pack in installed:
        pack["installed_at_local"] = local_time(pack["installed_at"])
    return render_template(
        "admin/packs.html", packs=installed, conflicts=len(runtime().metadata.conflicts())
    )


@admin.post("/packs/install")
def install_pack():
    try:
        with uploaded_archive() as archive:
            result = runtime().metadata.install_pack(archive, actor())
    except TrellisError as exc:
        return refusal_page(exc, _("The pack was not installed"))
    if result.applied:
        flash(_("The pack is installed (metadata version %(version)s).", version=result.version))
    else:
        flash(_("This version of the pack is already installed: nothing changed."))
    return redirect(url_for("admin.packs"))


@admin.post("/packs/export")
def export_pack():
    """The admin's customizations as a pack archive (.zip) to install on another Trellis."""
    name = request.form.get("name", "").strip()
    version = request.form.get("version", "").strip() or "1.0.0"
    try:
        archive = _export_archive(name, version)
    except TrellisError as exc:
        return refusal_page(exc, _("The customizations were not exported"))
    return send_file(
        archive, mimetype="application/zip", as_attachment=True, download_name=f"{name}.zip"
    )


def _export_archive(name: str, version: str) -> io.BytesIO:
    with tempfile.TemporaryDirectory(prefix="trellis-admin-export-") as tmp:
        files = runtime().metadata.export_pack(name, Path(tmp), version=version)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel in files:
                archive.write(Path(tmp) / rel, f"{name}/{rel}")
    buffer.seek(0)
    return buffer
