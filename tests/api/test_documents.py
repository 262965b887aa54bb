"""Issuance, metadata, download and revocation over HTTP, and who may do each."""

from __future__ import annotations

import hashlib
import re

import pytest

from .conftest import AGENCY, OTHER_AGENCY, add_key, example_data

PROBLEM = "application/problem+json"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_issue_returns_id_digest_and_urls(client, keys, document):
    assert re.fullmatch(r"[a-z2-7]{26,}", document["id"])  # 128+ random bits: unguessable
    assert document["agency"] == AGENCY
    assert document["status"] == "issued"
    assert len(document["sha256"]) == 64
    assert document["download_url"].endswith(f"/v1/documents/{document['id']}/pdf")
    assert document["verify_url"].endswith(f"/verify/{document['id']}")
    assert document["holder_download_url"] == f"{document['download_url']}?token={document['holder_token']}"
    pdf = client.get(_path(document["download_url"]), headers=keys.issuer.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]


def test_issue_answers_location_header(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home), "lang": "th"}
    r = client.post("/v1/documents", json=body, headers=keys.issuer.headers)
    assert r.status_code == 201
    assert r.headers["location"] == f"/v1/documents/{r.json()['id']}"


def test_retry_with_same_idempotency_key_returns_same_document(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home), "lang": "th"}
    headers = {**keys.issuer.headers, "Idempotency-Key": "exam-2569-000123"}
    first = client.post("/v1/documents", json=body, headers=headers)
    again = client.post("/v1/documents", json=body, headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["sha256"] == first.json()["sha256"]
    assert again.json()["holder_token"] == first.json()["holder_token"]
    assert api_home.registry().count(agency=AGENCY) == 1


def test_same_idempotency_key_with_different_data_is_a_conflict(client, keys, api_home):
    headers = {**keys.issuer.headers, "Idempotency-Key": "k-1"}
    first = {"template": "certificate", "data": example_data(api_home), "lang": "th"}
    assert client.post("/v1/documents", json=first, headers=headers).status_code == 201
    second = {**first, "lang": "en", "data": example_data(api_home, "certificate", "en")}
    r = client.post("/v1/documents", json=second, headers=headers)
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/idempotency-conflict")
    assert "new key" in r.json()["detail"]
    assert api_home.registry().count(agency=AGENCY) == 1


def test_concurrent_retries_issue_once(live_server, keys, api_home):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    body = {"template": "certificate", "data": example_data(api_home), "lang": "th"}
    headers = {**keys.issuer.headers, "Idempotency-Key": "race-1"}

    def post(_):
        return httpx.post(f"{live_server}/v1/documents", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert api_home.registry().count(agency=AGENCY) == 1
    assert len(api_home.registry().audit.entries(event="document.issued")) == 1


def test_without_idempotency_key_each_request_issues(client, keys, issue, api_home):
    a, b = issue(), issue()
    assert a["id"] != b["id"]
    assert api_home.registry().count(agency=AGENCY) == 2


def test_idempotency_keys_are_per_agency(issue, keys, api_home, client):
    # another agency of the platform using the same key string gets a document of its own
    mine = issue(idempotency_key="shared")
    theirs = issue(idempotency_key="shared", credential=keys.other_issuer)
    assert theirs["id"] != mine["id"] and theirs["agency"] == OTHER_AGENCY


def test_malformed_idempotency_key_names_the_header(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home)}
    r = client.post("/v1/documents", json=body, headers={**keys.issuer.headers, "Idempotency-Key": "a b"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


def test_schema_error_names_the_field(client, keys, api_home):
    data = example_data(api_home)
    del data["holder"]["name"]
    data["completed_on"] = "25/11/2026"
    r = client.post("/v1/documents", json={"template": "certificate", "data": data}, headers=keys.issuer.headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "data.holder.name" in fields
    assert "data.completed_on" in fields and "YYYY-MM-DD" in fields["data.completed_on"]
    assert "data.holder.name" in r.json()["detail"]


def test_request_body_errors_name_the_field(client, keys):
    r = client.post("/v1/documents", json={"tempalte": "certificate", "data": []}, headers=keys.issuer.headers)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"template", "tempalte", "data"} <= fields


def test_unknown_level_names_the_field(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home), "level": "B-X"}
    r = client.post("/v1/documents", json=body, headers=keys.issuer.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "level"


def test_unsupported_language_names_the_field(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home), "lang": "fr"}
    r = client.post("/v1/documents", json=body, headers=keys.issuer.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["lang"]
    assert "th" in r.json()["errors"][0]["message"]


def test_invalid_json_is_a_422_naming_the_body(client, keys):
    r = client.post("/v1/documents", content=b"{not json",
                    headers={**keys.issuer.headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


def test_unknown_template_is_404_listing_the_available_ones(client, keys):
    r = client.post("/v1/documents", json={"template": "passport", "data": {}}, headers=keys.issuer.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert "certificate" in r.json()["detail"]


# -- who may do what -----------------------------------------------------------------------


def test_issuing_needs_a_key(client):
    r = client.post("/v1/documents", json={"template": "certificate", "data": {}})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_unknown_and_malformed_keys_are_401(client):
    for secret in ("edoc_" + "A" * 43, "nonsense"):
        r = client.post("/v1/documents", json={"template": "certificate", "data": {}},
                        headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401


def test_x_api_key_header_is_accepted(client, keys, document):
    r = client.get(f"/v1/documents/{document['id']}", headers={"X-API-Key": keys.issuer.secret})
    assert r.status_code == 200


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_issuers_issue(client, keys, role, api_home):
    body = {"template": "certificate", "data": example_data(api_home)}
    r = client.post("/v1/documents", json=body, headers=getattr(keys, role).headers)
    assert r.status_code == 403
    assert "issuer" in r.json()["detail"]


def test_issuer_of_another_agency_issues_with_its_own_seal(client, keys, api_home):
    body = {"template": "certificate", "data": example_data(api_home)}
    r = client.post("/v1/documents", json=body, headers=keys.other_issuer.headers)
    assert r.status_code == 201
    assert r.json()["agency"] == OTHER_AGENCY
    pdf = client.get(f"/v1/documents/{r.json()['id']}/pdf", headers=keys.other_issuer.headers).content
    report = client.app.state.edoc.verifier.verify(pdf)
    assert report.verdict == "valid"
    assert "Other Agency Electronic Seal" in report.reasons[0]


def test_issuer_and_auditor_of_the_agency_read_metadata(client, keys, document):
    for cred in (keys.issuer, keys.auditor):
        r = client.get(f"/v1/documents/{document['id']}", headers=cred.headers)
        assert r.status_code == 200
        assert r.json()["sha256"] == document["sha256"]
        assert "holder_token" not in r.json()


def test_auditor_downloads_the_pdf(client, keys, document):
    r = client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.auditor.headers)
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF")


def test_admin_alone_reads_no_documents(client, keys, document):
    for path in (f"/v1/documents/{document['id']}", f"/v1/documents/{document['id']}/pdf", "/v1/documents"):
        assert client.get(path, headers=keys.admin.headers).status_code == 403


def test_other_agency_gets_404_as_for_a_missing_id(client, keys, document):
    doc_id = document["id"]
    missing = client.get("/v1/documents/" + "a" * 32, headers=keys.other_issuer.headers)
    for cred in (keys.other_issuer, keys.other_auditor):
        meta = client.get(f"/v1/documents/{doc_id}", headers=cred.headers)
        pdf = client.get(f"/v1/documents/{doc_id}/pdf", headers=cred.headers)
        assert meta.status_code == pdf.status_code == missing.status_code == 404
    revoke = client.post(f"/v1/documents/{doc_id}/revoke", json={"reason": "x"},
                         headers=keys.other_issuer.headers)
    assert revoke.status_code == 404
    assert client.get(f"/v1/documents/{doc_id}", headers=keys.issuer.headers).json()["status"] == "issued"


def test_this_agency_cannot_reach_the_other_agencys_document(client, keys, other_agency_document):
    doc_id = other_agency_document.id
    assert client.get(f"/v1/documents/{doc_id}", headers=keys.issuer.headers).status_code == 404
    assert client.get(f"/v1/documents/{doc_id}/pdf", headers=keys.auditor.headers).status_code == 404
    r = client.post(f"/v1/documents/{doc_id}/revoke", json={"reason": "x"}, headers=keys.issuer.headers)
    assert r.status_code == 404
    # ...while its own agency can
    assert client.get(f"/v1/documents/{doc_id}", headers=keys.other_auditor.headers).status_code == 200


def test_listing_shows_only_the_keys_agency(client, keys, issue, other_agency_document):
    mine = {issue()["id"], issue()["id"]}
    r = client.get("/v1/documents", headers=keys.auditor.headers)
    assert r.status_code == 200
    assert {d["id"] for d in r.json()["items"]} == mine
    theirs = client.get("/v1/documents", headers=keys.other_issuer.headers).json()["items"]
    assert [d["id"] for d in theirs] == [other_agency_document.id]


def test_listing_pages_and_filters(client, keys, issue):
    ids = [issue()["id"] for _ in range(3)]
    first = client.get("/v1/documents?limit=2", headers=keys.issuer.headers).json()
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["id"]
    rest = client.get(f"/v1/documents?limit=2&after={first['next_after']}", headers=keys.issuer.headers).json()
    assert {d["id"] for d in first["items"] + rest["items"]} == set(ids)
    assert rest["next_after"] is None
    client.post(f"/v1/documents/{ids[0]}/revoke", json={"reason": "error"}, headers=keys.issuer.headers)
    revoked = client.get("/v1/documents?status=revoked", headers=keys.issuer.headers).json()["items"]
    assert [d["id"] for d in revoked] == [ids[0]]


def test_listing_after_another_agencys_id_is_404(client, keys, other_agency_document):
    r = client.get(f"/v1/documents?after={other_agency_document.id}", headers=keys.issuer.headers)
    assert r.status_code == 404


def test_listing_limit_out_of_range_names_the_field(client, keys):
    r = client.get("/v1/documents?limit=0", headers=keys.issuer.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "limit"


# -- holder links ----------------------------------------------------------------------------


def test_holder_link_downloads_without_a_key(client, document):
    r = client.get(f"/v1/documents/{document['id']}/pdf", params={"token": document["holder_token"]})
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == document["sha256"]


def test_wrong_holder_token_is_404(client, document, issue):
    other = issue()
    for token in ("x", other["holder_token"]):
        r = client.get(f"/v1/documents/{document['id']}/pdf", params={"token": token})
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM


def test_download_without_key_or_token_is_401(client, document):
    assert client.get(f"/v1/documents/{document['id']}/pdf").status_code == 401


def test_holder_token_does_not_open_metadata(client, document):
    r = client.get(f"/v1/documents/{document['id']}", params={"token": document["holder_token"]})
    assert r.status_code == 401


def test_downloads_are_audited(client, keys, document, api_home):
    client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.issuer.headers)
    client.get(f"/v1/documents/{document['id']}/pdf", params={"token": document["holder_token"]})
    entries = api_home.registry().audit.entries(event="document.downloaded")
    assert [(e.actor, e.details["via"]) for e in entries] == [
        (keys.issuer.key.id, "api-key"), ("holder", "holder-link")]
    assert all(e.subject == document["id"] and e.agency == AGENCY for e in entries)


# -- revocation ------------------------------------------------------------------------------


def test_issuer_revokes_with_a_reason(client, keys, document, api_home):
    r = client.post(f"/v1/documents/{document['id']}/revoke", json={"reason": "issued in error"},
                    headers=keys.issuer.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    assert r.json()["revocation_reason"] == "issued in error"
    again = client.post(f"/v1/documents/{document['id']}/revoke", json={"reason": "other"},
                        headers=keys.issuer.headers)
    assert again.json()["revocation_reason"] == "issued in error"
    entries = api_home.registry().audit.entries(event="document.revoked")
    assert [(e.subject, e.actor) for e in entries] == [(document["id"], keys.issuer.key.id)]


def test_revocation_needs_a_reason(client, keys, document):
    for body in ({}, {"reason": ""}):
        r = client.post(f"/v1/documents/{document['id']}/revoke", json=body, headers=keys.issuer.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "reason"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_issuers_revoke(client, keys, document, role):
    r = client.post(f"/v1/documents/{document['id']}/revoke", json={"reason": "x"},
                    headers=getattr(keys, role).headers)
    assert r.status_code == 403


def test_issuer_and_auditor_roles_on_one_key(client, api_home, document):
    both = add_key(api_home, AGENCY, "issuer", "auditor")
    assert client.get(f"/v1/documents/{document['id']}", headers=both.headers).status_code == 200
    r = client.post(f"/v1/documents/{document['id']}/revoke", json={"reason": "x"}, headers=both.headers)
    assert r.status_code == 200
