"""Describing objects, creating objects (administrators), and the OpenAPI document."""

from __future__ import annotations

import copy

import pytest

NEW_OBJECT = {
    "api_name": "service_contract",
    "label": {"zh-CN": "服务合同", "en": "Service contract"},
    "plural_label": {"zh-CN": "服务合同", "en": "Service contracts"},
    "name_field": "contract_name",
    "fields": [
        {
            "api_name": "contract_name",
            "type": "text",
            "label": {"zh-CN": "合同名称", "en": "Contract name"},
            "required": True,
            "length": 100,
        },
        {
            "api_name": "account",
            "type": "lookup",
            "label": {"zh-CN": "客户", "en": "Account"},
            "target": "account",
            "on_delete": "restrict",
        },
        {
            "api_name": "contract_amount",
            "type": "currency",
            "label": {"zh-CN": "合同金额", "en": "Amount"},
        },
        {
            "api_name": "tax",
            "type": "formula",
            "label": {"zh-CN": "税额", "en": "Tax"},
            "return_type": "currency",
            "formula": "contract_amount * 13 / 100",
        },
    ],
}


def test_objects_lists_what_the_caller_may_read(api):
    # A rep reads the sales chain and its products; no market plans (marketing's).
    names = {o["api_name"] for o in api.get("/objects", as_="rep_east").get_json()["objects"]}
    assert names == {
        "account",
        "campaign",
        "claim",
        "competitor",
        "complaint",
        "contact",
        "contract",
        "follow_up",
        "invoice",
        "lead",
        "opportunity",
        "order_line",
        "payment",
        "payment_plan",
        "price_book",
        "price_book_entry",
        "product",
        "quote",
        "quote_line",
        "return_request",
        "revenue_target",
        "sales_order",
        "visit_plan",
    }
    # The tech lead supports deals and delivery: no leads, payments or invoices.
    names = {o["api_name"] for o in api.get("/objects", as_="tech_lead").get_json()["objects"]}
    assert names == {
        "account",
        "campaign",
        "competitor",
        "complaint",
        "contact",
        "contract",
        "follow_up",
        "opportunity",
        "order_line",
        "price_book",
        "price_book_entry",
        "product",
        "quote",
        "quote_line",
        "return_request",
        "sales_order",
        "visit_plan",
    }
    # Finance: money and what it hangs on; no leads, follow-ups or visit plans.
    names = {o["api_name"] for o in api.get("/objects", as_="finance").get_json()["objects"]}
    assert names == {
        "account",
        "campaign",
        "claim",
        "complaint",
        "contact",
        "contract",
        "invoice",
        "market_plan",
        "opportunity",
        "order_line",
        "payment",
        "payment_plan",
        "price_book",
        "price_book_entry",
        "product",
        "quote",
        "quote_line",
        "return_request",
        "revenue_target",
        "sales_order",
    }


@pytest.mark.parametrize(
    ("language", "label", "status_new", "source_ads"),
    [
        ("zh-CN,zh;q=0.9", "线索", "新建", "网络广告"),
        ("en-US,en;q=0.8", "Lead", "New", "Online ads"),
    ],
)
def test_describe_follows_accept_language(api, language, label, status_new, source_ads):
    response = api.get("/objects/lead", headers={"Accept-Language": language})
    assert response.status_code == 200
    lead = response.get_json()
    assert lead["label"] == label
    fields = {f["api_name"]: f for f in lead["fields"]}
    status = fields["status"]
    assert status["type"] == "picklist"
    assert [v["api_name"] for v in status["values"]] == [
        "new",
        "working",
        "qualified",
        "converted",
        "unqualified",
    ]
    assert status["values"][0]["label"] == status_new
    assert fields["source"]["values"][0]["label"] == source_ads
    assert fields["company_name"]["required"] is True
    assert fields["score"]["read_only"] is True  # for a sales rep
    assert fields["lead_number"]["read_only"] is True
    listed = api.get("/objects", headers={"Accept-Language": language}).get_json()["objects"]
    assert next(o for o in listed if o["api_name"] == "lead")["label"] == label


def test_describe_says_what_the_caller_may_do(api):
    lead = api.get("/objects/lead", as_="rep_east").get_json()
    assert lead["permissions"] == {"create": True, "read": True, "edit": True, "delete": True}
    account = api.get("/objects/account", as_="rep_east").get_json()
    assert account["permissions"] == {"create": True, "read": True, "edit": True, "delete": False}
    tech = api.get("/objects/account", as_="tech_lead").get_json()
    assert tech["permissions"] == {"create": False, "read": True, "edit": False, "delete": False}
    manager = api.get("/objects/lead", as_="manager").get_json()
    assert {f["api_name"]: f for f in manager["fields"]}["score"]["read_only"] is False


