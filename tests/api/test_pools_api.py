"""Pools and assignment over REST: the pools a user sees, listing, claim, release, assign."""

from __future__ import annotations

import pytest

LABEL = {"zh-CN": "公海", "en": "Pool"}


@pytest.fixture
def setup(api, crm):
    """The pack's pools and rules switched off; one East China pool and one rule instead."""
    rt = crm.rt
    with rt.engine.connect() as conn:
        defs = rt.cache.get(conn).definitions
        shipped = [f"pool:{k}" for k in defs.pools] + [
            f"assignment_rule:{k}" for k in defs.assignment_rules
        ]
    for key in shipped:
        rt.metadata.patch("admin", key, {"active": False})
    rt.metadata.define(
        "admin",
        "pool",
        {
            "api_name": "east",
            "object": "lead",
            "label": LABEL,
            "members": [{"type": "role", "role": "sales_rep"}],
            "condition": "region == 'east'",
            "claims_per_day": 1,
        },
    )
    rt.metadata.define(
        "admin",
        "assignment_rule",
        {
            "api_name": "to_north",
            "object": "lead",
            "label": LABEL,
            "entries": [
                {"method": "round_robin", "users": [{"type": "user", "users": ["rep_north"]}]}
            ],
        },
    )
    return crm


def in_pool(api, crm) -> int:
    lead = api.create(
        "lead", {"company_name": "公海公司", "mobile": "13812345678", "region": "east"}
    )
    response = api.post(f"/objects/lead/records/{lead['id']}/release", json={})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"pool": "east"}
    return lead["id"]


def test_my_pools_list_with_counts(api, setup):
    in_pool(api, setup)
    body = api.get("/pools").get_json()
    assert body["pools"] == [
        {
            "key": "lead.east",
            "object": "lead",
            "api_name": "east",
            "label": LABEL,
            "records": 1,
            "claims_per_day": 1,
            "claimed_today": 0,
            "max_held": None,
        }
    ]
    assert api.get("/pools", as_="tech_lead").get_json() == {"pools": []}


def test_listing_and_claiming_a_pooled_record(api, setup):
    lead_id = in_pool(api, setup)

    page = api.get("/pools/lead.east/records", as_="rep_north").get_json()
    assert [e["record"]["id"] for e in page["entries"]] == [lead_id]
    assert page["entries"][0]["reason"] == "released"
    assert page["entries"][0]["previous_owner"]["display_name"] == "华东销售代表"
    assert page["next_cursor"] is None
    # The pool list shows it; reading the record itself still needs the data scope.
    assert api.get(f"/objects/lead/records/{lead_id}", as_="rep_north").status_code == 404

    claimed = api.post(f"/pools/lead.east/records/{lead_id}/claim", as_="rep_north")
    assert claimed.status_code == 200
    assert claimed.get_json()["record"]["owner"] == setup.user_id("rep_north")
    assert api.get(f"/objects/lead/records/{lead_id}", as_="rep_north").status_code == 200

    again = api.post(f"/pools/lead.east/records/{lead_id}/claim", as_="rep_east")
    assert again.status_code == 409
    assert "already claimed by 华北销售代表" in again.get_json()["error"]["message"]


def test_the_daily_limit_answers_422(api, setup):
    first, second = in_pool(api, setup), in_pool(api, setup)
    assert api.post(f"/pools/lead.east/records/{first}/claim", as_="rep_north").status_code == 200
    refused = api.post(f"/pools/lead.east/records/{second}/claim", as_="rep_north")
    assert refused.status_code == 422
    assert "daily limit of 1" in refused.get_json()["error"]["message"]


def test_non_members_get_404(api, setup):
    lead_id = in_pool(api, setup)
    assert api.get("/pools/lead.east/records", as_="manager").status_code == 404
    claim = api.post(f"/pools/lead.east/records/{lead_id}/claim", as_="manager")
    assert claim.status_code == 404
    assert "member" in claim.get_json()["error"]["message"]
    assert api.get("/pools/lead/records").status_code == 404
    assert api.get("/pools/lead.nowhere/records").status_code == 404


def test_bad_requests_say_what_is_wrong(api, setup):
    lead = api.create("lead", {"company_name": "某公司", "mobile": "13812345678"})
    bad_pool = api.post(f"/objects/lead/records/{lead['id']}/release", json={"pool": 3})
    assert bad_pool.status_code == 400
    unknown = api.post(f"/objects/lead/records/{lead['id']}/release", json={"pol": "east"})
    assert unknown.status_code == 400 and "pol" in unknown.get_json()["error"]["message"]
    assert api.get("/pools/lead.east/records?limit=0").status_code == 400
    assert api.get("/pools/lead.east/records?limit=x").status_code == 400
    assert api.get("/pools/lead.east/records?cursor=zzz").status_code == 400
    assert api.get("/pools/lead.east/records?sort=id").status_code == 400
    # Not East China: the pool does not take it, and nothing changed.
    refused = api.post(f"/objects/lead/records/{lead['id']}/release", json={"pool": "east"})
    assert refused.status_code == 422
    assert api.get(f"/objects/lead/records/{lead['id']}").get_json()["record"]["owner"]


def test_release_by_someone_else_is_refused(api, setup):
    lead = api.create("lead", {"company_name": "某公司", "mobile": "13812345678", "region": "east"})
    path = f"/objects/lead/records/{lead['id']}/release"
    assert api.post(path, as_="rep_north").status_code == 404
    assert api.post(path, as_="manager").status_code == 403
    assert api.post(path, as_="admin").get_json() == {"pool": "east"}


def test_assign_needs_edit_rights(api, setup):
    lead = api.create("lead", {"company_name": "某公司", "mobile": "13812345678"})
    path = f"/objects/lead/records/{lead['id']}/assign"
    assert api.post(path, json={"rule": "to_north"}, as_="rep_north").status_code == 404
    response = api.post(path, json={"rule": "to_north"}, as_="manager")
    assert response.status_code == 200
    assert response.get_json() == {"owner": setup.user_id("rep_north")}
    assert api.get(f"/objects/lead/records/{lead['id']}").status_code == 404  # no longer hers
    missing = api.post(path, json={"rule": "nope"}, as_="admin")
    assert missing.status_code == 404 and "lead.to_north" in missing.get_json()["error"]["message"]
    assert api.post(path, as_="admin").status_code == 200  # without a rule: the active ones
