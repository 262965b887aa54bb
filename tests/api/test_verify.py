"""Public verification: uploads get a verdict, ids get the registry's data-minimised word."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from .conftest import AGENCY

PROBLEM = "application/problem+json"


@pytest.fixture
def pdf(client, keys, document) -> bytes:
    r = client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.issuer.headers)
    assert r.status_code == 200
    return r.content


def test_issued_document_verifies_valid_with_registry_status(client, document, pdf):
    r = client.post("/v1/verify", files={"file": ("certificate.pdf", pdf, "application/pdf")})
    assert r.status_code == 200
    report = r.json()
    assert report["verdict"] == "valid", report["reasons"]
    assert report["file"] == "certificate.pdf"
    assert report["sha256"] == document["sha256"]
    assert report["registry"]["status"] == "issued"
    assert report["registry"]["document_id"] == document["id"]


def test_report_names_the_document_type_without_personal_data(client, api_home, pdf):
    r = client.post("/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
    template = api_home.templates().get("certificate")
    assert r.json()["registry"]["document_type"] == template.title_in("th")
    assert template.examples["th"]["holder"]["name"] not in r.text


def test_raw_pdf_body_is_accepted(client, pdf):
    r = client.post("/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200
    assert r.json()["verdict"] == "valid"


def test_tampered_upload_is_invalid(client, pdf):
    tampered = bytearray(pdf)
    tampered[300] ^= 0x01  # inside the signed revision, far from the signature value
    r = client.post("/v1/verify", files={"file": ("t.pdf", bytes(tampered), "application/pdf")})
    assert r.status_code == 200
    assert r.json()["verdict"] == "invalid"


@pytest.mark.parametrize("content", [b"", b"hello, not a pdf", b"%PDF-1.7\n%%EOF garbage", b"\x00" * 4096])
def test_non_pdf_upload_gets_a_verdict_not_an_error(client, content):
    r = client.post("/v1/verify", files={"file": ("x.pdf", content, "application/pdf")})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json()["verdict"] == "invalid"
    assert r.json()["reasons"]


def test_unsigned_pdf_is_not_valid(client):
    from tests.signing.conftest import plain_pdf

    r = client.post("/v1/verify", files={"file": ("plain.pdf", plain_pdf(), "application/pdf")})
    assert r.status_code == 200
    assert r.json()["verdict"] != "valid"


def test_revoked_document_verifies_revoked(client, keys, document, pdf):
    client.post(f"/v1/documents/{document['id']}/revoke", json={"reason": "issued in error"},
                headers=keys.issuer.headers)
    r = client.post("/v1/verify", files={"file": ("c.pdf", pdf, "application/pdf")})
    assert r.json()["verdict"] == "invalid"
    assert r.json()["registry"]["status"] == "revoked"
    by_id = client.get(f"/v1/verify/{document['id']}").json()
    assert by_id["status"] == "revoked"
    assert by_id["revoked_at"] is not None


def test_upload_is_not_stored(client, api_home, pdf):
    before = sorted(p.name for p in api_home.settings.objects_dir.rglob("*") if p.is_file())
    client.post("/v1/verify", files={"file": ("c.pdf", pdf + b"\n%", "application/pdf")})
    after = sorted(p.name for p in api_home.settings.objects_dir.rglob("*") if p.is_file())
    assert before == after


def test_large_upload_is_held_in_memory_not_spooled_to_disk(client, monkeypatch):
    import tempfile

    def rollover(self):
        raise AssertionError("the upload was about to be written to a temporary file")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
    r = client.post("/v1/verify", files={"file": ("big.pdf", b"%PDF-1.7\n" + b"0" * 3_000_000, "application/pdf")})
    assert r.status_code == 200
    assert r.json()["verdict"] == "invalid"


def test_missing_file_field_is_named(client):
    r = client.post("/v1/verify", files={"document": ("c.pdf", b"%PDF", "application/pdf")})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"] == [{"field": "file", "message": "upload the PDF as the multipart file field `file`"}]


def test_other_media_types_are_415(client):
    r = client.post("/v1/verify", json={"file": "x"})
    assert r.status_code == 415
    assert "multipart/form-data" in r.json()["detail"]


# -- by id -------------------------------------------------------------------------------------


def test_status_by_id_is_data_minimised(client, document, api_home):
    r = client.get(f"/v1/verify/{document['id']}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "status", "agency", "document_type", "issued_at", "holder", "revoked_at"}
    assert body["status"] == "issued"
    assert body["agency"] == AGENCY
    assert body["holder"] == document["holder_masked"]
    data = api_home.templates().get("certificate").examples["th"]
    full_name = data["holder"]["name"]
    assert full_name not in r.text  # neither as holder nor inside the document type
    assert data["holder"].get("id", "@none@") not in r.text


def test_status_by_id_needs_no_key_and_is_audited_in_a_batch(client, document, api_home):
    before = datetime.now(UTC)
    for _ in range(3):
        assert client.get(f"/v1/verify/{document['id']}").status_code == 200
    audit = api_home.registry().audit
    deadline = time.monotonic() + 10
    while len(audit.entries(event="document.verified")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the batcher appends within a quarter of a second
    entries = audit.entries(event="document.verified")
    assert [(e.subject, e.actor, e.agency) for e in entries] == [(document["id"], "public", AGENCY)] * 3
    assert all(before <= e.at <= datetime.now(UTC) for e in entries)  # when looked up, not appended
    assert audit.verify().ok


@pytest.mark.parametrize("doc_id", ["a" * 26, "no-such-document", "x" * 300, "..%2F..%2Fetc", "%00"])
def test_unknown_or_malformed_id_is_404(client, doc_id):
    r = client.get(f"/v1/verify/{doc_id}")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM


def test_unknown_id_answer_does_not_differ_from_malformed(client):
    a = client.get("/v1/verify/" + "a" * 26).json()
    b = client.get("/v1/verify/..bad..").json()
    assert a == b


# -- rate limiting ----------------------------------------------------------------------------


@pytest.mark.parametrize("api_settings", [{"rate_limit_per_minute": 3}])
def test_public_endpoints_are_rate_limited_per_client(client, document):
    answers = [client.get(f"/v1/verify/{document['id']}").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    r = client.get(f"/v1/verify/{document['id']}")
    assert r.status_code == 429
    assert r.headers["content-type"] == PROBLEM
    assert int(r.headers["retry-after"]) >= 1
    assert client.post("/v1/verify", content=b"x", headers={"Content-Type": "application/pdf"}).status_code == 429
    # holder links are public too
    token = {"token": document["holder_token"]}
    assert client.get(f"/v1/documents/{document['id']}/pdf", params=token).status_code == 429
    # keyed agency endpoints are not limited per client
    assert client.get("/healthz").status_code == 200
