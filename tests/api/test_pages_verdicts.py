"""Each verdict its own plain headline, every sentence in Thai (issue 18)."""

from __future__ import annotations

import re

import pytest

from tests.signing.conftest import plain_pdf
from tests.verifier import corpus as c

from .test_pages import issue_certificate, upload


@pytest.fixture
def web(client):
    return client


def _result(html: str) -> str:
    section = re.search(r'<section id="result".*?</section>', html, re.S)
    assert section, "no result section"
    return re.sub(r"<[^>]+>", " ", section.group())


def test_unsigned_pdf_is_headlined_as_having_no_seal(web):
    r = upload(web, "/verify", plain_pdf())
    assert "ไฟล์นี้ไม่มีตราประทับอิเล็กทรอนิกส์" in r.text


def test_damaged_pdf_has_its_own_headline(web):
    r = upload(web, "/verify?lang=en", b"%PDF-1.7\n1 0 obj <<\n")
    assert "This file is damaged and cannot be read" in r.text


def test_encrypted_pdf_asks_for_its_password_then_opens(web, api_home):
    locked = c.sign(c.encrypted(plain_pdf(), "pw"), api_home, "Sig1", password="pw")
    r = upload(web, "/verify", locked)
    assert "ไฟล์นี้มีรหัสผ่าน" in r.text and 'name="password"' in r.text
    r = web.post("/verify", files={"file": ("l.pdf", locked, "application/pdf")},
                 data={"password": "pw"})
    assert "ไฟล์นี้มีรหัสผ่าน" not in _result(r.text)
    assert "ตราประทับอิเล็กทรอนิกส์ของหน่วยงานทดสอบ" in r.text


def test_thai_result_shows_no_english_sentence(web, api_home):
    record, pdf = issue_certificate(api_home)
    r = upload(web, "/verify", c.annotate(pdf))
    text = _result(r.text)
    english = re.findall(r"\b[A-Za-z]{4,}\b", text.replace("document.pdf", ""))
    assert not english, english


def test_file_changed_after_its_seal_is_explained_in_thai(web, api_home):
    record, pdf = issue_certificate(api_home)
    # changed and sealed again: the first seal's signed bytes still name the registered document
    copy = c.sign(c.change_content(pdf), api_home, "Other")
    r = upload(web, "/verify", copy)
    assert "is not the exact file on record" not in r.text
    assert f"ไฟล์นี้ไม่ใช่ไฟล์ที่บันทึกไว้ในทะเบียนของเอกสารเลขที่ {record.id}" in r.text


def test_revoked_word_does_not_break_inside_on_a_phone_css():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "api/pages/static/verify.css").read_text()
    assert "overflow-wrap:anywhere}" not in css.split(".fname")[0]
    assert "line-break:strict" in css


def test_qr_page_shows_what_the_document_prints(web, api_home):
    record, _ = issue_certificate(api_home)
    example = api_home.templates().get("certificate").examples["th"]
    r = web.get(f"/verify/{record.id}")
    text = re.sub(r"<[^>]+>", " ", r.text)
    assert example["title"] in text  # the printed title, not the generic "ใบรับรอง"
    assert example["course"]["title"] in text  # "compare the details below" has them
    assert record.holder_masked in text and example["holder"]["name"] not in text
    assert "ให้ไว้ ณ วันที่" in text  # the date as printed (Buddhist Era)
    assert example.get("holder", {}).get("national_id", "@@") not in text
