"""The formula editor: the live check endpoint, the pickers' contents and the try-out page.

Every place of the admin app that takes a formula renders the macro ``formula_input`` of
``admin/_formula.html``; the macro reads its pickers and first check from the template
global ``formula_editor`` below, and as the admin types the textarea posts to
``/admin/formulas/check`` (htmx, debounced), which answers the result fragment: the type the
formula gives and its value for a sample record, or the problem in plain words at its line
and column. ``/admin/formulas`` is a page to try a formula against any object.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.formula_check import EXPECT, Outcome, check_formula, names_for, shown_value
from trellis.admin_ui.formula_preview import Preview, preview, samples
from trellis.admin_ui.sections import section
from trellis.expressions import BUILTIN_FUNCTIONS, ExprType, fn_dates, fn_logic, fn_numbers, fn_text
from trellis.web.metadata_view import compiled, readable_objects
from trellis.web.sessions import page_context

section("formulas", _l("Formula editor"), "admin.formulas", order=60, prefixes=("admin.formula",))

#: The type a formula gives, in the page's language.
TYPE_WORDS = {
    ExprType.NUMBER: _l("a number"),
    ExprType.TEXT: _l("text"),
    ExprType.BOOLEAN: _l("true/false"),
    ExprType.DATE: _l("a date"),
    ExprType.DATETIME: _l("a date-time"),
    ExprType.LIST: _l("a list"),
    ExprType.NULL: _l("a blank"),
    ExprType.ANY: _l("a value known when it runs"),
}

#: What the try-out page may ask a formula to give.
EXPECT_WORDS = {
    "any": _l("Any value"),
    "boolean": _l("True/false (a condition)"),
    "number": _l("A number"),
    "text": _l("Text"),
    "date": _l("A date or date-time"),
    "datetime": _l("A date-time"),
}

#: The function picker's groups, in the order the language's README lists them.
FUNCTION_GROUPS = (
    (_l("Logic"), fn_logic.FUNCTIONS),
    (_l("Numbers"), fn_numbers.FUNCTIONS),
    (_l("Text"), fn_text.FUNCTIONS),
    (_l("Dates"), fn_dates.FUNCTIONS),
)


def live_object(name: str | None):
    """The object's definition, or 404 (an unknown or archived object)."""
    rt = compiled().objects.get(name or "")
    if rt is None or rt.definition.archived:
        abort(404)
    return rt.definition


@admin.app_template_global("formula_editor")
def formula_editor(
    object_name: str, value: str = "", expect: str = "any", old_values: bool = False
) -> dict[str, Any]:
    """What the macro shows: pickers, sample records and the check of ``value``."""
    obj = live_object(object_name)
    offered = samples(object_name)
    outcome = check_formula(value or "", object_name, expect, old_values=old_values)
    return {
        "fields": _field_choices(obj, names_for(object_name, old_values=old_values)),
        "functions": _function_choices(),
        "samples": offered,
        "result": result_context(outcome, object_name, offered[0].id if offered else None),
    }


def _field_choices(obj, names) -> list[dict[str, Any]]:
    """Option groups: the object's own fields, then each lookup's fields (``lookup.field``)."""
    locale = page_context().locale
    own = {"label": obj.label.get(locale), "options": []}
    groups: dict[str, dict[str, Any]] = {}
    for path in names:
        head, _, tail = path.partition(".")
        if not tail:
            f = obj.by_name.get(path)
            own["options"].append({"path": path, "label": f.label.get(locale) if f else path})
            continue
        group_field = obj.by_name.get(head) if head != "old" else None
        if head not in groups:
            label = group_field.label.get(locale) if group_field else head
            groups[head] = {"label": label, "options": []}
        target = _target_field(group_field, tail)
        shown = target.label.get(locale) if target else tail
        groups[head]["options"].append(
            {"path": path, "label": f"{groups[head]['label']} → {shown}"}
        )
    return [own, *groups.values()]


def _target_field(lookup, name: str):
    if lookup is None:
        return None
    target = compiled().objects.get(lookup.options.get("target", ""))
    return target.definition.by_name.get(name) if target else None


def _function_choices() -> list[dict[str, Any]]:
    return [
        {
            "label": label,
            "options": [
                {"name": f.name, "signature": f.signature}
                for f in functions
                if f.name in BUILTIN_FUNCTIONS
            ],
        }
        for label, functions in FUNCTION_GROUPS
    ]


def result_context(outcome: Outcome, object_name: str, record_id: int | None) -> dict[str, Any]:
    """What ``admin/formula_result.html`` shows for one check (and preview, when it is valid)."""
    shown: Preview | None = None
    if outcome.expression is not None and record_id is not None:
        shown = preview(outcome.expression, object_name, record_id)
    return {
        "outcome": outcome,
        "type_words": TYPE_WORDS.get(outcome.result_type) if outcome.result_type else None,
        "preview": shown,
        "value": shown_value(shown.value) if shown and shown.value is not None else None,
    }


@admin.post("/formulas/check")
def formula_check():
    """The live check. The widget names the form fields holding the formula and the sample
    record (``formula_source``, ``formula_sample_field``): inside a designer's form htmx posts
    the whole form, in which several editors each have their own."""
    form = request.form
    object_name = form.get("formula_object", "")
    live_object(object_name)
    expect = form.get("formula_expect", "any")
    if expect not in EXPECT:
        abort(400)
    source = form.get(form.get("formula_source") or "formula", "")
    old = form.get("formula_old") == "1"
    outcome = check_formula(source, object_name, expect, old_values=old)
    sample = form.get(form.get("formula_sample_field") or "formula_sample", "")
    record_id = int(sample) if sample.isdigit() else None
    return render_template(
        "admin/formula_result.html", r=result_context(outcome, object_name, record_id)
    )


@admin.get("/formulas")
def formulas():
    """Try a formula against an object: the shared editor on a page of its own."""
    objects = [o for o in readable_objects() if not o.archived]
    chosen = request.args.get("object") or (objects[0].api_name if objects else "")
    if objects:
        live_object(chosen)
    expect = request.args.get("expect", "any")
    return render_template(
        "admin/formulas.html",
        objects=objects,
        chosen=chosen,
        expect=expect if expect in EXPECT else "any",
        formula=request.args.get("formula", ""),
        expectations=EXPECT_WORDS,
    )
