"""Reading batch files: encodings, formats, Buddhist-Era dates, and the limits on hostile files."""

from __future__ import annotations

import json
import zipfile

import openpyxl
import pytest

from edoc.batches.readers import BatchInputError, Limits, detect_encoding, read_records
from edoc.batches.results import csv_lines, neutralise
from edoc.batches.service import ResultRow
from edoc.batches.validate import RowConverter
from edoc.templates import TemplateLibrary

from .conftest import HEADER, cert_rows, write_csv

CERT = TemplateLibrary.builtin().get("certificate")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp874", "tis-620"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = write_csv(tmp_path / "c.csv", cert_rows(3), encoding=encoding)
    header, records = read_records(path)
    assert header == HEADER  # a BOM never sticks to the first column's name
    rows = list(records)
    assert [r for r, _ in rows] == [2, 3, 4]
    assert rows[0][1]["holder.name"] == "นางสาวสมชาย ทดสอบ0"


def test_detect_encoding():
    assert detect_encoding("ไทย".encode("cp874")) == "cp874"
    assert detect_encoding("ไทย".encode()) == "utf-8"
    assert detect_encoding("\ufeffไทย".encode()) == "utf-8-sig"


def test_wrong_explicit_encoding_is_a_clear_error(tmp_path):
    path = write_csv(tmp_path / "c.csv", cert_rows(2), encoding="cp874")
    with pytest.raises(BatchInputError, match="not valid utf-8-sig|encoding"):
        list(read_records(path, encoding="utf-8")[1])
    with pytest.raises(BatchInputError, match="unknown encoding"):
        read_records(path, encoding="klingon")


def test_rows_become_template_data_with_buddhist_era_dates(tmp_path):
    path = write_csv(tmp_path / "c.csv", cert_rows(1))
    header, records = read_records(path)
    conv = RowConverter(CERT, key_column="exam_id")
    assert conv.check_header(header) == []
    row, record = next(records)
    data, key, problems = conv.convert(row, record)
    assert problems == [] and key == "EX-000000"
    assert data["completed_on"] == "2026-11-01"  # 01/11/2569 BE
    assert data["holder"]["name"].startswith("นางสาว") and "exam_id" not in data


@pytest.mark.parametrize("cell, iso", [("25/11/2569", "2026-11-25"), ("๒๕/๑๑/๒๕๖๙", "2026-11-25"),
                                       ("2026-11-25", "2026-11-25"), ("5/1/2026", "2026-01-05")])
def test_date_forms(cell, iso):
    conv = RowConverter(CERT)
    record = dict(zip(HEADER[1:], cert_rows(1)[0][1:], strict=True)) | {"completed_on": cell}
    data, _key, problems = conv.convert(2, record)
    assert problems == [] and data["completed_on"] == iso


def test_problems_in_thai_and_english():
    conv = RowConverter(CERT, key_column="exam_id")
    record = dict(zip(HEADER, cert_rows(1)[0], strict=True))
    record |= {"holder.name": "", "holder.national_id": "1234567890123", "completed_on": "31/02/2569"}
    _data, _key, problems = conv.convert(7, record)
    by_col = {p.column: p for p in problems}
    assert set(by_col) == {"holder.name", "holder.national_id", "completed_on"}
    assert all(p.row == 7 for p in problems)
    assert by_col["holder.name"].th == "ต้องกรอก แต่ไม่มีข้อมูล" and "required" in by_col["holder.name"].en
    assert "เลขประจำตัวประชาชน" in by_col["holder.national_id"].th
    assert "Thai national ID" in by_col["holder.national_id"].en


def test_unknown_and_missing_columns_are_header_problems():
    conv = RowConverter(CERT, key_column="exam_id")
    problems = conv.check_header(["holder.nmae", "holder.name", "holder.name"])
    cols = [(p.row, p.column) for p in problems]
    assert (1, "holder.nmae") in cols and (1, "holder.name") in cols and (1, "exam_id") in cols
    assert any("ตรวจการสะกด" in p.th for p in problems)


