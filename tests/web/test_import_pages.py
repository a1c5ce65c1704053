"""Importing CSV and Excel files through the pages, as a sales rep does it."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from pathlib import Path

from trellis.flows.worker import Worker
from trellis.tabular import imports_for

HEADERS = ["公司名称", "联系人姓名", "手机", "邮箱"]
REASON = "手机和邮箱至少填写一项"


def text(response) -> str:
    return response.get_data(as_text=True)


def write_csv(path: Path, rows: list[list], encoding: str = "gbk") -> Path:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def upload(pages, path: Path, object_name: str = "lead", **form):
    """Send the upload form with the file, as the browser does."""
    pages.get(f"/o/{object_name}/import")
    with path.open("rb") as f:
        return pages.post(
            f"/o/{object_name}/import",
            {"file": (f, path.name), **form},
            content_type="multipart/form-data",
        )


def import_id_of(response) -> int:
    assert response.status_code == 302, text(response)[:800]
    return int(re.fullmatch(r"/imports/(\d+)", response.headers["Location"]).group(1))


def selected(page: str, column: int) -> str:
    select = re.search(rf'<select name="column-{column}".*?</select>', page, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected', select)
    return found.group(1) if found else ""


def mapping_form(page: str) -> dict:
    """The mapping page's form as the browser would send it unchanged."""
    form = {f"column-{n}": selected(page, int(n)) for n in re.findall(r'name="column-(\d+)"', page)}
    form["duplicates"] = re.search(r'name="duplicates" value="(\w+)" checked', page).group(1)
    return form


def leads_with_one_bad_row(folder: Path) -> Path:
    rows = [
        HEADERS,
        ["华东精密机械", "张伟", "13812345678", ""],
        ["上海联合化工", "李娜", "", "lina@example.cn"],
        ["坏行公司", "王强", "", ""],  # neither mobile nor email: the rule refuses it
        ["杭州数控设备", "赵敏", "13900001111", ""],
    ]
    return write_csv(folder / "线索.csv", rows, "gbk")


def test_a_gbk_csv_maps_previews_and_imports_through_the_worker(signed_in, crm, tmp_path):
    list_page = text(signed_in.get("/o/lead"))
    assert 'href="/o/lead/import"' in list_page
    form = text(signed_in.get("/o/lead/import"))
    assert 'data-testid="import-form"' in form and 'enctype="multipart/form-data"' in form

    import_id = import_id_of(upload(signed_in, leads_with_one_bad_row(tmp_path)))
    page = text(signed_in.get(f"/imports/{import_id}"))
    # Chinese headers found their fields by label, in a GBK file.
    assert [selected(page, n) for n in (1, 2, 3, 4)] == [
        "company_name",
        "contact_name",
        "mobile",
        "email",
    ]
    assert "GBK/GB18030" in page
    preview = re.search(r'data-testid="import-preview".*?</table>', page, re.S).group(0)
    bad = re.search(r'<tr class="row-failed" data-row="4">.*?</tr>', preview, re.S).group(0)
    assert "坏行公司" in bad and REASON in bad
    assert preview.count('class="row-failed"') == 1
    assert crm.count("lead") == 0  # the preview saved nothing

    started = signed_in.post(f"/imports/{import_id}", {**mapping_form(page), "action": "start"})
    assert started.headers["Location"] == f"/imports/{import_id}"
    queued = text(signed_in.get(f"/imports/{import_id}"))
    assert 'data-testid="import-progress"' in queued and 'hx-trigger="every 1s"' in queued
    assert 'data-testid="import-cancel"' in queued

    Worker(signed_in.runtime, name="pages-test").run_once()

    done = text(signed_in.get(f"/imports/{import_id}/progress", headers={"HX-Request": "true"}))
    assert "hx-trigger" not in done  # finished: polling stops
    assert re.search(r'data-testid="import-created">3<', done)
    assert re.search(r'data-testid="import-failed">1<', done)
    assert 'value="4"' in done  # the progress bar is full: 4 of 4 rows
    assert 'data-testid="import-cancel"' not in done
    link = re.search(r'data-testid="import-errors" href="([^"]+)"', done).group(1)
    errors = signed_in.get(unescape(link))
    assert errors.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(errors.get_data().decode("utf-8-sig"))))
    assert lines == [["行号", "列", "值", "原因"], ["4", "手机", "", REASON]]
    assert crm.count("lead") == 3


def test_an_xlsx_file_with_english_headers_imports(signed_in, crm, tmp_path):
    path = write_xlsx(
        tmp_path / "leads.xlsx", [["Company", "Mobile"], ["Acme 机械", "13700000000"]]
    )
    import_id = import_id_of(upload(signed_in, path))
    page = text(signed_in.get(f"/imports/{import_id}"))
    assert [selected(page, 1), selected(page, 2)] == ["company_name", "mobile"]
    assert signed_in.post(f"/imports/{import_id}", {**mapping_form(page), "action": "start"})
    ctx = crm.ctx("rep_east")
    state = imports_for(signed_in.runtime).run(ctx, import_id, until_done=True)
    assert (state.status, state.created, state.failed) == ("done", 1, 0)
    status = text(signed_in.get(f"/imports/{import_id}"))
    assert re.search(r'data-testid="import-created">1<', status)
    assert 'data-testid="import-errors"' not in status
    assert crm.count("lead") == 1 and "Acme 机械" in text(signed_in.get("/o/lead"))


