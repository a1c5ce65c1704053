"""The conversion page (转化): a lead becomes an account (or is linked to an existing one),
a contact and, if wanted, an opportunity, in one step; and the "Convert" button on the
source's record page.

Any object with an active conversion definition gets both; the page runs
``Conversions(runtime().records)`` exactly as ``/api/v1/conversions/…`` does: ``preview``
shows what each target will hold and the existing records its duplicate rules find (with
links), ``convert`` makes everything in one transaction or nothing. Duplicates the user
has seen are confirmed with "Convert anyway"; a converted source, a stale version, a
failing rule or a blocking duplicate is said plainly, and a source outside the viewer's
scope answers 404 as everywhere.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.runtime.errors import Forbidden, NotFound, StaleVersion, TrellisError
from trellis.runtime.records.conversion import AlreadyConverted, Conversions, DuplicatesFound
from trellis.web import pages
from trellis.web.display import Names, cell, reference_target
from trellis.web.i18n import label
from trellis.web.metadata_view import access, compiled, object_runtime
from trellis.web.panels import record_panel
from trellis.web.sessions import page_context, runtime


def conversions():
    return Conversions(runtime().records)


def conversion_of(object_name: str, name: str | None = None):
    """The object's active conversion (the named one, or the first by name)."""
    found = sorted(
        (c for c in compiled().definitions.conversions.values()),
        key=lambda c: c.api_name,
    )
    for conversion in found:
        if conversion.object_name == object_name and conversion.active:
            if name is None or conversion.api_name == name:
                return conversion
    return None


# -- the button on the record page -------------------------------------------------------


def converted_links(conversion, record) -> list[dict]:
    """The records a converted source links (what it became), as far as the viewer sees."""
    return [
        {"target": t, "id": record[t.link_field]}
        for t in conversion.targets
        if record.get(t.link_field) is not None
    ]


@record_panel("top", order=30)
def convert_button(obj, record):
    conversion = conversion_of(obj.api_name)
    if conversion is None:
        return None
    links = converted_links(conversion, record)
    if not links and not access(obj.api_name).edit:
        return None
    names = Names(runtime(), page_context())
    for link in links:
        names.want(link["target"].object_name, link["id"])
    for link in links:
        link["name"] = names.get(link["target"].object_name, link["id"]) or f"#{link['id']}"
    return render_template(
        "_convert_button.html", object=obj, record=record, conversion=conversion, links=links
    )


# -- the page ---------------------------------------------------------------------------


def _proposal_rows(targets: list[dict]) -> None:
    """Add ``rows`` (label and shown value of each proposed field) to each target."""
    ctx = page_context()
    names = Names(runtime(), ctx)
    for target in targets:
        obj = compiled().objects[target["object"]].definition
        target["definition"] = obj
        fields = [obj.by_name[n] for n in target["values"] if n in obj.by_name]
        for f in fields:
            ref = reference_target(f)
            if ref:
                names.want(ref, target["values"][f.api_name])
        for found in target["duplicates"]:
            for r in found["records"]:
                r["href"] = url_for(
                    "pages.record_page", object_name=obj.api_name, record_id=r["id"]
                )
        target["fields"] = fields
    for target in targets:
        target["rows"] = [
            {"field": f, "cell": cell(f, target["values"][f.api_name], names, ctx.locale)}
            for f in target["fields"]
        ]
        by_name = target["definition"].by_name
        target["missing_labels"] = [
            label(by_name[n].label) for n in target["missing"] if n in by_name
        ]


def _page(obj, record_id, conversion, *, status=200, message=None, confirm=False):
    """The conversion page from a fresh preview (or what stops it: converted, condition)."""
    source_name = _source_name(obj, record_id)
    try:
        preview = conversions().preview(page_context(), conversion_key(conversion), record_id)
    except AlreadyConverted as exc:
        return _already(obj, record_id, source_name, exc)
    except (NotFound, Forbidden):
        raise
    except TrellisError as exc:
        page = {"object": obj, "record_id": record_id, "source_name": source_name}
        return _render(page, conversion, None, exc.message), exc.status
    if not preview["source"]["can_convert"]:
        raise Forbidden(_("You may read this record but not convert it."))
    _proposal_rows(preview["targets"])
    # Only a warning can be confirmed; a blocking rule asks to link the existing record.
    warned = any(
        d["action"] == "warn" and (d["records"] or d["not_visible"])
        for t in preview["targets"]
        for d in t["duplicates"]
    )
    page = {"object": obj, "record_id": record_id, "source_name": source_name}
    return _render(page, conversion, preview, message, confirm or warned), status


