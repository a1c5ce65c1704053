"""Lead conversion over HTTP: ``GET /conversions/lead.standard/{id}`` previews,
``POST`` converts (account + contact + opportunity in one step, with duplicate checks)."""

from __future__ import annotations

BASE = "/conversions/lead.standard"


def _lead(api, **values) -> dict:
    data = {
        "company_name": "杭州密封材料有限公司",
        "contact_name": "陈工",
        "mobile": "13966660001",
        "region": "east",
        "industry": "chemical",
        "product_line": "sealants",
        "estimated_amount": "88000",
        **values,
    }
    return api.create("lead", data)


def test_preview_then_convert(api):
    lead = _lead(api)

    preview = api.get(f"{BASE}/{lead['id']}")
    assert preview.status_code == 200, preview.get_json()
    targets = {t["api_name"]: t for t in preview.get_json()["targets"]}
    assert targets["account"]["values"]["account_name"] == "杭州密封材料有限公司"
    assert targets["account"]["duplicates"] == []

    response = api.post(f"{BASE}/{lead['id']}", json={}, headers={"If-Match": '"1"'})

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    account, contact, opp = (body["records"][n] for n in ("account", "contact", "opportunity"))
    assert contact["account"] == opp["account"] == account["id"]
    assert opp["primary_contact"] == contact["id"] and opp["lead"] == lead["id"]
    assert response.headers["ETag"] == f'"{body["source"]["version"]}"'
    read = api.get(f"/objects/lead/records/{lead['id']}").get_json()["record"]
    assert read["status"] == "converted"
    assert read["converted_account"] == account["id"]
    assert read["converted_opportunity"] == opp["id"]


def test_converting_twice_answers_409_with_the_links(api):
    lead = _lead(api)
    first = api.post(f"{BASE}/{lead['id']}", json={"targets": {"opportunity": {"skip": True}}})
    assert first.status_code == 201, first.get_json()

    again = api.post(f"{BASE}/{lead['id']}", json={})
    preview = api.get(f"{BASE}/{lead['id']}")

    for response in (again, preview):
        assert response.status_code == 409
        error = response.get_json()["error"]
        assert error["code"] == "already_converted"
        assert error["converted"] == {
            "account": {"object": "account", "id": first.get_json()["records"]["account"]["id"]},
            "contact": {"object": "contact", "id": first.get_json()["records"]["contact"]["id"]},
        }


def test_duplicate_account_then_linking_the_existing_one(api):
    existing = api.create("account", {"account_name": "杭州密封材料有限公司"})
    lead = _lead(api)
    found = api.get(f"{BASE}/{lead['id']}").get_json()["targets"][0]["duplicates"]
    assert found[0]["records"] == [{"id": existing["id"], "name": "杭州密封材料有限公司"}]

    refused = api.post(f"{BASE}/{lead['id']}", json={})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["target"] == "account"

    choices = {"targets": {"account": {"existing_id": existing["id"]}}}
    linked = api.post(f"{BASE}/{lead['id']}", json=choices)
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["linked_existing"] == ["account"]
    assert linked.get_json()["records"]["contact"]["account"] == existing["id"]


def test_another_reps_lead_answers_404_and_a_stale_version_412(api):
    lead = _lead(api)

    assert api.get(f"{BASE}/{lead['id']}", as_="rep_north").status_code == 404
    assert api.post(f"{BASE}/{lead['id']}", json={}, as_="rep_north").status_code == 404
    stale = api.post(f"{BASE}/{lead['id']}", json={"version": 7})
    assert stale.status_code == 412


def test_bad_requests_name_their_place(api):
    lead = _lead(api)

    bad = api.post(f"{BASE}/{lead['id']}", json={"targets": {"account": {"skip": True}}})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"][0]["pointer"] == "/targets/account/skip"
    not_json = api.post(f"{BASE}/{lead['id']}", data="targets", content_type="text/plain")
    assert not_json.status_code == 400
    assert api.get(f"/conversions/lead.express/{lead['id']}").status_code == 404
    assert api.get(f"{BASE}/abc").status_code == 404


def test_a_failing_contact_answers_422_naming_the_target(api, crm):
    lead = _lead(api, contact_name=None)
    accounts = crm.count("account")

    response = api.post(f"{BASE}/{lead['id']}", json={}, headers={"Accept-Language": "en"})

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["target"] == "contact"
    assert error["details"][0] == {
        "field": "contact_name",
        "message": error["details"][0]["message"],
        "target": "contact",
    }
    assert crm.count("account") == accounts


def test_openapi_describes_the_conversion(api):
    document = api.get("/openapi.json", as_=None).get_json()
    operations = document["paths"]["/api/v1/conversions/lead.standard/{id}"]
    assert set(operations) == {"get", "post"}
    assert "account" in operations["post"]["summary"]
    assert "422" in operations["post"]["responses"]
