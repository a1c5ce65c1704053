"""Signing in and out of the pages, and who the current request acts as.

Sessions are Flask-Login's signed cookie; the password check and its lockout (5 wrong
passwords lock the account for 15 minutes) are the same ``trellis.runtime.auth`` the API
uses. Every page request builds a ``Context`` for the signed-in user (``g.ctx``) in their
language and time zone; a user deactivated since signing in is signed out at once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from trellis.runtime import auth as auth_model
from trellis.runtime.context import Context
from trellis.runtime.database import begin_write
from trellis.runtime.errors import Unauthorized
from trellis.runtime.system_tables import user_table
from trellis.web import pages
from trellis.web.i18n import LOCALES, browser_locale

login_manager = LoginManager()
login_manager.login_view = "pages.sign_in"
# "strong": a session cookie replayed from another browser or address is dropped.
login_manager.session_protection = "strong"

#: Pages anyone may open without signing in.
PUBLIC = {"pages.sign_in", "pages.vendor_file", "pages.static", "pages.choose_language"}

#: Time zones offered on the preferences form (any IANA name is accepted).
ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)


class SignedIn(UserMixin):
    def __init__(self, user_id: int):
        self.id = user_id


@login_manager.user_loader
def _load(user_id: str) -> SignedIn | None:
    return SignedIn(int(user_id)) if user_id.isdigit() else None


def runtime():
    return current_app.extensions["trellis"]


def page_context() -> Context:
    return g.ctx


@pages.before_app_request
def _act_as_signed_in_user():
    g.pop("ctx", None)
    if not current_user.is_authenticated or request.blueprint == "api":
        return None
    try:
        ctx = runtime().context(int(current_user.id))
    except Unauthorized:
        logout_user()
        session.clear()
        return None
    g.ctx = ctx


@pages.before_request
def _require_sign_in():
    if request.endpoint in PUBLIC or g.get("ctx") is not None:
        return None
    return redirect(url_for("pages.sign_in", next=_local_path(request.full_path)))


def _local_path(target: str | None) -> str:
    """``target`` when it is a path on this site, else the home page (no open redirects)."""
    if not target:
        return url_for("pages.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.home")
    return target.rstrip("?") or url_for("pages.home")


@pages.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        return render_template("sign_in.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    refused = None
    with begin_write(runtime().engine) as conn:
        # A wrong password must still commit the failed-login count: catch, commit, show.
        try:
            user_id = auth_model.check_password(conn, username, password)
        except Unauthorized as exc:
            refused = exc
    if refused is not None:
        locked = "locked" in refused.message
        message = (
            _("Too many wrong passwords: this account is locked for 15 minutes.")
            if locked
            else _("Wrong username or password.")
        )
        return render_template(
            "sign_in.html", error=message, username=username, next=request.form.get("next", "")
        ), 401
    session.clear()  # a fresh session on sign-in: no fixation of an earlier cookie
    login_user(SignedIn(user_id))
    return redirect(_local_path(request.form.get("next")))


@pages.post("/sign-out")
def sign_out():
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("pages.sign_in"))


@pages.post("/language")
def choose_language():
    """Switch the page language; a signed-in user's choice is stored on the user."""
    locale = request.form.get("locale")
    if locale in LOCALES:
        session["locale"] = locale
        ctx = g.get("ctx")
        if ctx is not None:
            _save_user(ctx.user_id, locale=locale)
    return redirect(_local_path(request.form.get("next")))


@pages.route("/preferences", methods=["GET", "POST"])
def preferences():
    ctx = page_context()
    if request.method == "POST":
        zone = request.form.get("time_zone", "")
        locale = request.form.get("locale", ctx.locale)
        error = _check_zone(zone) or (None if locale in LOCALES else _("Choose a language."))
        if error:
            return render_template("preferences.html", zones=ZONES, error=error), 422
        _save_user(ctx.user_id, locale=locale, time_zone=zone)
        session["locale"] = locale
        flash(_("Preferences saved."))
        return redirect(url_for("pages.preferences"))
    return render_template("preferences.html", zones=ZONES)


def _check_zone(zone: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return _("Unknown time zone: choose one from the list, e.g. Asia/Shanghai.")
    return None


def _save_user(user_id: int, **values) -> None:
    with begin_write(runtime().engine) as conn:
        conn.execute(sa.update(user_table).where(user_table.c.id == user_id).values(**values))


def default_locale() -> str:
    return session.get("locale") or browser_locale()
