"""The front-end libraries, served from ``node_modules`` (installed by ``npm ci`` at set-up,
never committed) at the exact versions of ``package-lock.json``.

Only the files named here are served, so nothing else under ``node_modules`` is reachable.
``TRELLIS_VENDOR_DIR`` points elsewhere when Trellis runs from an installed package.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import abort, send_file

from trellis.web import pages

FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    "Sortable.min.js": "sortablejs/Sortable.min.js",
}


def vendor_folder() -> Path:
    configured = os.environ.get("TRELLIS_VENDOR_DIR")
    if configured:
        return Path(configured)
    # The repository root's node_modules (platform/web/ is two levels below it).
    return Path(__file__).resolve().parents[2] / "node_modules"


@pages.get("/vendor/<name>")
def vendor_file(name: str):
    relative = FILES.get(name)
    if relative is None:
        abort(404)
    path = vendor_folder() / relative
    if not path.is_file():
        abort(
            503,
            f"{name} is not installed: run `make install` (npm ci) in the repository",
        )
    return send_file(path, mimetype="text/javascript", max_age=3600)