def _render(page: dict, conversion, preview, message, confirm=False) -> str:
    """convert.html for one source record, with its preview (None: nothing to convert)."""
    return render_template(
        "convert.html",
        **page,
        conversion=conversion,
        preview=preview,
        message=message,
        confirm=confirm,
    )


def _already(obj, record_id, source_name, exc: AlreadyConverted):
    converted = list(exc.extra.get("converted", {}).values())
    names = Names(runtime(), page_context())
    for link in converted:
        names.want(link["object"], link["id"])
    links = [
        {**link, "name": names.get(link["object"], link["id"]) or f"#{link['id']}"}
        for link in converted
    ]
    return render_template(
        "convert_done.html",
        object=obj,
        record_id=record_id,
        source_name=source_name,
        links=links,
    ), 409


def _source_name(obj, record_id: int) -> str:
    record = runtime().records.get(page_context(), obj.api_name, record_id)  # 404 if unseen
    return (record.get(obj.name_field) if obj.name_field else None) or f"#{record_id}"


def conversion_key(conversion) -> str:
    return f"{conversion.object_name}.{conversion.api_name}"


def _choices(conversion) -> dict:
    """The form as the conversion's JSON choices (the same the API takes)."""
    targets = {}
    for target in conversion.targets:
        name = target.api_name
        if target.optional and request.form.get(f"make_{name}") != "on":
            targets[name] = {"skip": True}
            continue
        existing = request.form.get(f"existing_{name}", "")
        if target.choose_existing and existing.isdigit():
            targets[name] = {"existing_id": int(existing)}
    version = request.form.get("version", "")
    return {
        "targets": targets,
        "confirm_duplicates": request.form.get("confirm_duplicates") == "1",
        **({"version": int(version)} if version.isdigit() else {}),
    }


def _destination(conversion, result) -> tuple[str, int]:
    """Where to go afterwards: the optional record the user chose to make (the
    opportunity), else the first target (the account)."""
    made = [(t, result.records.get(t.api_name)) for t in conversion.targets]
    chosen = [(t, r) for t, r in made if t.optional and r is not None]
    target, record = (chosen or [(t, r) for t, r in made if r is not None])[0]
    return target.object_name, record["id"]


@pages.route("/o/<object_name>/<int:record_id>/convert", methods=["GET", "POST"])
def convert_page(object_name: str, record_id: int):
    obj = object_runtime(object_name).definition
    conversion = conversion_of(object_name, request.values.get("conversion") or None)
    if conversion is None:
        raise NotFound(f"{object_name} has no conversion")
    if request.method == "GET":
        return _page(obj, record_id, conversion)
    try:
        result = conversions().convert(
            page_context(), conversion_key(conversion), record_id, _choices(conversion)
        )
    except (NotFound, Forbidden):
        raise
    except AlreadyConverted as exc:
        return _already(obj, record_id, _source_name(obj, record_id), exc)
    except DuplicatesFound:
        message = _(
            "Some records look like ones that already exist. Link an existing record, "
            "or convert anyway."
        )
        return _page(obj, record_id, conversion, status=409, message=message, confirm=True)
    except StaleVersion:
        message = _(
            "Someone changed this record after you opened the page. Check what is "
            "proposed now and convert again."
        )
        return _page(obj, record_id, conversion, status=412, message=message)
    except TrellisError as exc:
        return _page(obj, record_id, conversion, status=exc.status, message=exc.message)
    flash(_("Converted."))
    target_object, target_id = _destination(conversion, result)
    return redirect(
        url_for("pages.record_page", object_name=target_object, record_id=target_id), code=303
    )
