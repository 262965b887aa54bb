"""The public verification pages, through HTTP: what a citizen sees and what the server sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from api.pages._text import reason
from storage.registry import DocumentRecord
from tests.signing.conftest import plain_pdf

from .conftest import example_data

UPLOAD_LIMIT = 256 * 1024

VALID_TH = "เอกสารนี้ถูกต้อง"
REVOKED_TH = "เอกสารนี้ถูกเพิกถอนแล้ว"
UNKNOWN_TH = "ไม่พบเอกสารนี้ในทะเบียน"
FILE_VALID_TH = "ไฟล์นี้ถูกต้อง"
FILE_INVALID_TH = "ไฟล์นี้ไม่ใช่ฉบับจริงหรือถูกแก้ไข"
FILE_MISMATCH_TH = "ไฟล์นี้ไม่ใช่เอกสารฉบับนี้"
PRIVACY_TH = "ระบบไม่เก็บไฟล์ไว้"


def issue_certificate(home, lang: str = "th") -> tuple[DocumentRecord, bytes]:
    """Issue the built-in certificate with its example data; its record and sealed PDF."""
    issuer = home.issuer()
    record = issuer.issue("certificate", example_data(home, "certificate", lang), lang=lang).record
    return record, issuer.pdf(record)


def unwrapped(html: str) -> str:
    """The page without the no-wrap spans that keep "เพิกถอน" whole on a line (issue 18)."""
    return re.sub(r'<span class="kw">(.*?)</span>', r"\1", html)


def tamper(pdf: bytes) -> bytes:
    """The same file with one signed byte changed (its creation date), as an edit would."""
    m = re.search(rb"/CreationDate\s*\(D:(\d)", pdf)
    assert m, "no creation date to alter"
    i = m.start(1)
    return pdf[:i] + (b"1" if pdf[i:i + 1] != b"1" else b"2") + pdf[i + 1:]


@pytest.fixture
def api_settings():
    """A small upload limit, so that the oversized upload stays small."""
    return {"max_upload_bytes": UPLOAD_LIMIT}


@pytest.fixture
def web(client):
    """The app's TestClient (named apart from the JSON API tests' fixtures)."""
    return client


@pytest.fixture
def home(api_home):
    return api_home


@pytest.fixture
def certificate(api_home) -> tuple[DocumentRecord, bytes]:
    """An issued certificate: its registry record and its sealed PDF."""
    return issue_certificate(api_home)


def upload(web, path: str, data: bytes, name: str = "document.pdf", **kw):
    return web.post(path, files={"file": (name, data, "application/pdf")}, **kw)


# --- the status page a QR code opens ---------------------------------------------------


def test_issued_document_is_valid_in_thai_by_default(web, certificate):
    record, _ = certificate
    r = web.get(f"/verify/{record.id}")
    assert r.status_code == 200
    assert '<html lang="th">' in r.text
    assert VALID_TH in r.text
    assert "หน่วยงานทดสอบ" in r.text
    # issue 18: the title and the date as the document prints them, not a generic
    # type and the registry's issue date
    assert "ใบรับรองการสำเร็จการศึกษา" in r.text
    assert "ให้ไว้ ณ วันที่" in r.text
    assert "นางสาวปิยะนุช ศ***" in r.text
    assert "ศรีสุข" not in r.text  # the holder's name only masked
    assert PRIVACY_TH in r.text


def test_issued_document_in_english(web, certificate):
    record, _ = certificate
    r = web.get(f"/verify/{record.id}?lang=en")
    assert r.status_code == 200
    assert '<html lang="en">' in r.text
    assert "This document is valid" in r.text
    assert "Test Agency" in r.text
    assert "Document title" in r.text and 'lang="th">ใบรับรองการสำเร็จการศึกษา' in r.text
    assert "never stored" in r.text
    assert f'href="/verify/{record.id}?lang=th" lang="th"' in r.text  # back to Thai


def test_unknown_language_falls_back_to_thai(web, certificate):
    record, _ = certificate
    assert VALID_TH in web.get(f"/verify/{record.id}?lang=fr").text


def test_revoked_document_says_revoked_with_reason(web, home, certificate):
    record, _ = certificate
    home.registry().revoke(record.id, reason="ออกผิดพลาด ชื่อผู้ถือสะกดผิด", category="issued-in-error",
                           at=datetime(2026, 12, 1, tzinfo=UTC))
    th = unwrapped(web.get(f"/verify/{record.id}").text)
    assert REVOKED_TH in th and VALID_TH not in th
    # the category's label, never the officer's own words
    assert "ออกเอกสารโดยผิดพลาด" in th and "1 ธันวาคม พ.ศ. 2569" in th
    assert "สะกดผิด" not in th
    en = web.get(f"/verify/{record.id}?lang=en").text
    assert "This document has been revoked" in en and "is valid" not in en
    assert "issued in error" in en


def test_unknown_id_is_not_in_the_register(web):
    r = web.get("/verify/nosuchdocument")
    assert r.status_code == 404
    assert UNKNOWN_TH in r.text and VALID_TH not in r.text
    assert "nosuchdocument" in r.text
    # Nothing to compare a file with here: the form checks any file instead.
    assert 'action="/verify?lang=th"' in r.text
    en = web.get("/verify/nosuchdocument?lang=en")
    assert en.status_code == 404 and "not in the register" in en.text


def test_general_check_page(web):
    r = web.get("/verify")
    assert r.status_code == 200
    assert "ตรวจสอบเอกสาร" in r.text
    assert 'enctype="multipart/form-data"' in r.text and PRIVACY_TH in r.text


# --- uploads ------------------------------------------------------------------------------


def test_genuine_file_is_valid(web, certificate):
    record, pdf = certificate
    r = upload(web, f"/verify/{record.id}", pdf)
    assert r.status_code == 200, r.text
    assert FILE_VALID_TH in r.text
    # reasons in Thai, not the verifier's English; the seal named in Thai too (issue 18)
    assert "ประทับตราโดย ตราประทับอิเล็กทรอนิกส์ของหน่วยงานทดสอบ" in r.text


def test_genuine_file_in_english(web, certificate):
    record, pdf = certificate
    r = upload(web, f"/verify/{record.id}?lang=en", pdf)
    assert '<html lang="en">' in r.text
    assert "This file is valid" in r.text
    assert "Sealed by Test Agency" in r.text


def test_tampered_copy_is_not_valid(web, certificate):
    record, pdf = certificate
    r = upload(web, f"/verify/{record.id}", tamper(pdf))
    assert r.status_code == 200
    assert FILE_INVALID_TH in r.text and FILE_VALID_TH not in r.text
    assert "เอกสารถูกแก้ไขหลังประทับตรา" in r.text


def test_genuine_file_of_another_document_is_not_this_document(web, home, certificate):
    record, _ = certificate
    _, other_pdf = issue_certificate(home, lang="en")
    r = upload(web, f"/verify/{record.id}", other_pdf)
    assert FILE_MISMATCH_TH in r.text and FILE_VALID_TH not in r.text
    assert record.id in r.text


def test_genuine_file_on_the_general_page_links_its_document(web, certificate):
    record, pdf = certificate
    r = upload(web, "/verify", pdf)
    assert FILE_VALID_TH in r.text
    assert f'href="/verify/{record.id}?lang=th"' in r.text
    assert "นางสาวปิยะนุช ศ***" in r.text and "ศรีสุข" not in r.text


def test_sealed_file_the_registry_does_not_know_is_not_called_valid(web, home, certificate):
    record, _ = certificate
    unregistered = home.sealer().seal(plain_pdf("Sealed with edoc sign, never registered"))
    general = upload(web, "/verify", unregistered)
    assert FILE_VALID_TH not in general.text and "panel--warn" in general.text
    assert FILE_MISMATCH_TH in upload(web, f"/verify/{record.id}", unregistered).text


def test_genuine_file_of_a_revoked_document_says_revoked(web, home, certificate):
    record, pdf = certificate
    home.registry().revoke(record.id, reason="ออกผิดพลาด")
    r = upload(web, f"/verify/{record.id}", pdf)
    assert REVOKED_TH in unwrapped(r.text) and FILE_VALID_TH not in r.text


def test_non_pdf_gets_its_own_verdict_page(web, certificate):
    record, _ = certificate
    r = upload(web, f"/verify/{record.id}", b"GIF89a not a pdf", name="photo.gif")
    assert r.status_code == 200
    # issue 18: a photo is not "not genuine or altered", it is not a PDF at all
    assert "ไฟล์นี้ไม่ใช่ไฟล์ PDF" in r.text and FILE_INVALID_TH not in r.text
    assert "ไฟล์นี้ไม่ใช่เอกสาร PDF" in r.text


def test_oversized_upload_gets_a_friendly_413_page(web, certificate):
    record, _ = certificate
    r = upload(web, f"/verify/{record.id}", b"%PDF-1.7\n" + b"0" * UPLOAD_LIMIT)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "ไฟล์ใหญ่เกินไป" in r.text
    assert VALID_TH in r.text  # the document's status is still shown, with the form to retry


def test_oversized_upload_is_refused_by_its_declared_length(web):
    r = web.post(
        "/verify?lang=en",
        content=b"x" * (UPLOAD_LIMIT + 64 * 1024),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and "too large" in r.text


def test_far_oversized_upload_still_gets_the_friendly_page(web):
    """Over the app's own body limit too: the page, not the JSON API's problem document."""
    r = web.post(
        "/verify",
        content=b"x" * (UPLOAD_LIMIT + 128 * 1024),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("api_settings", [{"rate_limit_per_minute": 1}])
def test_too_many_checks_get_a_friendly_429_page(web, certificate):
    record, pdf = certificate
    assert upload(web, f"/verify/{record.id}", pdf).status_code == 200
    r = upload(web, f"/verify/{record.id}", pdf)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "โปรดลองใหม่" in r.text and VALID_TH in r.text


def test_oversized_streamed_upload_is_stopped_while_it_arrives(web):
    def chunks():  # no Content-Length: counted as it arrives
        for _ in range((UPLOAD_LIMIT + 128 * 1024) // 8192):
            yield b"x" * 8192

    r = web.post(
        "/verify",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")


def test_form_without_a_file_asks_for_one(web):
    r = web.post("/verify", data={"nothing": "here"})
    assert r.status_code == 400
    assert "โปรดเลือกไฟล์ PDF" in r.text


def test_uploads_are_never_stored(web, home, certificate):
    record, pdf = certificate
    objects = home.settings.objects_dir
    before = sorted(p for p in objects.rglob("*") if p.is_file())
    upload(web, f"/verify/{record.id}", tamper(pdf))
    upload(web, "/verify", b"%PDF-1.7 something else")
    assert sorted(p for p in objects.rglob("*") if p.is_file()) == before


class _Form(HTMLParser):
    """The upload form of a page, as a browser without JavaScript would submit it."""

    def __init__(self):
        super().__init__()
        self.form: dict[str, str] = {}
        self.inputs: list[dict[str, str]] = []
        self.labels: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = a
        elif tag == "input":
            self.inputs.append(a)
        elif tag == "label":
            self.labels.append(a.get("for", ""))


def test_form_works_without_javascript(web, certificate):
    record, pdf = certificate
    page = _Form()
    page.feed(web.get(f"/verify/{record.id}?lang=en").text)
    assert page.form["method"] == "post"
    assert page.form["enctype"] == "multipart/form-data"
    (file_input,) = [i for i in page.inputs if i.get("type") == "file"]
    assert file_input["id"] in page.labels  # a real, labelled file input
    r = web.post(page.form["action"], files={file_input["name"]: ("doc.pdf", pdf, "application/pdf")})
    assert "This file is valid" in r.text


# --- what the server sends ------------------------------------------------------------------


def test_pages_send_security_and_no_store_headers(web, certificate):
    record, pdf = certificate
    for r in (web.get(f"/verify/{record.id}"), web.get("/verify"), upload(web, "/verify", pdf)):
        h = r.headers
        assert h["cache-control"] == "no-store"
        assert "default-src 'none'" in h["content-security-policy"]
        assert "script-src 'self'" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"


def test_static_files_are_cached_and_revalidated(web):
    page = web.get("/verify").text
    css = re.search(r'href="(/static/verify\.css\?v=\w+)"', page).group(1)
    js = re.search(r'src="(/static/verify\.js\?v=\w+)"', page).group(1)
    r = web.get(css)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert web.get(js).headers["content-type"].startswith("text/javascript")
    again = web.get(css, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert web.get("/static/../routes.py").status_code == 404
    assert web.get("/static/nothing.css").status_code == 404


def test_everything_is_escaped(web, certificate):
    record, pdf = certificate
    r = web.get('/verify/%3Cimg%20src=x%20onerror=alert(1)%3E%22')
    assert "<img src=x" not in r.text and "&lt;img src=x onerror=alert(1)&gt;&#34;" in r.text
    r = upload(web, f"/verify/{record.id}", pdf, name="<img src=x onerror=alert(1)>.pdf")
    assert "<img src=x" not in r.text and "&lt;img src=x" in r.text


def test_page_is_light(web, certificate):
    record, pdf = certificate
    page = upload(web, f"/verify/{record.id}", pdf)  # the heaviest page: status and result
    css = web.get(re.search(r'href="(/static/verify\.css[^"]*)"', page.text).group(1))
    js = web.get(re.search(r'src="(/static/verify\.js[^"]*)"', page.text).group(1))
    total = len(page.content) + len(css.content) + len(js.content)
    assert total < 30 * 1024, total
    assert "@font-face" not in css.text  # system fonts only


# --- the verifier's reasons in Thai --------------------------------------------------------


@pytest.mark.parametrize(
    "english, thai",
    [
        ("This file is not a PDF document.", "ไฟล์นี้ไม่ใช่เอกสาร PDF"),
        ("The seal is damaged and cannot be checked (ValueError).",
         "ตราประทับอิเล็กทรอนิกส์เสียหาย"),
        ("The seal was made by Mallory, who is not a trusted issuer.", "ทำโดย Mallory"),
        ("Content was added or changed after the document was sealed "
         "(annotations were added).", "มีการเพิ่มหมายเหตุประกอบ"),
        ("Sealed by Seal at 2026-11-25 03:00 UTC; the document has not been changed since.",
         "25 พฤศจิกายน พ.ศ. 2569 เวลา 10:00 น."),
        ("The issuing agency revoked this document: wrong name.", "เหตุผล: wrong name"),
        ("This document is not in the issuing registry.", "ไม่พบเอกสารนี้ในทะเบียน"),
        ("This exact file is not on record in this registry.", "ไม่พบไฟล์นี้ในทะเบียน"),
        ("The seal could not be fully validated.", "ได้ไม่ครบถ้วน"),
    ],
)
def test_known_reasons_read_in_thai(english, thai):
    r = reason(english, "th")
    assert r.lang == "th" and thai in r.text


def test_unknown_reason_stays_english():
    r = reason("Something new happened.", "th")
    assert (r.text, r.lang) == ("Something new happened.", "en")
