"""Users at /admin/users: find, create, edit, deactivate and reactivate, reset a password.

Users live in system tables; every write goes through ``trellis.runtime.people_admin`` in
one transaction. A refused form comes back with each problem next to its field (422, or 409
for a username taken, e.g. the same form sent twice).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.people_messages import field_errors
from trellis.admin_ui.sections import section
from trellis.runtime import people_admin
from trellis.runtime.database import begin_write
from trellis.runtime.errors import TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.sessions import ZONES, runtime

section("users", _l("Users"), "admin.users", order=70, prefixes=("admin.user",))

#: The form fields of a user besides username and password.
PROFILE = ("display_name", "email", "phone", "department", "manager", "time_zone", "locale")


@admin.get("/users")
def users():
    active = {"1": True, "0": False}.get(request.args.get("active", ""))
    with runtime().engine.connect() as conn:
        found = people_admin.list_users(
            conn,
            search=request.args.get("q", ""),
            department=request.args.get("department") or None,
            role=request.args.get("role") or None,
            active=active,
        )
        choices = _choices(conn)
    return render_template("admin/people_users.html", users=found, args=request.args, **choices)


@admin.route("/users/new", methods=["GET", "POST"])
def user_new():
    if request.method == "GET":
        return _form(None, {"time_zone": "Asia/Shanghai", "locale": "zh-CN"})
    values = _posted(with_identity=True)
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.create_user(conn, values, known_roles=_role_names())
    except TrellisError as exc:
        return _form(None, values, exc)
    flash(_("User %(name)s is created; they can sign in now.", name=values["username"]))
    return redirect(url_for("admin.user_edit", username=values["username"]))


@admin.route("/users/<username>", methods=["GET", "POST"])
def user_edit(username: str):
    with runtime().engine.connect() as conn:
        user = people_admin.user_detail(conn, username)
    if request.method == "GET":
        return _form(user, user)
    values = _posted(with_identity=False)
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.update_user(conn, username, values, known_roles=_role_names())
    except TrellisError as exc:
        return _form(user, {**values, "username": username}, exc)
    flash(_("Saved."))
    return redirect(url_for("admin.user_edit", username=username))


@admin.post("/users/<username>/active")
def user_active(username: str):
    active = request.form.get("active") == "1"
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.set_active(conn, username, active, by=actor())
    except TrellisError as exc:
        return _refused_on_user(username, exc)
    flash(
        _("%(name)s can sign in again.", name=username)
        if active
        else _("%(name)s is deactivated: they cannot sign in; their records stay.", name=username)
    )
    return redirect(url_for("admin.user_edit", username=username))


@admin.post("/users/<username>/password")
def user_password(username: str):
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.reset_password(conn, username, request.form.get("password", ""))
    except TrellisError as exc:
        return _refused_on_user(username, exc)
    flash(_("The password of %(name)s is reset.", name=username))
    return redirect(url_for("admin.user_edit", username=username))


def _refused_on_user(username: str, exc: TrellisError):
    """The user's page again with the refusal at its place (404 for no such user)."""
    with runtime().engine.connect() as conn:
        user = people_admin.user_detail(conn, username)
    return _form(user, user, exc)


def _posted(*, with_identity: bool) -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in PROFILE}
    values["roles"] = request.form.getlist("roles")
    if with_identity:
        values["username"] = request.form.get("username", "").strip()
        values["password"] = request.form.get("password", "")
    return values


def _form(user: dict | None, values: dict[str, Any], exc: TrellisError | None = None):
    with runtime().engine.connect() as conn:
        choices = _choices(conn)
    values = {k: v for k, v in values.items() if k != "password"}  # never echoed back
    page = render_template(
        "admin/people_user_form.html",
        person=user,
        values=values,
        errors=field_errors(exc) if exc else {},
        refused=exc is not None,
        zones=_zones(values.get("time_zone")),
        **choices,
    )
    return (page, exc.status) if exc else page


def _choices(conn) -> dict[str, Any]:
    """The department (indented by depth), manager and role choices of the forms."""
    return {
        "departments": people_admin.indented(conn),
        "managers": people_admin.list_users(conn, active=True),
        "roles": sorted(definitions().roles.values(), key=lambda r: r.api_name),
        "role_labels": {name: role.label for name, role in definitions().roles.items()},
    }


def _zones(current: str | None) -> list[str]:
    return list(ZONES) if not current or current in ZONES else [current, *ZONES]


def _role_names() -> frozenset[str]:
    return frozenset(definitions().roles)
