"""Issue 17, finding 1 over HTTP: POST /v1/verify and the upload page say "revoked" for a
revoked document with an unsigned update appended, and "not on record" for a genuine seal
the registry does not know."""

from __future__ import annotations

import pytest

from tests.signing.conftest import plain_pdf
from tests.trust.hostile_updates import UPDATES, keywords_of

from .test_pages import FILE_VALID_TH, REVOKED_TH, issue_certificate, upload


@pytest.fixture
def revoked(api_home):
    record, pdf = issue_certificate(api_home)
    api_home.issuer().revoke(record.id, reason="issued in error")
    return record, pdf


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_api_verify_of_a_revoked_document_with_an_update_says_revoked(client, revoked, update):
    record, pdf = revoked
    r = client.post("/v1/verify", files={"file": ("c.pdf", UPDATES[update](pdf), "application/pdf")})
    assert r.status_code == 200
    report = r.json()
    assert report["verdict"] == "invalid"
    assert report["registry"]["status"] == "revoked"
    assert report["registry"]["document_id"] == record.id
    assert any("not the exact file on record" in reason for reason in report["reasons"])


def test_api_verify_with_keywords_of_another_document_says_revoked(client, api_home, revoked):
    record, pdf = revoked
    other, _ = issue_certificate(api_home)
    r = client.post("/v1/verify", content=keywords_of(other.id)(pdf),
                    headers={"Content-Type": "application/pdf"})
    assert r.json()["registry"] == {**r.json()["registry"], "status": "revoked", "document_id": record.id}


@pytest.mark.parametrize("update", ["remove-keywords", "new-info-object"])
def test_upload_page_of_a_revoked_document_with_an_update_says_revoked(client, revoked, update):
    record, pdf = revoked
    changed = UPDATES[update](pdf)
    for path in ("/verify", f"/verify/{record.id}"):
        page = upload(client, path, changed)
        assert page.status_code == 200
        assert REVOKED_TH in page.text and FILE_VALID_TH not in page.text
        assert "ไม่ใช่ไฟล์ที่บันทึกไว้ในทะเบียน" in page.text  # the later update, in Thai
    english = upload(client, "/verify?lang=en", changed)
    assert "it was updated after the issuing agency sealed it" in english.text


def test_api_verify_of_a_genuine_seal_not_on_record_is_indeterminate(client, api_home):
    sealed = api_home.sealer().seal(plain_pdf("sealed, never registered"))
    report = client.post("/v1/verify", content=sealed, headers={"Content-Type": "application/pdf"}).json()
    assert report["verdict"] == "indeterminate"
    assert report["registry"]["status"] == "not-on-record"
    page = upload(client, "/verify", sealed)
    assert "ไม่พบเอกสารนี้ในทะเบียนของหน่วยงานผู้ออก" in page.text and FILE_VALID_TH not in page.text
