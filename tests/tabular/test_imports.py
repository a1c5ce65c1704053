"""Importing CSV and .xlsx files into objects through the Python API (``ImportService``).

Each test runs on SQLite and on PostgreSQL, on the app's runtime with crm_standard and the
demo organisation; files are real bytes (GBK, UTF-8 with BOM, .xlsx written by openpyxl).
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from trellis.flows.worker import Worker
from trellis.runtime.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound

LEAD_HEADERS = ["公司名称", "联系人姓名", "手机", "邮箱", "线索来源"]


def lead_rows(count: int, bad: dict[int, list] | None = None) -> list[list]:
    """A header and ``count`` good lead rows; ``bad`` replaces rows by their file row number."""
    rows = [LEAD_HEADERS]
    for i in range(count):
        number = i + 2  # the header is row 1
        row = [f"华东化工{i}有限公司", f"张{i}", f"138{i:08d}", f"lead{i}@example.com", "网络广告"]
        rows.append((bad or {}).get(number, row))
    return rows


def upload(imports, ctx, path, object_name="lead", **kwargs):
    return imports.upload(ctx, object_name, path.read_bytes(), path.name, **kwargs)


def import_all(imports, ctx, path, object_name="lead", **kwargs):
    state = upload(imports, ctx, path, object_name, **kwargs)
    imports.start(ctx, state.id, background=False)
    return imports.run(ctx, state.id)


def test_a_gbk_csv_of_1000_leads_reports_exactly_its_three_bad_rows(imports, crm, files):
    bad = {
        # neither mobile nor email: the lead's validation rule
        17: ["无联系方式公司", "李四", "", "", "网络广告"],
        503: ["坏邮箱公司", "王五", "13900000000", "not-an-email", "网络广告"],
        # a source that is not a value of the picklist
        1001: ["电台公司", "赵六", "13700000000", "z@example.com", "电台"],
    }
    path = files.csv("线索.csv", lead_rows(1000, bad), encoding="gbk")
    ctx = crm.ctx("rep_east")
    started = time.perf_counter()
    state = import_all(imports, ctx, path)
    elapsed = time.perf_counter() - started

    assert state.status == "done"
    assert (state.total_rows, state.processed_rows, state.percent) == (1000, 1000, 100)
    assert (state.created, state.updated, state.skipped, state.failed) == (997, 0, 0, 3)
    assert crm.count("lead") == 997
    errors = imports.errors(ctx, state.id)
    assert [(e.row, e.header) for e in errors] == [(17, "手机"), (503, "邮箱"), (1001, "线索来源")]
    assert errors[0].reason == "手机和邮箱至少填写一项"  # the rule's message in the user's language
    assert errors[1].value == "not-an-email"
    assert "电台" in errors[2].reason and "online_ads" in errors[2].reason
    print(f"\n1,000-row GBK import: {elapsed:.2f} s")
    assert elapsed < 30  # a few seconds on an idle machine; generous for a shared CI box


def test_the_error_file_lists_row_column_value_and_reason(imports, crm, files):
    rows = lead_rows(3, {3: ['=HYPERLINK("x")', "李四", "", "", "网络广告"]})
    ctx = crm.ctx("rep_east")
    state = import_all(imports, ctx, files.csv("leads.csv", rows))
    data = imports.error_file(ctx, state.id)
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the Chinese right
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "行号,列,值,原因"
    assert lines[1] == "3,手机,,手机和邮箱至少填写一项"
    assert crm.count("lead") == 2


def test_utf8_with_bom_and_xlsx_files_import_alike(imports, crm, files):
    ctx = crm.ctx("rep_east")
    bom = import_all(imports, ctx, files.csv("bom.csv", lead_rows(3), encoding="bom"))
    assert (bom.created, bom.failed, bom.encoding) == (3, 0, "utf-8-sig")
    rows = [["公司名称", "手机", "线索评分", "获取时间"]]
    rows.append(["表格公司", 13812345678, None, None])  # a mobile typed into a number cell
    state = import_all(imports, ctx, files.xlsx("leads.xlsx", rows))
    assert (state.file_format, state.created, state.failed) == ("xlsx", 1, 0)
    with crm.rt.engine.connect() as conn:
        mobile = conn.execute(
            sa.text("SELECT mobile FROM rec_lead WHERE company_name = '表格公司'")
        ).scalar()
    assert mobile == "+8613812345678"


def test_chinese_headers_are_mapped_automatically_and_a_chosen_mapping_is_remembered(
    imports, crm, files
):
    ctx = crm.ctx("rep_east")
    rows = [
        ["公司 名称", "Contact Name", "mobile", "需求说明"],
        ["甲公司", "张三", "13812345678", "要报价"],
    ]
    first = upload(imports, ctx, files.csv("a.csv", rows))
    proposed = {c.header: (c.field, c.matched_by) for c in first.mapping}
    assert proposed == {
        "公司 名称": ("company_name", "label"),  # spaces and width do not matter
        "Contact Name": ("contact_name", "label"),
        "mobile": ("mobile", "api_name"),
        "需求说明": (None, None),  # the label is 需求描述
    }
    imports.start(ctx, first.id, mapping_choices={"需求说明": "requirement"}, background=False)
    imports.run(ctx, first.id)
    assert crm.raw("lead", 1)["requirement"] == "要报价"

    second = upload(
        imports, ctx, files.csv("b.csv", [["需求说明", "公司名称", "手机"], ["x", "乙", ""]])
    )
    assert [(c.field, c.matched_by) for c in second.mapping] == [
        ("requirement", "remembered"),
        ("company_name", "remembered"),  # 公司名称 is 公司 名称 normalised
        ("mobile", "label"),
    ]
    # Remembered per user: another rep gets the automatic proposal.
    other = upload(imports, crm.ctx("rep_north"), files.csv("c.csv", [["需求说明"], ["x"]]))
    assert other.mapping[0].field is None


def test_a_bad_mapping_is_refused_with_every_problem(imports, crm, files):
    ctx = crm.ctx("rep_east")
    state = upload(imports, ctx, files.csv("a.csv", lead_rows(1)))
    with pytest.raises(Invalid) as caught:
        imports.configure(
            ctx,
            state.id,
            mapping_choices={"无此列": "company_name", "手机": "score", "邮箱": "mobile"},
        )
    messages = [d["message"] for d in caught.value.details]
    assert messages[0] == "the file has no such column"
    assert "'score' is not a field you may import into" in messages[1]  # read-only for reps
    assert "already filled from column" in messages[2]
    assert imports.get(ctx, state.id).mapping == state.mapping  # nothing changed


def test_preview_writes_nothing_and_reports_the_errors_the_import_reports(imports, crm, files):
    ctx = crm.ctx("rep_east")
    rows = lead_rows(5, {4: ["无联系方式公司", "李四", "", "", "网络广告"]})
    state = upload(imports, ctx, files.csv("a.csv", rows))
    preview = imports.preview(ctx, state.id)
    assert [r.action for r in preview] == ["created", "created", "failed", "created", "created"]
    assert crm.count("lead") == 0
    imports.start(ctx, state.id, background=False)
    done = imports.run(ctx, state.id)
    assert [e.as_json() for e in preview[2].errors] == [
        e.as_json() for e in imports.errors(ctx, done.id)
    ]


@pytest.mark.parametrize(
    ("mode", "created", "updated", "skipped"),
    [("create", 3, 0, 0), ("skip", 1, 0, 2), ("update", 1, 2, 0)],
)
def test_duplicate_modes_by_the_objects_duplicate_rule(
    imports, crm, files, mode, created, updated, skipped
):
    ctx = crm.ctx("rep_east")
    crm.lead(ctx, company_name="甲公司", contact_name="张三", title="经理")
    crm.lead(ctx, company_name="乙公司", contact_name="李四", title="经理")
    rows = [
        ["公司名称", "联系人姓名", "手机", "职务"],
        ["甲公司", "张三", "13812345678", "总经理"],  # matches lead 1
        ["乙 公司", "李四", "13812345678", ""],  # matches lead 2 once normalised; title left
        ["丙公司", "王五", "13812345678", "总监"],  # new
    ]
    state = import_all(imports, ctx, files.csv("a.csv", rows), options={"duplicates": mode})
    assert state.options.match_by == "rule:same_company_contact"  # the object's rule
    assert (state.created, state.updated, state.skipped, state.failed) == (
        created,
        updated,
        skipped,
        0,
    )
    assert crm.count("lead") == 2 + created
    titles = [crm.raw("lead", 1)["title"], crm.raw("lead", 2)["title"]]
    assert titles == (["总经理", "经理"] if mode == "update" else ["经理", "经理"])


def test_skip_by_a_key_field_also_skips_rows_repeated_in_the_file(imports, crm, files):
    ctx = crm.ctx("rep_east")
    crm.lead(ctx, company_name="甲公司", email="a@example.com")
    rows = [
        ["公司名称", "邮箱"],
        ["甲公司（新）", "a@example.com"],
        ["乙公司", "b@example.com"],
        ["乙公司", "b@example.com"],
    ]
    state = import_all(
        imports, ctx, files.csv("a.csv", rows), options={"duplicates": "skip", "match_by": "email"}
    )
    assert (state.created, state.skipped) == (1, 2)
    assert crm.count("lead") == 2


def test_update_needs_exactly_one_match(imports, crm, files):
    ctx = crm.ctx("rep_east")
    crm.lead(ctx, company_name="甲公司", email="same@example.com")
    crm.lead(ctx, company_name="乙公司", email="same@example.com")
    rows = [["邮箱", "职务"], ["same@example.com", "经理"]]
    options = {"duplicates": "update", "match_by": "email"}
    state = import_all(imports, ctx, files.csv("a.csv", rows), options=options)
    assert state.failed == 1
    [error] = imports.errors(ctx, state.id)
    assert error.reason.startswith("matches 2 existing records (ids 1, 2)")


def test_skip_and_update_without_a_rule_or_key_are_refused(imports, crm, files):
    ctx = crm.ctx("rep_east")
    path = files.csv("a.csv", [["产品名称"], ["x"]])
    with pytest.raises(Invalid) as caught:
        upload(imports, ctx, path, "follow_up", options={"duplicates": "skip"})
    assert "has no duplicate rule" in caught.value.message
    with pytest.raises(Invalid):
        upload(imports, ctx, path, "lead", options={"duplicates": "merge"})


def test_lookup_columns_are_matched_by_name(imports, crm, files):
    ctx = crm.ctx("rep_east")
    east = crm.account(ctx, account_name="华东化工有限公司")
    crm.account("rep_north", account_name="华北重工有限公司")  # another rep's: not visible
    rows = [
        ["姓名", "所属客户", "邮箱"],
        ["张三", "华东化工有限公司", "a@example.com"],
        ["李四", "华北重工有限公司", "b@example.com"],
        ["王五", "不存在公司", "c@example.com"],
    ]
    state = import_all(imports, ctx, files.csv("contacts.csv", rows), "contact")
    assert (state.created, state.failed) == (1, 2)
    assert crm.raw("contact", 1)["account"] == east["id"]
    errors = imports.errors(ctx, state.id)
    assert [(e.row, e.header, e.value) for e in errors] == [
        (3, "所属客户", "华北重工有限公司"),
        (4, "所属客户", "不存在公司"),
    ]
    assert errors[0].reason == "no account named '华北重工有限公司' that you can see"


def test_an_ambiguous_lookup_name_is_a_row_error(imports, crm, files):
    admin = crm.ctx("admin")
    for name in ("春季展会", "春季展会", "秋季展会"):
        crm.records.create(admin, "campaign", {"campaign_name": name})
    ctx = crm.ctx("rep_east")
    rows = [
        ["公司名称", "手机", "市场活动"],
        ["甲", "13812345678", "春季展会"],
        ["乙", "13812345678", "秋季展会"],
    ]
    state = import_all(imports, ctx, files.csv("a.csv", rows))
    assert (state.created, state.failed) == (1, 1)
    [error] = imports.errors(ctx, state.id)
    assert error.reason.startswith("2 campaign records are named '春季展会' (ids 1, 2)")


def test_an_interrupted_import_resumes_after_its_last_chunk_without_duplicates(imports, crm, files):
    ctx = crm.ctx("rep_east")
    state = upload(imports, ctx, files.csv("a.csv", lead_rows(1000, {700: ["", "x", "", "", ""]})))
    imports.start(ctx, state.id, background=False)
    stopped = imports.run(ctx, state.id, max_chunks=2)  # the process dies after two chunks
    assert (stopped.status, stopped.processed_rows, stopped.percent) == ("running", 400, 40)
    assert crm.count("lead") == 400
    done = imports.run(ctx, state.id)  # a restart carries on from the checkpoint
    assert (done.status, done.created, done.failed) == ("done", 999, 1)
    with crm.rt.engine.connect() as conn:
        distinct = conn.execute(sa.text("SELECT COUNT(DISTINCT company_name) FROM rec_lead"))
        assert distinct.scalar() == crm.count("lead") == 999


def test_the_worker_runs_a_started_import_chunk_by_chunk(imports, crm, files):
    ctx = crm.ctx("rep_east")
    state = upload(imports, ctx, files.csv("a.csv", lead_rows(450)))
    queued = imports.start(ctx, state.id)
    assert queued.status == "queued"
    Worker(crm.rt, name="test-worker").run_once()
    done = imports.get(ctx, state.id)
    assert (done.status, done.created, done.processed_rows) == ("done", 450, 450)
    assert crm.count("lead") == 450


def test_users_reach_only_their_own_imports(imports, crm, files):
    state = upload(imports, crm.ctx("rep_east"), files.csv("a.csv", lead_rows(1)))
    other = crm.ctx("rep_north")
    for call in (imports.get, imports.preview, imports.error_file, imports.start, imports.cancel):
        with pytest.raises(NotFound):
            call(other, state.id)
    assert imports.list(other) == []


def test_an_object_the_user_may_not_create_is_refused(imports, crm, files):
    path = files.csv("products.csv", [["产品名称"], ["胶水"]])
    with pytest.raises(Forbidden) as caught:
        upload(imports, crm.ctx("rep_east"), path, "product")
    assert caught.value.message.startswith("you may not create products")


def test_unreadable_files_are_refused_with_what_to_do(imports, crm, files):
    ctx = crm.ctx("rep_east")
    cases = [
        ("report.pdf", b"%PDF-1.4", "neither a .csv nor an .xlsx file"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel files (.xls)"),
        ("fake.xlsx", b"name,phone\n", "not an Excel workbook"),
        ("zip.csv", b"PK\x03\x04rest", "is an Excel workbook, not CSV text"),
        ("bytes.csv", bytes(range(256)) * 10, "neither UTF-8 nor GBK/GB18030"),
        ("empty.csv", b"\n\n", "the file is empty"),
        ("header.csv", "公司名称\n".encode(), "a header row but no rows"),
        ("huge.csv", ("公司名称\n" + "x" * 40_000 + "\n").encode(), "holds at most 32,767"),
        ("twice.csv", "邮箱,邮箱\na,b\n".encode(), "are both named '邮箱'"),
    ]
    for name, data, expected in cases:
        with pytest.raises(BadRequest) as caught:
            imports.upload(ctx, "lead", data, name)
        assert expected in caught.value.message, (name, caught.value.message)
    assert imports.list(ctx) == []  # nothing half-written


def test_formula_cells_of_a_workbook_are_never_imported_as_formulas(imports, crm, files):
    ctx = crm.ctx("rep_east")
    rows = [["公司名称", "手机", "职务"], ["公式公司", "13812345678", "=1+1"]]
    state = import_all(imports, ctx, files.xlsx("formulas.xlsx", rows))
    assert state.created == 1
    title = crm.raw("lead", 1)["title"]
    assert title is None or not title.startswith("=")  # openpyxl saves no cached value


def test_a_draft_must_be_started_and_a_started_import_no_longer_changes(imports, crm, files):
    ctx = crm.ctx("rep_east")
    state = upload(imports, ctx, files.csv("a.csv", lead_rows(3)))
    with pytest.raises(Conflict, match="is a draft; start it first"):
        imports.run(ctx, state.id)
    imports.start(ctx, state.id, background=False)
    with pytest.raises(Conflict, match="only a draft can be changed"):
        imports.configure(ctx, state.id, options={"duplicates": "skip"})


def test_a_cancelled_import_keeps_what_it_saved_and_writes_no_more(imports, crm, files):
    ctx = crm.ctx("rep_east")
    state = upload(imports, ctx, files.csv("a.csv", lead_rows(500)))
    imports.start(ctx, state.id)  # queued for the worker too
    imports.run(ctx, state.id, until_done=False)  # one chunk written in this thread
    cancelled = imports.cancel(ctx, state.id)
    assert (cancelled.status, cancelled.created) == ("cancelled", 200)
    Worker(crm.rt, name="test-worker").run_once()  # the queued job finds nothing to do
    assert imports.get(ctx, state.id).status == "cancelled"
    assert crm.count("lead") == 200
    with pytest.raises(Conflict):
        imports.cancel(ctx, state.id)
