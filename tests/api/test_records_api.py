"""Records over HTTP: create, read, update, delete, list; versions, errors and their shape."""

from __future__ import annotations

LEAD = {"company_name": "接口测试公司", "mobile": "13812345678"}


def test_create_answers_201_with_location_and_etag(api):
    response = api.post("/objects/lead/records", json={**LEAD, "source": "网络广告"})
    assert response.status_code == 201
    record = response.get_json()["record"]
    assert response.headers["Location"] == f"/api/v1/objects/lead/records/{record['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (record["source"], record["mobile"], record["version"]) == (
        "online_ads",
        "+8613812345678",
        1,
    )
    got = api.get(response.headers["Location"])
    assert got.status_code == 200
    assert got.get_json()["record"] == record
    assert got.headers["ETag"] == '"1"'


def test_duplicate_warnings_come_with_the_created_record(api):
    api.create("lead", {**LEAD, "contact_name": "张三"})
    response = api.post("/objects/lead/records", json={**LEAD, "contact_name": "张 三"})
    assert response.status_code == 201
    warnings = response.get_json()["warnings"]["duplicates"]
    assert warnings[0]["rule"] == "same_company_contact" and len(warnings[0]["records"]) == 1


def test_a_blocking_duplicate_is_409_with_the_duplicates(api):
    api.create("account", {"account_name": "唯一客户"})
    response = api.post("/objects/account/records", json={"account_name": "唯一 客户"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and error["duplicates"][0]["rule"] == "same_name"


def test_patch_with_if_match_and_a_stale_version_is_412(api):
    record = api.create("lead", LEAD)
    url = f"/objects/lead/records/{record['id']}"
    ok = api.patch(url, json={"title": "总监"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"2"' and ok.get_json()["record"]["title"] == "总监"
    stale = api.patch(url, json={"title": "经理"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "stale_version"
    stale = api.patch(url, json={"title": "经理", "version": 1})
    assert stale.status_code == 412
    assert api.get(url).get_json()["record"]["title"] == "总监"
    weak = api.patch(url, json={"title": "经理"}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200
    assert api.patch(url, json={"title": "x"}, headers={"If-Match": "*"}).status_code == 400
    assert api.delete(url, headers={"If-Match": '"2"'}).status_code == 412
    assert api.delete(url, headers={"If-Match": '"3"'}).status_code == 204
    assert api.get(url).status_code == 404


def test_other_users_records_are_404_like_missing_ones(api):
    theirs = api.create("lead", LEAD, as_="rep_north")
    url = f"/objects/lead/records/{theirs['id']}"
    for response in (
        api.get(url),
        api.patch(url, json={"title": "x"}),
        api.delete(url),
        api.get(url + "/history"),
    ):
        assert response.status_code == 404
        assert "rep_north" not in response.get_data(as_text=True)
        assert LEAD["company_name"] not in response.get_data(as_text=True)
    missing = api.get(f"/objects/lead/records/{theirs['id'] + 100}")
    assert missing.status_code == 404
    listed = api.get("/objects/lead/records?total=true").get_json()
    assert listed == {"records": [], "next_cursor": None, "total": 0}
    assert api.get(url, as_="rep_north").status_code == 200


def test_bad_record_ids_are_404(api):
    api.create("lead", LEAD)
    for bad_id in ["abc", "0", "-1", "1.5", "99999999999999999999999", "1%20OR%201%3D1", "1'"]:
        assert api.get(f"/objects/lead/records/{bad_id}").status_code == 404, bad_id
        assert api.patch(f"/objects/lead/records/{bad_id}", json={}).status_code == 404, bad_id


def test_unknown_fields_are_422_with_details(api):
    response = api.post("/objects/lead/records", json={**LEAD, "compnay_name": "x", "nope": 1})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert {d["field"] for d in details} == {"compnay_name", "nope"}
    hint = next(d for d in details if d["field"] == "compnay_name")["message"]
    assert "company_name" in hint  # did you mean


def test_system_fields_are_not_mass_assignable(api, crm):
    for field in ["id", "owner", "version", "created_at", "created_by", "updated_at", "department"]:
        value = "2020-01-01T00:00:00" if field.endswith("_at") else 1
        response = api.post("/objects/lead/records", json={**LEAD, field: value})
        assert response.status_code == 422, field
        assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]
    assert crm.count("lead") == 0


def test_system_fields_cannot_be_changed_by_patch(api, crm):
    record = api.create("lead", LEAD)
    url = f"/objects/lead/records/{record['id']}"
    admin = crm.user_id("admin")
    for field, value in [
        ("owner", admin),
        ("created_by", admin),
        ("created_at", "2020-01-01T00:00:00"),
        ("department", 1),
        ("lead_number", "LEAD-000000-0000"),
    ]:
        response = api.patch(url, json={field: value})
        assert response.status_code == 422, field
    after = api.get(url).get_json()["record"]
    assert after == record


def test_over_long_text_is_422_on_every_database(api, crm):
    response = api.post("/objects/lead/records", json={**LEAD, "company_name": "长" * 201})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "company_name"
    response = api.post("/objects/lead/records", json={**LEAD, "requirement": "x" * 4001})
    assert response.status_code == 422
    assert crm.count("lead") == 0


WRONG_TYPES = [
    ("estimated_amount", "abc"),
    ("estimated_amount", [1]),
    ("estimated_amount", {"amount": 1}),
    ("estimated_amount", True),
    ("estimated_amount", "1e400"),
    ("estimated_amount", "-1e400"),
    ("estimated_amount", "NaN"),
    ("estimated_amount", "Infinity"),
    ("last_followed_up_at", 12345),
    ("last_followed_up_at", "2026-13-45T99:00:00"),
    ("company_name", ["a"]),
    ("company_name", {"$ne": None}),
    ("status", 1),
    ("status", ["new"]),
    ("mobile", 13812345678),
    ("email", "a@b@c"),
]


def test_wrong_types_are_422(api, crm):
    for field, value in WRONG_TYPES:
        response = api.post("/objects/lead/records", json={**LEAD, field: value})
        assert response.status_code == 422, (field, value, response.get_json())
        assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]
    assert crm.count("lead") == 0


def test_a_body_that_is_not_a_json_object_is_400(api, crm):
    record = api.create("lead", LEAD)
    json_type = {"Content-Type": "application/json"}
    for body in ['["company_name"]', '"text"', "42", "null", "{bad json", "", '{"a": }']:
        response = api.post("/objects/lead/records", data=body, headers=json_type)
        assert response.status_code == 400, body
        url = f"/objects/lead/records/{record['id']}"
        assert api.patch(url, data=body, headers=json_type).status_code == 400, body
    assert crm.count("lead") == 1
    assert api.get(f"/objects/lead/records/{record['id']}").get_json()["record"] == record


def test_a_body_without_json_content_type_is_400(api):
    response = api.post(
        "/objects/lead/records", data='{"company_name": "x"}', content_type="text/plain"
    )
    assert response.status_code == 400


def test_list_parameters_are_checked(api):
    api.create("lead", LEAD)
    assert api.get("/objects/lead/records?limit=500").status_code == 200
    for query in [
        "limit=501",
        "limit=0",
        "limit=abc",
        "limit=-5",
        "filtre=status%20%3D%3D%20%27new%27",
        "page=2",
        "offset=10",
        "sort=no_such_field",
        "cursor=not-a-cursor",
        "filter=status%20%3D%3D",
        "filter=__import__(%27os%27)",
        "fields=company_name,no_such_field",
    ]:
        response = api.get(f"/objects/lead/records?{query}")
        assert response.status_code == 400, query


def test_list_filter_sort_fields_and_paging(api):
    for i, status in enumerate(["new", "working", "new", "qualified", "new"]):
        api.create("lead", {**LEAD, "company_name": f"列表{i}", "status": status})
    api.create("lead", {**LEAD, "company_name": "别人的"}, as_="rep_north")
    query = "filter=status%20%3D%3D%20%27new%27&sort=company_name&limit=2&total=true"
    first = api.get(f"/objects/lead/records?{query}").get_json()
    assert first["total"] == 3
    assert [r["company_name"] for r in first["records"]] == ["列表0", "列表2"]
    second = api.get(f"/objects/lead/records?{query}&cursor={first['next_cursor']}").get_json()
    assert [r["company_name"] for r in second["records"]] == ["列表4"]
    assert second["next_cursor"] is None
    slim = api.get("/objects/lead/records?fields=company_name&limit=1").get_json()
    assert set(slim["records"][0]) == {"company_name", "id", "version"}


def test_history_endpoint(api, crm):
    record = api.create("lead", LEAD)
    url = f"/objects/lead/records/{record['id']}"
    api.patch(url, json={"status": "working"}, as_="manager")
    history = api.get(url + "/history").get_json()["history"]
    assert [(h["field"], h["old"], h["new"]) for h in history] == [("status", "new", "working")]
    assert history[0]["changed_by"] == crm.user_id("manager")


def test_bulk_endpoint_is_all_or_nothing(api, crm):
    rows = [{**LEAD, "company_name": f"批量{i}"} for i in range(3)]
    response = api.post("/objects/lead/records/bulk", json=rows)
    assert response.status_code == 201 and len(response.get_json()["ids"]) == 3
    rows[1] = {"company_name": "没有联系方式"}
    response = api.post("/objects/lead/records/bulk", json=rows)
    assert response.status_code == 422
    assert [d["row"] for d in response.get_json()["error"]["details"]] == [1]
    assert api.post("/objects/lead/records/bulk", json=LEAD).status_code == 400
    assert crm.count("lead") == 3


def test_permission_errors_over_http(api):
    assert (
        api.post(
            "/objects/account/records", json={"account_name": "x"}, as_="tech_lead"
        ).status_code
        == 403
    )
    assert api.get("/objects/lead/records", as_="tech_lead").status_code == 403
    record = api.create("lead", LEAD)
    response = api.patch(f"/objects/lead/records/{record['id']}", json={"score": 99})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "score"
    account = api.create("account", {"account_name": "不能删"})
    assert api.delete(f"/objects/account/records/{account['id']}").status_code == 403


def test_validation_messages_follow_accept_language(api):
    for language, message in [
        ("en", "Enter a mobile number or an email address"),
        ("zh-CN", "手机和邮箱至少填写一项"),
    ]:
        response = api.post(
            "/objects/lead/records",
            json={"company_name": "无联系"},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["message"] == message


def test_unknown_routes_and_methods_answer_json_errors(api):
    cases = [
        ("GET", "/objects/no_such_object/records", 404),
        ("GET", "/no_such_endpoint", 404),
        ("GET", "/objects/lead/records/1/nope", 404),
        ("PUT", "/objects/lead/records/1", 405),
        ("DELETE", "/objects/lead/records", 405),
    ]
    for method, path, status in cases:
        response = api.request(method, path)
        assert response.status_code == status, (method, path)
        if status == 405:  # the client learns what it may do instead
            assert "GET" in response.headers["Allow"], (method, path)


def test_an_unexpected_error_is_a_json_500_without_details(api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(api.runtime.records, "query", explode)
    response = api.get("/objects/lead/records")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internal detail" not in body and "RuntimeError" not in body
    assert response.get_json()["error"]["code"] == "internal_error"


def test_listing_costs_the_same_for_few_or_many_records(api, crm):
    """Pinned statement count for GET /records (the N+1 guard of the conventions)."""

    def cost():
        api.token("rep_east")  # signed in beforehand: count only the list request
        # A token's first use in a minute also notes "last used" (its own short write):
        # use it once first, so the count is the listing's alone.
        assert api.get("/objects/lead/records?limit=1").status_code == 200
        with crm.statements() as seen:
            response = api.get("/objects/lead/records?limit=200&total=true")
        assert response.status_code == 200
        return len(seen), len(response.get_json()["records"])

    for i in range(3):
        crm.lead("rep_east", company_name=f"少{i}")
    few, shown = cost()
    assert shown == 3
    crm.records.bulk_create(
        crm.ctx("rep_east"),
        "lead",
        [{"company_name": f"多{i}", "email": f"{i}@x.cn"} for i in range(60)],
    )
    many, shown = cost()
    assert shown == 63
    assert many == few


def test_bulk_endpoint_limits_the_batch(api, crm):
    rows = [{**LEAD, "company_name": f"超量{i}"} for i in range(1001)]
    response = api.post("/objects/lead/records/bulk", json=rows)
    assert response.status_code == 400
    assert crm.count("lead") == 0
