"""Imports and exports over the REST API, as a rep and as other users."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from openpyxl import load_workbook

from trellis.flows.worker import Worker

DANGEROUS = ["=cmd|' /C calc'!A0", " +1", "\t@SUM(1)"]


def _upload(api, path, object_name="lead", as_="rep_east", **form):
    with path.open("rb") as f:
        return api.post(
            f"/objects/{object_name}/imports",
            data={"file": (f, path.name), **form},
            content_type="multipart/form-data",
            as_=as_,
        )


def test_upload_preview_start_and_follow_an_import(api, crm, files):
    rows = [["公司名称", "手机", "邮箱"], ["甲公司", "13812345678", ""], ["乙公司", "", ""]]
    response = _upload(api, files.csv("leads.csv", rows, encoding="gbk"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    imp = body["import"]
    assert response.headers["Location"] == f"/api/v1/imports/{imp['id']}"
    assert (imp["status"], imp["encoding"], imp["progress"]["total"]) == ("draft", "gb18030", 2)
    assert [c["field"] for c in imp["mapping"]] == ["company_name", "mobile", "email"]
    assert [r["action"] for r in body["preview"]] == ["created", "failed"]
    assert body["preview"][1]["errors"][0]["column"] == "手机"
    assert crm.count("lead") == 0  # the preview wrote nothing

    changed = api.patch(f"/imports/{imp['id']}", json={"options": {"duplicates": "skip"}})
    assert changed.get_json()["import"]["options"]["duplicates"] == "skip"
    started = api.post(f"/imports/{imp['id']}/start")
    assert started.status_code == 202
    assert started.get_json()["import"]["status"] == "queued"
    assert api.post(f"/imports/{imp['id']}/start").status_code == 409  # started already

    Worker(api.runtime, name="api-test").run_once()
    status = api.get(f"/imports/{imp['id']}").get_json()["import"]
    assert status["status"] == "done"
    assert status["progress"] == {"processed": 2, "total": 2, "percent": 100}
    assert status["counts"] == {"created": 1, "updated": 0, "skipped": 0, "failed": 1}

    errors = api.get(f"/imports/{imp['id']}/errors.csv")
    assert errors.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(errors.get_data().decode("utf-8-sig"))))
    assert lines == [["行号", "列", "值", "原因"], ["3", "手机", "", "手机和邮箱至少填写一项"]]
    listed = api.get("/imports").get_json()["imports"]
    assert [i["id"] for i in listed] == [imp["id"]]


def test_mapping_and_options_sent_with_the_upload(api, files):
    path = files.xlsx("leads.xlsx", [["Company", "备注"], ["甲公司", "x"]])
    response = _upload(
        api, path, mapping='{"备注": "requirement"}', options='{"duplicates": "create"}'
    )
    imp = response.get_json()["import"]
    assert [(c["field"], c["matched_by"]) for c in imp["mapping"]] == [
        ("company_name", "label"),
        ("requirement", "user"),
    ]
    assert _upload(api, path, mapping="{not json").status_code == 400


def test_another_users_import_answers_404(api, files):
    imp = _upload(api, files.csv("a.csv", [["公司名称"], ["x"]])).get_json()["import"]
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/preview"),
        ("POST", "/start"),
        ("GET", "/errors.csv"),
    ]:
        response = api.request(method, f"/imports/{imp['id']}{suffix}", as_="rep_north", json={})
        assert response.status_code == 404, (method, suffix)
        assert response.get_json()["error"]["code"] == "not_found"
    assert api.get("/imports/nonsense").status_code == 404


def test_an_object_the_user_may_not_create_and_a_bad_file_are_refused(api, files):
    refused = _upload(api, files.csv("p.csv", [["产品名称"], ["胶水"]]), "product")
    assert refused.status_code == 403
    assert "you may not create products" in refused.get_json()["error"]["message"]
    missing = _upload(api, files.csv("p.csv", [["x"], ["y"]]), "no_such_object")
    assert missing.status_code == 404
    pdf = files.folder / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 ...")
    bad = _upload(api, pdf)
    assert bad.status_code == 400
    assert "upload CSV (UTF-8 or GBK) or an Excel workbook" in bad.get_json()["error"]["message"]
    no_file = api.post("/objects/lead/imports", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 400


def test_an_upload_over_the_size_limit_answers_413(api, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    data = {"file": (io.BytesIO(b"a,b\n" * 1000), "big.csv")}
    response = api.post("/objects/lead/imports", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]["message"]


# -- exports -------------------------------------------------------------------------------


def _leads_for_export(crm):
    east = crm.ctx("rep_east")
    ids = [
        crm.lead(east, company_name=f"导出公司{i}", contact_name="张三", source="online_ads")["id"]
        for i in range(3)
    ]
    crm.lead("rep_north", company_name="北方公司")
    # The records service trims text, so the leading space and tab are put in directly:
    # the export must stay safe whatever path data arrived by.
    # So is a negative amount (the field's minimum is 0): a number that starts with "-".
    with crm.rt.engine.begin() as conn:
        for record_id, text in zip(ids, DANGEROUS, strict=True):
            conn.execute(
                sa.text("UPDATE rec_lead SET title = :t WHERE id = :id"),
                {"t": text, "id": record_id},
            )
        conn.execute(
            sa.text("UPDATE rec_lead SET estimated_amount = -1200.50 WHERE id = :id"),
            {"id": ids[0]},
        )
    return ids


def test_a_rep_exports_their_list_view_as_csv(api, crm):
    _leads_for_export(crm)
    response = api.get(
        "/objects/lead/export?format=csv&view=all_leads&sort=company_name"
        "&columns=company_name,title,source,score,owner,estimated_amount"
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["公司名称", "职务", "线索来源", "线索评分", "负责人", "预计金额"]
    assert [r[0] for r in rows[1:]] == ["导出公司0", "导出公司1", "导出公司2"]  # not 北方公司
    assert [r[1] for r in rows[1:]] == ["'" + text for text in DANGEROUS]
    assert {r[2] for r in rows[1:]} == {"网络广告"}  # the picklist's label
    assert {r[4] for r in rows[1:]} == {crm.rt.context_for("rep_east").principal.display_name}
    assert [r[5] for r in rows[1:]] == ["-1200.50", "", ""]  # a number, not text to neutralise


def test_a_rep_exports_xlsx_with_labels_strings_and_numbers(api, crm, files):
    _leads_for_export(crm)
    response = api.get(
        "/objects/lead/export?format=xlsx&sort=company_name"
        "&columns=company_name,title,estimated_amount,received_at",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 200, response.get_data()[:300]
    path = files.folder / "export.xlsx"
    path.write_bytes(response.get_data())
    sheet = load_workbook(path).active
    rows = [[c for c in row] for row in sheet.iter_rows()]
    assert [c.value for c in rows[0]] == ["Company", "Job title", "Estimated amount", "Received at"]
    assert [r[0].value for r in rows[1:]] == ["导出公司0", "导出公司1", "导出公司2"]
    for row, text in zip(rows[1:], DANGEROUS, strict=True):
        assert row[1].data_type == "s"  # a string cell, never a formula
        assert row[1].value == "'" + text
    assert rows[1][2].data_type == "n" and rows[1][2].value == -1200.5  # a number stays one
    assert rows[1][3].is_date  # a datetime cell, in the user's zone


def test_export_refuses_what_it_cannot_do(api):
    assert api.get("/objects/lead/export?format=pdf").status_code == 400
    assert api.get("/objects/lead/export?view=nope").status_code == 404
    bad_filter = api.get("/objects/lead/export?filter=status%20%3D%3D")
    assert bad_filter.status_code == 400
    hidden = api.get("/objects/lead/export?columns=company_name,nonexistent")
    assert hidden.status_code == 400
    assert api.get("/objects/lead/export?colour=red").status_code == 400


def test_the_openapi_document_describes_imports_and_exports(api):
    paths = api.get("/openapi.json", as_=None).get_json()["paths"]
    for path in (
        "/api/v1/objects/{object}/imports",
        "/api/v1/imports/{id}",
        "/api/v1/imports/{id}/start",
        "/api/v1/imports/{id}/errors.csv",
        "/api/v1/objects/{object}/export",
    ):
        assert path in paths
