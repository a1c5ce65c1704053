"""GET /api/v1/metadata/history and POST …/{version}/revert (administrators only)."""

from __future__ import annotations

COMPANY = "field:lead.company_name"


def test_an_admin_reads_the_history_and_reverts_one_change(api, crm):
    rt = api.runtime
    pack_label = rt.metadata.definition("field", "lead.company_name")["label"]
    change = rt.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "单位", "en": "Org"}})
    listed = api.get("/metadata/history", query_string={"key": COMPANY, "limit": 1}, as_="admin")
    assert listed.status_code == 200
    [entry] = listed.get_json()["changes"]
    assert entry["version"] == change.version and entry["changed_by"] == "admin"
    assert entry["detail"][0]["after"] == {"zh-CN": "单位", "en": "Org"}

    dry = api.post(
        f"/metadata/history/{change.version}/revert?dry_run=true", as_="admin"
    ).get_json()
    assert dry["applied"] is False
    assert rt.metadata.definition("field", "lead.company_name")["label"]["en"] == "Org"
    done = api.post(f"/metadata/history/{change.version}/revert", as_="admin")
    assert done.status_code == 200 and done.get_json()["applied"] is True
    assert rt.metadata.definition("field", "lead.company_name")["label"] == pack_label


def test_bad_paging_and_stale_reverts_are_refused_plainly(api, crm):
    rt = api.runtime
    first = rt.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "单位", "en": "Org"}})
    rt.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "机构", "en": "Body"}})
    bad = api.get("/metadata/history?before=abc", as_="admin")
    assert bad.status_code == 400 and "whole number" in bad.get_json()["error"]["message"]
    stale = api.post(f"/metadata/history/{first.version}/revert", as_="admin")
    assert stale.status_code == 409
    assert "revert that one first" in stale.get_json()["error"]["message"]


def test_other_users_may_not_read_or_revert(api, crm):
    assert api.get("/metadata/history", as_="rep_east").status_code == 403
    assert api.post("/metadata/history/1/revert", as_="rep_east").status_code == 403
