"""Upgrading an installed pack from an uploaded archive: the dry run first, then confirm.

The dry run and the confirmed run are the same ``MetadataAPI.upgrade_pack`` call
(``dry_run=True`` changes nothing), so the report the admin confirms is what the real run
does. The archive is held between the two requests (``uploads``), and the confirm form
carries the metadata version the dry run saw: when someone changed definitions in
between, the admin gets the fresh dry run to look at again instead of a different upgrade.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.uploads import held_archive, hold_archive, release_archive
from trellis.runtime.errors import Invalid, TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime


def _upgrade(name: str, token: str, *, dry_run: bool) -> dict:
    result = runtime().metadata.upgrade_pack(held_archive(token), actor(), dry_run=dry_run)
    report = result.as_json()
    if report["pack"] != name:
        raise Invalid(
            _("The archive holds the pack %(sent)s, not %(name)s.", sent=report["pack"], name=name)
        )
    return report


@admin.post("/packs/<name>/upgrade")
def upgrade_dry_run(name: str):
    """Hold the uploaded archive and show what upgrading to it would do."""
    try:
        token = hold_archive()
        report = _upgrade(name, token, dry_run=True)
    except TrellisError as exc:
        return refusal_page(exc, _("The pack cannot be upgraded"))
    return _report_page(name, report, token)


def _report_page(name: str, report: dict, token: str, *, changed_meanwhile: bool = False):
    page = render_template(
        "admin/upgrade_report.html",
        name=name,
        report=report,
        token=token,
        seen_version=definitions().version,
        changed_meanwhile=changed_meanwhile,
    )
    return page, 409 if changed_meanwhile else 200


@admin.post("/packs/<name>/upgrade/confirm")
def upgrade_confirmed(name: str):
    token = request.form.get("token", "")
    try:
        if request.form.get("seen_version") != str(definitions().version):
            return _report_page(
                name, _upgrade(name, token, dry_run=True), token, changed_meanwhile=True
            )
        report = _upgrade(name, token, dry_run=False)
    except TrellisError as exc:
        return refusal_page(exc, _("The pack was not upgraded"))
    release_archive(token)
    flash(
        _(
            "%(name)s is upgraded to %(version)s.",
            name=name,
            version=report["to_version"],
        )
    )
    if report["conflicts"]:
        flash(_("Choose a value for each conflict below."))
        return redirect(url_for("admin.conflicts"))
    return redirect(url_for("admin.packs"))
