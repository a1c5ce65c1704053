"""The department tree at /admin/departments: add, rename, set the head, and restructure
by dragging a department (with everything below it) under another one or into another
place among its siblings (the order is kept).

Writes go through ``trellis.runtime.people_admin``. A move comes from the drag (asking for
JSON, so a refused move can be put back where it was) or from the row's own form when
scripts are off; moving a department under itself or one of its own sub-departments is
refused with the reason.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.people_messages import field_errors, summary
from trellis.admin_ui.sections import section
from trellis.metadata.names import name_from_label
from trellis.runtime import people_admin
from trellis.runtime.database import begin_write
from trellis.runtime.errors import TrellisError
from trellis.web.sessions import runtime

section(
    "departments",
    _l("Departments"),
    "admin.departments",
    order=71,
    prefixes=("admin.department",),
)


@admin.get("/departments")
def departments():
    return _page()


@admin.post("/departments")
def department_create():
    form = {k: request.form.get(k, "").strip() for k in ("api_name", "label_zh", "label_en")}
    parent = request.form.get("parent") or None
    try:
        with begin_write(runtime().engine) as conn:
            if not form["api_name"]:
                taken = {d["api_name"] for d in people_admin.departments(conn)}
                form["api_name"] = name_from_label(form["label_en"] or form["label_zh"], taken)
            people_admin.create_department(conn, **form, parent=parent)
    except TrellisError as exc:
        return _page(new=dict(form, parent=parent or ""), errors=field_errors(exc), exc=exc)
    flash(_("Department %(name)s is added.", name=form["label_zh"] or form["label_en"]))
    return redirect(url_for("admin.departments"))


@admin.post("/departments/<name>")
def department_edit(name: str):
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.rename_department(
                conn,
                name,
                request.form.get("label_zh", ""),
                request.form.get("label_en", ""),
            )
            people_admin.set_head(conn, name, request.form.get("head") or None)
    except TrellisError as exc:
        return _page(editing=name, errors=field_errors(exc), exc=exc)
    flash(_("Saved."))
    return redirect(url_for("admin.departments"))


@admin.post("/departments/<name>/move")
def department_move(name: str):
    parent = request.form.get("parent") or None
    # The drag sends where among the siblings it was dropped; the row's form puts it last.
    index = request.form.get("index", type=int)
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        with begin_write(runtime().engine) as conn:
            people_admin.move_department(conn, name, parent, index)
    except TrellisError as exc:
        if wants_json:
            return jsonify({"message": summary(exc)}), exc.status
        return _page(editing=name, errors=field_errors(exc), exc=exc)
    if wants_json:
        return jsonify({"moved": name, "parent": parent})
    flash(_("The department is moved."))
    return redirect(url_for("admin.departments"))


def _page(*, new: dict | None = None, editing: str | None = None, errors=None, exc=None):
    with runtime().engine.connect() as conn:
        listing = {
            "tree": people_admin.tree(conn),
            "flat": sorted(people_admin.departments(conn), key=lambda d: d["api_name"]),
            "flat_tree": people_admin.indented(conn),
            "users": people_admin.list_users(conn, active=True),
        }
    page = render_template(
        "admin/departments.html",
        new=new or {},
        editing=editing,
        errors=errors or {},
        **listing,
    )
    return (page, exc.status) if exc else page