def _xlsx(path, rows, *, sheets=1):
    wb = openpyxl.Workbook(write_only=True)
    for s in range(sheets):
        ws = wb.create_sheet(f"s{s}")
        if s == 0:
            ws.append(HEADER)
            for r in rows:
                ws.append(r)
    wb.save(path)
    return path


def test_xlsx_is_read_streaming(tmp_path):
    from datetime import date

    rows = cert_rows(3)
    rows[1][5] = date(2026, 11, 25)  # a real date cell, as Excel stores it
    rows[2][2] = int(rows[2][2])  # an id typed as a number
    header, records = read_records(_xlsx(tmp_path / "c.xlsx", rows))
    got = list(records)
    assert header == HEADER and [r for r, _ in got] == [2, 3, 4]
    conv = RowConverter(CERT, key_column="exam_id")
    for row, record in got:
        data, _key, problems = conv.convert(row, record)
        assert problems == [], problems
    assert conv.convert(*got[1])[0]["completed_on"] == "2026-11-25"


def test_xlsx_limits(tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", cert_rows(5), sheets=3)
    with pytest.raises(BatchInputError, match="3 sheets"):
        read_records(path, limits=Limits(max_sheets=2))
    with pytest.raises(BatchInputError, match="unpacks to"):
        read_records(path, limits=Limits(max_xlsx_bytes=1000))
    with pytest.raises(BatchInputError, match="more than 3 rows"):
        list(read_records(path, limits=Limits(max_rows=3))[1])


def test_xlsx_zip_bomb_is_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (50 * 1024 * 1024) + b">")
    assert bomb.stat().st_size < 200_000
    with pytest.raises(BatchInputError, match="unpacks to 52,428,802 bytes"):
        read_records(bomb, limits=Limits(max_xlsx_bytes=10 * 1024 * 1024))


def test_xlsx_million_empty_rows_is_refused(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.cell(row=1_000_000, column=1, value="x")  # the dimension says a million rows
    path = tmp_path / "empty.xlsx"
    wb.save(path)
    with pytest.raises(BatchInputError, match="more than 200,000 rows"):
        read_records(path)


def test_not_an_xlsx(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"not a zip")
    with pytest.raises(BatchInputError, match="not an XLSX"):
        read_records(tmp_path / "x.xlsx")


def test_jsonl(tmp_path):
    example = dict(CERT.examples["th"])
    lines = [json.dumps(example, ensure_ascii=False), "", "[1, 2]", "{broken"]
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    header, records = read_records(tmp_path / "b.jsonl")
    conv = RowConverter(CERT)
    out = [(row, conv.convert(row, rec)[2]) for row, rec in records]
    assert header is None and [r for r, _ in out] == [1, 3, 4]
    assert out[0][1] == [] and out[1][1] and out[2][1]
    with pytest.raises(BatchInputError, match="longer than"):
        list(read_records(tmp_path / "b.jsonl", limits=Limits(max_line_bytes=100))[1])


def test_csv_row_and_cell_limits(tmp_path):
    path = write_csv(tmp_path / "c.csv", cert_rows(5))
    with pytest.raises(BatchInputError, match="more than 4 rows"):
        list(read_records(path, limits=Limits(max_rows=4))[1])
    long = cert_rows(1)
    long[0][1] = "ก" * 500
    with pytest.raises(BatchInputError, match="not readable as CSV"):
        list(read_records(write_csv(tmp_path / "l.csv", long), limits=Limits(max_cell_chars=100))[1])


def test_results_csv_neutralises_formulas():
    assert neutralise("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    for bad in ("+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad).startswith("'")
    assert neutralise("ok") == "ok" and neutralise(None) == ""
    text = "".join(csv_lines([ResultRow(2, "=cmd|' /C calc'!A0", "invalid", None, None, None, None,
                                        "@evil")], bom=False))
    assert text.splitlines() == ["row,key,document_id,number,verify_url,sha256,error",
                                 "2,'=cmd|' /C calc'!A0,,,,,'@evil"]
