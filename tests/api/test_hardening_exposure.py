"""Issue 17, findings 7 and 9: holder links, /metrics, what citizens see of a revocation,
and idempotency keys per API key."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.logredact import RedactSecrets, redact
from edoc.holder_links import HolderLinks, _b36

from .conftest import AGENCY, add_key, example_data
from .test_pages import unwrapped

PROBLEM = "application/problem+json"
SECRET_REASON = "ผู้ถือ นางสาวมาลีวรรณ ทองประเสริฐ เลขบัตร 1101700203451 ขอแก้ชื่อ"


def _revoke(client, keys, doc_id: str, **body) -> dict:
    r = client.post(f"/v1/documents/{doc_id}/revoke", json={"reason": SECRET_REASON, **body},
                    headers=keys.issuer.headers)
    assert r.status_code == 200, r.text
    return r.json()


# -- finding 7: holder links expire, are refused once revoked, never reach the logs -----------------


def test_a_holder_link_carries_an_expiry(client, document, api_home):
    token = document["holder_token"]
    links = HolderLinks(api_home.holder_link_key(), timedelta(days=api_home.settings.holder_link_days))
    expires = links.expiry(token)
    assert expires is not None
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    assert client.get(document["holder_download_url"].split("8000", 1)[-1]).status_code == 200


def test_an_expired_holder_link_is_refused_with_the_reason_in_thai_and_english(client, document, api_home):
    links = HolderLinks(api_home.holder_link_key(), timedelta(days=90))
    stale = links.token(document["id"], now=datetime.now(UTC) - timedelta(days=91))
    r = client.get(f"/v1/documents/{document['id']}/pdf?token={stale}")
    assert r.status_code == 410 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"].endswith("/holder-link-expired")
    assert "หมดอายุ" in body["detail_th"] and "expired" in body["detail_en"]


def test_a_holder_link_cannot_be_stretched_or_moved(client, document, issue, api_home):
    token = document["holder_token"]
    expiry, mac = token.split(".")
    later = _b36(int(expiry, 36) + 10**6)  # a later expiry with the same MAC
    assert client.get(f"/v1/documents/{document['id']}/pdf?token={later}.{mac}").status_code == 404
    other = issue()
    assert client.get(f"/v1/documents/{other['id']}/pdf?token={token}").status_code == 404


def test_a_link_handed_out_before_expiries_works_until_its_document_is_old(api_home):
    links = HolderLinks(b"k" * 32, timedelta(days=90))
    import base64
    import hashlib
    import hmac

    legacy = base64.urlsafe_b64encode(
        hmac.new(b"k" * 32, b"DOC1", hashlib.sha256).digest()[:24]).decode().rstrip("=")
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert links.check("DOC1", legacy, issued_at=issued, now=issued + timedelta(days=89)) == "valid"
    assert links.check("DOC1", legacy, issued_at=issued, now=issued + timedelta(days=91)) == "expired"
    assert links.check("DOC2", legacy, issued_at=issued, now=issued) == "wrong"


def test_a_holder_link_of_a_revoked_document_is_refused_and_the_holder_sees_why(client, keys, document):
    url = f"/v1/documents/{document['id']}/pdf?token={document['holder_token']}"
    assert client.get(url).status_code == 200
    _revoke(client, keys, document["id"], category="superseded")
    r = client.get(url)
    assert r.status_code == 410 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/holder-link-revoked")
    assert "เพิกถอน" in r.json()["detail_th"] and "revoked" in r.json()["detail_en"]
    assert SECRET_REASON not in r.text
    # a browser (the holder following the link) gets a page in both languages
    page = client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 410 and page.headers["content-type"].startswith("text/html")
    assert "เพิกถอนเอกสารนี้แล้ว" in page.text and "has revoked this document" in page.text
    assert f"/verify/{document['id']}" in page.text
    # the agency's own key still reads it
    assert client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.auditor.headers).status_code == 200


def test_holder_tokens_are_redacted_in_log_lines():
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET",
                               "/v1/documents/abc/pdf?redirect=true&token=1a2b.SECRETSECRET", "1.1", 200), None)
    assert RedactSecrets().filter(record)
    line = record.getMessage()
    assert "SECRETSECRET" not in line and "token=[redacted]" in line and "redirect=true" in line
    assert redact("/x?TOKEN=abc#f") == "/x?TOKEN=[redacted]#f"


def test_the_app_installs_the_redaction_on_the_access_log(app):
    assert any(isinstance(f, RedactSecrets) for f in logging.getLogger("uvicorn.access").filters)


# -- finding 9: /metrics is protected -----------------------------------------------------------------


def test_metrics_need_a_key_with_the_metrics_or_admin_role(client, keys, api_home):
    r = client.get("/metrics")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert client.get("/metrics", headers=keys.issuer.headers).status_code == 403
    assert client.get("/metrics", headers=keys.auditor.headers).status_code == 403
    scraper = add_key(api_home, AGENCY, "metrics", label="prometheus")
    assert client.get("/metrics", headers=scraper.headers).status_code == 200
    assert client.get("/metrics", headers=keys.admin.headers).status_code == 200
    # a metrics key is good for nothing else
    assert client.get("/v1/documents", headers=scraper.headers).status_code == 403
    assert client.get("/v1/keys", headers=scraper.headers).status_code == 403


@pytest.mark.parametrize("access,status", [("public", 200), ("off", 404)])
def test_metrics_access_is_a_setting(make_app, access, status):
    with TestClient(make_app(metrics_access=access)) as c:
        r = c.get("/metrics")
    assert r.status_code == status


# -- finding 9: citizens see a fixed revocation category, never the officer's words -------------------


def test_the_agency_sees_its_reason_and_the_category(client, keys, document):
    body = _revoke(client, keys, document["id"], category="holder-request")
    assert body["revocation_reason"] == SECRET_REASON
    assert body["revocation_category"] == "holder-request"


def test_an_unknown_category_is_422(client, keys, document):
    r = client.post(f"/v1/documents/{document['id']}/revoke",
                    json={"reason": "x", "category": "because"}, headers=keys.issuer.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "category"


def test_the_public_page_for_an_id_shows_the_category_not_the_reason(client, keys, document):
    _revoke(client, keys, document["id"], category="holder-request")
    th = unwrapped(client.get(f"/verify/{document['id']}").text)
    assert "เพิกถอนตามคำขอของผู้ถือเอกสาร" in th
    en = client.get(f"/verify/{document['id']}?lang=en").text
    assert "revoked at the holder&#39;s request" in en or "revoked at the holder's request" in en
    for text in (th, en, client.get(f"/v1/verify/{document['id']}").text):
        assert "มาลีวรรณ" not in text and "1101700203451" not in text


def test_both_upload_verifications_show_the_category_not_the_reason(client, keys, document):
    pdf = client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.issuer.headers).content
    _revoke(client, keys, document["id"], category="fraud")
    api = client.post("/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert api.status_code == 200 and api.json()["verdict"] == "invalid"
    assert api.json()["registry"]["revocation_reason"] == "obtained by fraud or false information"
    th = unwrapped(client.post("/verify", files={"file": ("doc.pdf", pdf, "application/pdf")}).text)
    assert "ได้มาโดยการทุจริตหรือข้อมูลอันเป็นเท็จ" in th
    en = client.post("/verify?lang=en", files={"file": ("doc.pdf", pdf, "application/pdf")}).text
    assert "obtained by fraud or false information" in en
    for text in (api.text, th, en):
        assert "มาลีวรรณ" not in text and "1101700203451" not in text


def test_a_document_revoked_before_categories_shows_no_free_text(client, api_home, document):
    # as a row from before migration 0006: a reason, no category
    api_home.registry().revoke(document["id"], reason=SECRET_REASON)
    th = client.get(f"/verify/{document['id']}").text
    assert "ไม่ระบุเหตุผล" in th and "มาลีวรรณ" not in th


# -- finding 9: idempotency keys belong to one API key --------------------------------------------------


def test_another_key_reusing_an_idempotency_key_gets_its_own_document(client, keys, api_home, issue):
    second = add_key(api_home, AGENCY, "issuer", label="second desk")
    third = add_key(api_home, AGENCY, "issuer", label="third desk")
    first = issue(idempotency_key="exam-2569-0001")
    # different data: was a 409 that told the second key the first one used this key
    other_data = example_data(api_home)
    other_data["holder"]["name"] = "นางสาวสมหญิง รักเรียน"
    mine = issue(data=other_data, idempotency_key="exam-2569-0001", credential=second)
    assert mine["id"] != first["id"]
    # the same data: was a 200 replay handing the third key the first key's document and token
    theirs = issue(idempotency_key="exam-2569-0001", credential=third)
    assert theirs["id"] not in (first["id"], mine["id"])
    # each key's own retries still replay its own document
    assert issue(data=other_data, idempotency_key="exam-2569-0001", credential=second, expect=200)["id"] == mine["id"]
    assert issue(idempotency_key="exam-2569-0001", expect=200)["id"] == first["id"]


def test_a_long_idempotency_key_still_fits(client, keys, issue):
    key = "k" * 255
    first = issue(idempotency_key=key)
    assert issue(idempotency_key=key, expect=200)["id"] == first["id"]


def test_a_retry_of_a_request_made_before_keys_were_scoped_finds_its_document(client, keys, api_home, issue):
    # a row as stored before: the client's key alone, agency-wide
    data = example_data(api_home)
    earlier = api_home.issuer().issue("certificate", data, lang="th", idempotency_key="legacy-1")
    again = issue(data=data, idempotency_key="legacy-1", expect=200)
    assert again["id"] == earlier.id
