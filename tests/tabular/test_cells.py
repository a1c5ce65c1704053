"""Cell text rules that need no database: formula neutralising, encodings, typed cells."""

from __future__ import annotations

import codecs
import datetime as dt

import pytest

from trellis.runtime.errors import BadRequest
from trellis.tabular.cells import cell_text, is_dangerous, neutralise, unneutralise
from trellis.tabular.export_values import Cell
from trellis.tabular.reading import decode, read_file
from trellis.tabular.writers import csv_text


@pytest.mark.parametrize(
    "text",
    ["=cmd|' /C calc'!A0", " +1", "\t@SUM(1)", "-2+3", "\r\n=1", "\x00\x1f@x", "  \t -"],
)
def test_text_a_spreadsheet_would_run_is_neutralised_and_restored_on_import(text):
    assert is_dangerous(text)
    assert neutralise(text) == "'" + text
    assert unneutralise(neutralise(text)) == text


@pytest.mark.parametrize("text", ["华东化工", "a=b", "1+1", "", "   ", "'quoted", "＝全角"])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text
    assert unneutralise(text) == text


def test_numbers_stay_numerals_in_csv_and_text_that_looks_numeric_does_not():
    from decimal import Decimal

    assert csv_text(Cell("number", Decimal("-1200.50"))) == "-1200.50"
    assert csv_text(Cell("number", -3)) == "-3"
    assert csv_text(Cell("text", "-3")) == "'-3"  # text is never trusted to be a number


def test_csv_encodings_are_detected():
    text = "公司名称,手机\n华东化工,138\n"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(codecs.BOM_UTF8 + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("gbk")) == (text, "gb18030")
    assert decode("𠀀公司".encode("gb18030"))[1] == "gb18030"  # beyond GBK
    with pytest.raises(BadRequest, match="UTF-16"):
        decode(text.encode("utf-16"))


def test_typed_cells_of_a_workbook_read_as_text_the_fields_accept():
    assert cell_text(13812345678.0) == "13812345678"
    assert cell_text(0.5) == "0.5"
    assert cell_text(True) == "true"
    assert cell_text(dt.datetime(2026, 3, 10)) == "2026-03-10"
    assert cell_text(dt.datetime(2026, 3, 10, 9, 30, 15, 500)) == "2026-03-10 09:30:15"
    assert cell_text(None) == ""


def test_semicolon_and_tab_separated_files_are_read():
    for separator in (";", "\t"):
        source = read_file(f"公司名称{separator}手机\n甲{separator}138\n".encode(), "x.csv")
        assert source.headers == ["公司名称", "手机"]
        assert list(source.rows) == [(2, ["甲", "138"])]


def test_blank_lines_are_skipped_and_row_numbers_stay_the_files():
    source = read_file("公司名称\n甲\n\n,\n乙\n".encode(), "x.csv")
    assert list(source.rows) == [(2, ["甲"]), (5, ["乙"])]


def test_a_zip_bomb_workbook_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    import zipfile

    from trellis.tabular import limits

    monkeypatch.setattr(limits, "MAX_UNZIPPED_BYTES", 1_000_000)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    assert path.stat().st_size < 100_000
    with pytest.raises(BadRequest, match="unpacks to 4 MB"):
        read_file(path.read_bytes(), "bomb.xlsx")
