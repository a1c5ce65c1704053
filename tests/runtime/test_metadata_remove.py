"""Removing a definition an admin made (issue 6: everything the JSON can do, the admin can).

``MetadataAPI.remove(actor, kind, key)`` deletes the admin's own report, dashboard, pool,
rule, list view, layout or flow as one change: it shows in the history and reverts like any
other. A pack's component, one that something else still names, and a pool that still
holds records are refused, and the refusal says what to do instead.
"""

from __future__ import annotations

import pytest

from trellis.runtime.errors import Conflict, Invalid, NotFound

LABEL = {"zh-CN": "阶段统计", "en": "Stage count"}


def define_report(metadata, api_name: str = "stage_count") -> None:
    report = {
        "api_name": api_name,
        "object": "opportunity",
        "label": LABEL,
        "group_by": [{"field": "stage"}],
        "measures": [{"api_name": "deals", "label": LABEL, "function": "count"}],
        "chart": "bar",
    }
    metadata.define("admin", "report", report)


def define_dashboard(metadata, report: str) -> None:
    tile = {
        "api_name": "stages",
        "report": report,
        "chart": "bar",
        "title": LABEL,
        "position": {"x": 0, "y": 0, "w": 6, "h": 4},
    }
    dashboard = {"api_name": "stage_board", "label": LABEL, "columns": 12, "widgets": [tile]}
    metadata.define("admin", "dashboard", dashboard)


def test_an_admins_report_is_removed_shown_in_the_history_and_brought_back_by_revert(crm):
    define_report(crm.rt.metadata)
    result = crm.rt.metadata.remove("manager", "report", "opportunity.stage_count")
    assert result.applied
    with pytest.raises(NotFound):
        crm.rt.metadata.definition("report", "opportunity.stage_count")
    assert "opportunity.stage_count" not in result.definitions.reports

    change = crm.rt.metadata.history(limit=1)[0]
    assert change["summary"] == "remove report:opportunity.stage_count"
    assert change["changed_by"] == "manager"
    [item] = change["detail"]
    assert item["before"]["label"] == LABEL and item["after"] is None

    crm.rt.metadata.revert("admin", change["version"])
    assert crm.rt.metadata.definition("report", "opportunity.stage_count")["label"] == LABEL


def test_a_dry_run_removes_nothing(crm):
    define_report(crm.rt.metadata)
    version = crm.rt.metadata.history(limit=1)[0]["version"]
    result = crm.rt.metadata.remove("admin", "report", "opportunity.stage_count", dry_run=True)
    assert not result.applied
    assert crm.rt.metadata.definition("report", "opportunity.stage_count")
    assert crm.rt.metadata.history(limit=1)[0]["version"] == version


def test_a_packs_report_is_refused_naming_the_pack(crm):
    with pytest.raises(Invalid) as refused:
        crm.rt.metadata.remove("admin", "report", "opportunity.pipeline_by_stage")
    assert "comes with pack crm_standard@" in str(refused.value)
    assert "deactivate" in str(refused.value)
    assert crm.rt.metadata.definition("report", "opportunity.pipeline_by_stage")


def test_a_report_a_dashboard_still_shows_is_refused_at_the_dashboards_tile(crm):
    define_report(crm.rt.metadata)
    define_dashboard(crm.rt.metadata, "opportunity.stage_count")
    with pytest.raises(Invalid) as refused:
        crm.rt.metadata.remove("admin", "report", "opportunity.stage_count")
    assert str(refused.value) == (
        "report opportunity.stage_count is still used by dashboard stage_board "
        "(/widgets/0/report); change or remove those first"
    )
    [place] = refused.value.details
    assert place["pointer"] == "dashboard:stage_board/widgets/0/report"
    assert crm.rt.metadata.definition("report", "opportunity.stage_count")

    crm.rt.metadata.remove("admin", "dashboard", "stage_board")
    crm.rt.metadata.remove("admin", "report", "opportunity.stage_count")
    with pytest.raises(NotFound):
        crm.rt.metadata.definition("dashboard", "stage_board")


def pool_holding_a_lead(crm) -> dict:
    """The admin's pool ``lead.trial`` with one lead in it (recycled there); the lead."""
    pool = {
        "api_name": "trial",
        "object": "lead",
        "label": {"zh-CN": "试用公海", "en": "Trial pool"},
        "members": [{"type": "role", "role": "sales_rep"}],
    }
    crm.rt.metadata.define("admin", "pool", pool)
    lead = crm.lead("rep_east")
    recycler = crm.ctx("admin").acting_for("automation:lead.recycle")
    crm.rt.flows.pools.move(recycler, "lead", lead["id"], pool="trial")
    return lead


def test_a_pool_that_still_holds_records_is_refused_until_they_are_claimed(crm):
    lead = pool_holding_a_lead(crm)

    for dry_run in (True, False):
        with pytest.raises(Conflict) as refused:
            crm.rt.metadata.remove("admin", "pool", "lead.trial", dry_run=dry_run)
        assert "still holds 1 record(s)" in str(refused.value)
    assert crm.rt.metadata.definition("pool", "lead.trial")

    crm.rt.flows.pools.claim(crm.ctx("rep_east"), "lead", "trial", lead["id"])
    assert crm.rt.metadata.remove("admin", "pool", "lead.trial").applied


def test_unknown_and_unremovable_definitions_are_refused_plainly(crm):
    with pytest.raises(NotFound) as missing:
        crm.rt.metadata.remove("admin", "report", "opportunity.nothing_here")
    assert "there is no report 'opportunity.nothing_here'" in str(missing.value)
    with pytest.raises(Invalid) as role:
        crm.rt.metadata.remove("admin", "role", "sales_rep")
    assert "a role cannot be removed here" in str(role.value)
    with pytest.raises(Invalid):
        crm.rt.metadata.remove("admin", "field", "lead.company_name")
