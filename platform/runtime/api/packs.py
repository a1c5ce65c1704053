"""Packs over HTTP (administrators): ``/api/v1/packs…``.

A pack arrives either as an uploaded archive (multipart field ``archive``,
``.zip`` or ``.tar.gz``, checked before it is unpacked) or, in a JSON body
``{"name": ...}``, as the name of a pack shipped with Trellis. Server paths
are never accepted. Every change takes ``?dry_run=true`` and then answers
with the same report and changes nothing.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from flask import jsonify, request, send_file

from trellis.metadata.packs import shipped_packs
from trellis.runtime import sample_data
from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, require_admin, runtime
from trellis.runtime.errors import Invalid

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("true", "1", "yes")


def _actor() -> str:
    return context().principal.username


@contextlib.contextmanager
def _sent_pack() -> Iterator[str | Path]:
    """The pack of this request: an uploaded archive (a temporary file) or a shipped name."""
    upload = request.files.get("archive")
    if upload is not None:
        name = upload.filename or ""
        suffix = next((s for s in ARCHIVE_SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            raise Invalid("upload the pack as a .zip or .tar.gz archive in the field 'archive'")
        with tempfile.TemporaryDirectory(prefix="trellis-upload-") as tmp:
            path = Path(tmp) / f"pack{suffix}"
            try:
                upload.save(path)
            finally:
                upload.close()  # a large upload is spooled to a temporary file
            yield path
        return
    name = json_body().get("name")
    if name not in shipped_packs():
        raise Invalid(
            "send a pack archive (multipart field 'archive') or the name of a shipped pack "
            f'({", ".join(shipped_packs())}) as {{"name": ...}}',
            [{"pointer": "/name", "message": "not a shipped pack"}],
        )
    yield name


@api.get("/packs")
def list_packs():
    require_admin()
    return jsonify({"packs": runtime().metadata.packs(), "shipped": shipped_packs()})


@api.post("/packs")
def install_pack():
    require_admin()
    rt = runtime()
    loader = None
    if _flag("with_sample_data"):
        password = request.args.get("demo_password") or "trellis-demo"
        loader = sample_data.loader(rt, password, acting_user=_actor())
    with _sent_pack() as pack:
        result = rt.metadata.install_pack(
            pack, _actor(), dry_run=_flag("dry_run"), sample_data=loader
        )
    return jsonify(
        {
            "applied": result.applied,
            "metadata_version": result.version,
            "ddl": result.plan.as_json(),
        }
    )


@api.post("/packs/validate")
def validate_pack():
    require_admin()
    with _sent_pack() as pack:
        problems = runtime().metadata.validate_pack(pack)
    return jsonify({"valid": not problems, "problems": problems})


@api.post("/packs/<name>/upgrade")
def upgrade_pack(name: str):
    require_admin()
    with _sent_pack() as pack:
        result = runtime().metadata.upgrade_pack(pack, _actor(), dry_run=_flag("dry_run"))
    report = result.as_json()
    if report["pack"] != name:
        raise Invalid(f"the pack sent is {report['pack']!r}, not {name!r}")
    return jsonify(report)


@api.delete("/packs/<name>")
def uninstall_pack(name: str):
    require_admin()
    result = runtime().metadata.uninstall_pack(name, _actor(), dry_run=_flag("dry_run"))
    return jsonify(result.as_json())


@api.get("/packs/conflicts")
def pack_conflicts():
    require_admin()
    return jsonify({"conflicts": runtime().metadata.conflicts()})


@api.post("/packs/conflicts/resolve")
def resolve_conflict():
    require_admin()
    body = json_body()
    missing = [k for k in ("key", "place", "keep") if not isinstance(body.get(k), str)]
    if missing:
        raise Invalid(
            "send key, place and keep (admin or vendor)",
            [{"pointer": f"/{k}", "message": "required"} for k in missing],
        )
    result = runtime().metadata.resolve_conflict(
        _actor(), body["key"], body["place"], body["keep"], dry_run=_flag("dry_run")
    )
    return jsonify({"applied": result.applied, "metadata_version": result.version})


@api.post("/packs/export")
def export_pack():
    """The admin's customizations as a pack archive (.zip) to install on another Trellis."""
    require_admin()
    body = json_body()
    name, version = body.get("name", ""), body.get("version", "1.0.0")
    with tempfile.TemporaryDirectory(prefix="trellis-export-") as tmp:
        files = runtime().metadata.export_pack(str(name), Path(tmp), version=str(version))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for rel in files:
                archive.write(Path(tmp) / rel, f"{name}/{rel}")
    buffer.seek(0)
    return send_file(
        buffer, mimetype="application/zip", as_attachment=True, download_name=f"{name}.zip"
    )


@api.get("/packs/diff")
def diff_packs():
    """``?a=&b=``: shipped pack names or ``live``."""
    require_admin()
    a, b = request.args.get("a", ""), request.args.get("b", "live")
    allowed = {*shipped_packs(), "live"}
    if a not in allowed or b not in allowed:
        raise Invalid(f"a and b name shipped packs or 'live' ({', '.join(sorted(allowed))})")
    return jsonify({"differences": runtime().metadata.diff_packs(a, b)})