def test_describe_of_an_object_the_caller_cannot_read_is_404(api):
    assert api.get("/objects/lead", as_="tech_lead").status_code == 404
    assert api.get("/objects/no_such_object").status_code == 404


def test_only_administrators_create_objects(api):
    before = api.get("/objects", as_="admin").get_json()
    response = api.post("/objects", json=NEW_OBJECT, as_="rep_east")
    assert response.status_code == 403
    assert api.post("/objects", json=NEW_OBJECT, as_="vp").status_code == 403
    assert api.get("/objects", as_="admin").get_json() == before
    assert api.get("/objects/service_contract/records", as_="admin").status_code == 404


def test_a_created_object_has_working_record_endpoints(api):
    response = api.post("/objects", json=NEW_OBJECT, as_="admin")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["metadata_version"] >= 2
    described = api.get("/objects/service_contract", as_="admin").get_json()
    assert [f["api_name"] for f in described["fields"] if not f["system"]] == [
        "contract_name",
        "account",
        "contract_amount",
        "tax",
    ]
    account = api.create("account", {"account_name": "签约客户"}, as_="admin")
    created = api.post(
        "/objects/service_contract/records",
        json={"contract_name": "年度框架合同", "account": account["id"], "contract_amount": "1000"},
        as_="admin",
    )
    assert created.status_code == 201, created.get_json()
    record = created.get_json()["record"]
    assert (record["tax"], record["contract_amount"]) == ("130.00", "1000.00")
    listed = api.get("/objects/service_contract/records?total=true", as_="admin").get_json()
    assert listed["total"] == 1 and listed["records"][0]["id"] == record["id"]
    patched = api.patch(
        f"/objects/service_contract/records/{record['id']}",
        json={"contract_amount": "2000"},
        headers={"If-Match": '"1"'},
        as_="admin",
    )
    assert patched.get_json()["record"]["tax"] == "260.00"
    # The lookup's restrict rule protects the account.
    assert api.delete(f"/objects/account/records/{account['id']}", as_="admin").status_code == 409
    # Roles grant nothing on it yet: a rep does not see it at all.
    assert api.get("/objects/service_contract/records", as_="rep_east").status_code == 403
    assert "service_contract" not in {
        o["api_name"] for o in api.get("/objects", as_="rep_east").get_json()["objects"]
    }
    spec = api.get("/openapi.json", as_=None).get_json()
    assert "/api/v1/objects/service_contract/records" in spec["paths"]
    assert "contract_amount" in spec["components"]["schemas"]["ServiceContractRecord"]["properties"]


def _field(api_name, **extra):
    return {
        "api_name": api_name,
        "type": "text",
        "label": {"zh-CN": "字段", "en": "Field"},
        **extra,
    }


BAD_DEFINITIONS = [
    ({**NEW_OBJECT, "api_name": "x; drop table rec_lead"}, "/api_name"),
    ({**NEW_OBJECT, "api_name": "__class__"}, "/api_name"),
    ({**NEW_OBJECT, "api_name": "select"}, "/api_name"),
    ({**NEW_OBJECT, "api_name": "rec_lead"}, "/api_name"),
    ({**NEW_OBJECT, "api_name": "Contract"}, "/api_name"),
    ({**NEW_OBJECT, "fields": [_field("x; drop table")]}, "x; drop table"),
    ({**NEW_OBJECT, "fields": [_field("__class__")]}, "__class__"),
    ({**NEW_OBJECT, "fields": [_field("owner")]}, "owner"),
    ({**NEW_OBJECT, "fields": [_field("from")]}, "from"),
    (
        {
            **NEW_OBJECT,
            "fields": [_field("evil", type="formula", return_type="text", formula="().__class__")],
        },
        "evil",
    ),
    (
        {
            **NEW_OBJECT,
            "fields": [
                _field(
                    "evil",
                    type="formula",
                    return_type="text",
                    formula="__import__('os').system('id')",
                )
            ],
        },
        "evil",
    ),
    ({**NEW_OBJECT, "fields": [_field("big", type="text", length=10**9)]}, "big"),
    ({**NEW_OBJECT, "fields": [_field("kind", type="no_such_type")]}, "kind"),
    ({**NEW_OBJECT, "label": "合同"}, "/label"),
    ({**NEW_OBJECT, "extra_property": True}, ""),
]


def test_bad_object_definitions_are_422_with_pointers_and_change_nothing(api):
    before = api.get("/objects", as_="admin").get_json()
    before_spec = api.get("/openapi.json", as_=None).get_json()
    for definition, pointer_part in BAD_DEFINITIONS:
        response = api.post("/objects", json=definition, as_="admin")
        assert response.status_code == 422, (definition, response.get_json())
        details = response.get_json()["error"]["details"]
        assert details and all(d.get("pointer") is not None and d["message"] for d in details)
        assert any(pointer_part in d["pointer"] for d in details), details
    assert api.get("/objects", as_="admin").get_json() == before
    assert api.get("/openapi.json", as_=None).get_json() == before_spec
    assert not any(name.startswith("rec_service_contract") for name in _tables(api))


