"""Exporting the list a user is looking at, from the list page's links."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape
from urllib.parse import quote

from openpyxl import load_workbook


def text(response) -> str:
    return response.get_data(as_text=True)


def export_link(page: str, file_format: str) -> str:
    found = re.search(rf'href="([^"]+)" data-testid="list-export-{file_format}"', page)
    return unescape(found.group(1))


def leads(crm):
    crm.lead("rep_east", company_name="=1+1", contact_name="张三", estimated_amount=500000)
    crm.lead("rep_east", company_name="东方精密机械", contact_name="李四", estimated_amount=800000)
    crm.lead("rep_east", company_name="小额客户", contact_name="王五", estimated_amount=1000)
    crm.lead("rep_north", company_name="北方重工集团", estimated_amount=900000)


FILTERED = "/o/lead?view=all_leads&f0=estimated_amount&op0=gt&v0=100000&sort=company_name"


def test_a_filtered_list_exports_exactly_its_records_as_csv(signed_in, crm):
    leads(crm)
    page = text(signed_in.get(FILTERED))
    link = export_link(page, "csv")
    assert link.startswith("/o/lead/export.csv?") and "v0=100000" in link
    response = signed_in.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [
        "线索编号",
        "公司名称",
        "联系人姓名",
        "手机",
        "线索来源",
        "线索状态",
        "负责人",
    ]
    # The rep's own leads above 100,000, sorted by company (the north rep's lead is out of
    # scope, the small one filtered out); the formula-looking name is neutralised.
    assert [r[1] for r in rows[1:]] == ["'=1+1", "东方精密机械"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="lead-')
    assert f"filename*=UTF-8''{quote('线索')}-" in disposition and ".csv" in disposition


def test_the_same_list_exports_as_an_excel_workbook(signed_in, crm, tmp_path):
    leads(crm)
    page = text(signed_in.get(FILTERED))
    response = signed_in.get(export_link(page, "xlsx"))
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert ".xlsx" in response.headers["Content-Disposition"]
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.get_data())
    sheet = load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][1] == "公司名称"
    assert [r[1] for r in rows[1:]] == ["'=1+1", "东方精密机械"]
    assert sheet.title == "线索"


def test_quick_search_and_an_expression_narrow_the_export(signed_in, crm):
    leads(crm)
    searched = signed_in.get("/o/lead/export.csv?view=&q=东方")
    rows = list(csv.reader(io.StringIO(searched.get_data().decode("utf-8-sig"))))
    assert [r for r in rows[1:] if "东方精密机械" in r] and len(rows) == 2
    expressed = signed_in.get("/o/lead/export.csv?view=&filter=estimated_amount+<+5000")
    rows = list(csv.reader(io.StringIO(expressed.get_data().decode("utf-8-sig"))))
    assert len(rows) == 2 and "小额客户" in rows[1]


def test_a_bad_filter_or_format_is_refused_with_its_message(signed_in, crm):
    broken = signed_in.get("/o/lead/export.csv?view=&filter=estimated_amount+<<+5")
    assert broken.status_code == 400 and broken.mimetype == "text/html"
    builder = signed_in.get("/o/lead/export.csv?view=&f0=estimated_amount&op0=gt&v0=many")
    assert builder.status_code == 400 and "is not a number" in unescape(text(builder))
    assert signed_in.get("/o/lead/export.pdf").status_code == 400
    assert signed_in.get("/o/no_such_object/export.csv").status_code == 404


def test_export_links_are_on_every_readable_list(signed_in):
    page = text(signed_in.get("/o/product"))
    assert 'data-testid="list-export-csv"' in page and 'data-testid="list-export-xlsx"' in page
    assert signed_in.get("/o/product/export.xlsx").status_code == 200


def test_a_list_views_filter_and_columns_apply_to_its_export(signed_in, crm):
    received = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    for name, hours in (("迟回复公司", 48), ("快回复公司", 1)):
        lead = crm.lead("rep_east", company_name=name, received_at=received.isoformat())
        answered = crm.ctx("rep_east", now=received + dt.timedelta(hours=hours))
        crm.records.update(answered, "lead", lead["id"], {"status": "working"})
    page = text(signed_in.get("/o/lead?view=slow_response"))
    response = signed_in.get(export_link(page, "csv"))
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:2] == ["公司名称", "线索来源"] and len(rows[0]) == 6
    assert [r[0] for r in rows[1:]] == ["迟回复公司"]