def test_changing_the_mapping_updates_the_preview_and_a_field_twice_is_refused(
    signed_in, crm, tmp_path
):
    import_id = import_id_of(upload(signed_in, leads_with_one_bad_row(tmp_path)))
    page = text(signed_in.get(f"/imports/{import_id}"))
    form = mapping_form(page)
    # Ignore the email column: row 3 (email only) now breaks the rule as well.
    changed = signed_in.post(f"/imports/{import_id}", {**form, "column-4": "", "action": "preview"})
    assert changed.status_code == 302
    page = text(signed_in.get(f"/imports/{import_id}"))
    assert selected(page, 4) == ""
    assert page.count('class="row-failed"') == 2

    twice = signed_in.post(f"/imports/{import_id}", {**form, "column-2": "company_name"})
    assert twice.status_code == 422
    assert "company_name" in unescape(text(twice)) and 'data-testid="import-error"' in text(twice)
    assert crm.count("lead") == 0


def test_files_that_cannot_be_imported_are_refused_plainly(signed_in, app, crm, tmp_path):
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4)
    refused = upload(signed_in, exe)
    assert refused.status_code == 400
    page = unescape(text(refused))
    assert "文件未导入" in page and "neither a .csv nor an .xlsx file" in page
    assert 'data-testid="import-form"' in page  # the form is there to try again

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\xff\xfe\x00binary")
    assert upload(signed_in, garbage).status_code == 400

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "the file is empty" in unescape(text(upload(signed_in, empty)))

    header_only = write_csv(tmp_path / "header.csv", [HEADERS])
    assert "no rows to import" in unescape(text(upload(signed_in, header_only)))

    no_file = signed_in.post("/o/lead/import", {"duplicates": "create"})
    assert no_file.status_code == 400 and "选择要导入的" in text(no_file)

    app.config["MAX_CONTENT_LENGTH"] = 2000
    big = write_csv(tmp_path / "big.csv", [HEADERS] + [["公司", "人", "13800000000", ""]] * 200)
    too_big = upload(signed_in, big)
    assert too_big.status_code == 413
    assert "文件超过 10 MB" in text(too_big) and 'href="/o/lead/import"' in text(too_big)

    assert imports_for(signed_in.runtime).list(crm.ctx("rep_east")) == []  # nothing kept


def test_duplicate_handling_is_kept_and_a_bad_match_key_is_explained(signed_in, tmp_path):
    path = write_csv(tmp_path / "leads.csv", [["公司名称", "手机"], ["甲公司", "13800000000"]])
    import_id = import_id_of(upload(signed_in, path, duplicates="skip", match_by="mobile"))
    page = text(signed_in.get(f"/imports/{import_id}"))
    assert re.search(r'name="duplicates" value="skip" checked', page)
    assert re.search(r'<option value="mobile" selected', page)
    bad = signed_in.post(
        f"/imports/{import_id}",
        {**mapping_form(page), "match_by": "no_such_field", "action": "preview"},
    )
    assert bad.status_code == 422 and "no_such_field" in unescape(text(bad))


def test_another_reps_import_is_not_found(signed_in, pages, app, crm, tmp_path):
    import_id = import_id_of(upload(signed_in, leads_with_one_bad_row(tmp_path)))
    other = type(pages)(app)
    other.sign_in("rep_north")
    for url in ("", "/progress", "/errors.csv"):
        response = other.get(f"/imports/{import_id}{url}")
        assert response.status_code == 404, url
        assert "线索.csv" not in text(response)
    assert other.post(f"/imports/{import_id}", {"action": "start"}).status_code == 404
    assert other.post(f"/imports/{import_id}/cancel").status_code == 404
    assert other.get("/imports/not-a-number").status_code == 404
    assert "线索.csv" not in text(other.get("/imports"))
    assert "线索.csv" in text(signed_in.get("/imports"))
    mine = imports_for(signed_in.runtime).get(crm.ctx("rep_east"), import_id)
    assert mine.status == "draft"  # untouched by the other rep


def test_a_queued_import_can_be_cancelled_and_writes_nothing(signed_in, crm, tmp_path):
    import_id = import_id_of(upload(signed_in, leads_with_one_bad_row(tmp_path)))
    page = text(signed_in.get(f"/imports/{import_id}"))
    signed_in.post(f"/imports/{import_id}", {**mapping_form(page), "action": "start"})
    signed_in.get(f"/imports/{import_id}")
    cancelled = signed_in.post(f"/imports/{import_id}/cancel")
    assert cancelled.status_code == 302
    Worker(signed_in.runtime, name="pages-test").run_once()
    status = text(signed_in.get(f"/imports/{import_id}"))
    assert "已取消" in status and "hx-trigger" not in status
    assert crm.count("lead") == 0


def test_users_who_may_not_create_get_no_import(pages):
    pages.sign_in("rep_east")
    assert 'href="/o/product/import"' not in text(pages.get("/o/product"))
    assert pages.get("/o/product/import").status_code == 403
