"""The Flask application factory.

``create_app()`` reads configuration from the environment
(``TRELLIS_DATABASE_URL``, ``TRELLIS_SECRET_KEY``) and the instance folder's
``trellis.cfg``; tests pass ``config`` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

import trellis.flows.api  # noqa: F401  (adds the flow engine's routes to the blueprint)
from trellis import admin_ui
from trellis.config import flow_settings, instance_path, load_config
from trellis.runtime.api import api
from trellis.runtime.platform_runtime import Runtime
from trellis.web import init_app

#: Scripts, styles, images and fonts from this site only: a value that slipped past the
#: escaping still could not run a script or load one from elsewhere. The pages have no
#: inline script or style attribute (behaviour lives in trellis.web's static/trellis.js).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    # `trellis` is a namespace package (platform/ has no __init__.py), so Flask is
    # named after this module and told where the instance folder is.
    # static_folder=None: the pages blueprint serves /static/ (the app itself has none).
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path("instance")).resolve()),
        static_folder=None,
    )
    app.config.update(load_config(app.instance_path))
    app.config.update(config or {})
    app.config.setdefault("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["trellis"] = Runtime(app.config["DATABASE_URL"])
    app.extensions["trellis"].flows.config = flow_settings(app.config)  # SMTP, WeCom, webhooks
    app.register_blueprint(api)
    init_app(app)  # the generated pages: sign-in, lists, records, forms
    admin_ui.init_app(app)  # /admin for administrators, on the pages' sessions

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
