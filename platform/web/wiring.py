"""``init_app``: what the pages add to the Flask app."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from trellis.runtime.api import api
from trellis.runtime.api.requests import routing_error
from trellis.runtime.errors import NotFound, TrellisError
from trellis.web import i18n, pages
from trellis.web.sessions import login_manager

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    # Pages submit forms with a session cookie, so every POST carries a CSRF token
    # (hidden field, or the X-CSRFToken header htmx sends). The API authenticates each
    # request by its Bearer token, which a third-party site cannot send: no CSRF there.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    csrf.init_app(app)
    csrf.exempt(api)
    login_manager.init_app(app)
    i18n.configure(app)
    app.register_blueprint(pages)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.jinja_env.filters["list_args"] = list_args


def list_args(args, **overrides) -> str:
    """The query string of ``args`` with ``overrides`` (an empty override drops the key)."""
    merged = {k: v for k, v in args.items(multi=False)}
    merged.update(overrides)
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _csrf_refused(exc: CSRFError):
    return render_template("error.html", status=400, message=_csrf_message()), 400


def _csrf_message() -> str:
    from flask_babel import gettext as _

    return _("This form has expired or did not come from this site. Reload the page and try again.")


@pages.app_errorhandler(404)
def _not_found(exc):
    # One app-wide 404 handler wins over the other, so this one hands the API's paths
    # back to the API's JSON answer.
    if request.path == api.url_prefix or request.path.startswith(f"{api.url_prefix}/"):
        return routing_error(exc)
    return render_template("error.html", status=404, message=None), 404


@pages.errorhandler(TrellisError)
def _refused(exc: TrellisError):
    if isinstance(exc, NotFound):
        return render_template("error.html", status=404, message=None), 404
    # The details say which part is wrong (e.g. a definition's field), not just how many.
    problems = [d["message"] for d in exc.details if d.get("message")]
    page = render_template("error.html", status=exc.status, message=exc.message, problems=problems)
    return page, exc.status