def _tables(api):
    import sqlalchemy as sa

    with api.runtime.engine.connect() as conn:
        return sa.inspect(conn).get_table_names()


def test_every_problem_of_a_definition_is_reported_at_once(api):
    definition = copy.deepcopy(NEW_OBJECT)
    definition["fields"] = [
        _field("select"),
        _field("__dunder"),
        _field("evil", type="formula", return_type="text", formula="().__class__"),
        _field("good"),
        _field("amount_x", type="currency", scale=99),
    ]
    definition["name_field"] = "good"
    response = api.post("/objects", json=definition, as_="admin")
    assert response.status_code == 422
    pointers = " ".join(d["pointer"] for d in response.get_json()["error"]["details"])
    for bad in ("select", "__dunder", "evil", "amount_x"):
        assert bad in pointers, pointers
    assert api.get("/objects/service_contract", as_="admin").status_code == 404


def test_creating_an_object_twice_is_a_conflict(api):
    assert api.post("/objects", json=NEW_OBJECT, as_="admin").status_code == 201
    assert api.post("/objects", json=NEW_OBJECT, as_="admin").status_code == 409
    assert api.post(
        "/objects", json={**NEW_OBJECT, "api_name": "lead"}, as_="admin"
    ).status_code in (
        409,
        422,
    )


def test_admin_adds_and_archives_fields_through_the_api(api):
    field = _field("wechat_id", length=30)
    assert api.post("/objects/lead/fields", json=field, as_="rep_east").status_code == 403
    response = api.post("/objects/lead/fields", json=field, as_="admin")
    assert response.status_code == 201
    lead = api.create("lead", {"company_name": "新字段公司", "email": "a@b.cn", "wechat_id": "wx"})
    assert lead["wechat_id"] == "wx"
    assert api.delete("/objects/lead/fields/wechat_id", as_="admin").status_code == 200
    got = api.get(f"/objects/lead/records/{lead['id']}").get_json()["record"]
    assert "wechat_id" not in got
    described = api.get("/objects/lead").get_json()
    assert "wechat_id" not in {f["api_name"] for f in described["fields"]}
    narrowed = api.patch("/objects/lead/fields/company_name", json={"length": 2}, as_="admin")
    assert narrowed.status_code == 422
    assert narrowed.get_json()["error"]["details"][0]["rows"] == 1


# -- OpenAPI -------------------------------------------------------------------------


def test_openapi_document_describes_every_object_without_a_token(api):
    response = api.get("/openapi.json", as_=None)
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    schemas = spec["components"]["schemas"]
    for name in ("Lead", "Account", "Contact", "Opportunity", "FollowUp"):
        assert f"{name}Record" in schemas and f"{name}Input" in schemas
    lead = schemas["LeadRecord"]["properties"]
    assert lead["company_name"]["type"] == "string" and lead["company_name"]["maxLength"] == 200
    assert lead["status"]["enum"] == ["new", "working", "qualified", "converted", "unqualified"]
    assert lead["lead_number"]["readOnly"] is True
    lead_input = schemas["LeadInput"]
    assert "lead_number" not in lead_input["properties"]
    assert "id" not in lead_input["properties"] and "owner" not in lead_input["properties"]
    assert lead_input["required"] == ["company_name"]
    paths = spec["paths"]
    assert set(paths["/api/v1/objects/lead/records"]) >= {"get", "post"}
    assert set(paths["/api/v1/objects/lead/records/{id}"]) >= {"get", "patch", "delete"}
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # Every $ref points at a schema that exists.
    import json
    import re

    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs and refs <= set(schemas)


def test_a_dry_run_shows_the_plan_and_changes_nothing(api):
    before = api.get("/objects", as_="admin").get_json()
    response = api.post("/objects?dry_run=true", json=NEW_OBJECT, as_="admin")
    assert response.status_code == 200
    body = response.get_json()
    assert body["applied"] is False
    assert [step["action"] for step in body["plan"]][:1] == ["create_table"]
    assert "rec_service_contract" in body["plan"][0]["sql"][0]
    assert api.get("/objects", as_="admin").get_json() == before
    assert api.get("/objects/service_contract", as_="admin").status_code == 404
    field = {"api_name": "wechat_id", "type": "text", "label": {"zh-CN": "微信", "en": "WeChat"}}
    planned = api.post("/objects/lead/fields?dry_run=1", json=field, as_="admin").get_json()
    assert [(s["action"], s["target"]) for s in planned["plan"]] == [("add_column", "wechat_id")]
    described = api.get("/objects/lead", as_="admin").get_json()
    assert "wechat_id" not in [f["api_name"] for f in described["fields"]]
