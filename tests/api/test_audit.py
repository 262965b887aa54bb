"""The audit trail over HTTP: auditors and admins see their own agency's events, nobody every agency's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import AGENCY, OTHER_AGENCY


@pytest.fixture
def history(client, keys, issue, other_agency_document) -> dict:
    """Issue, download, verify and revoke one document; the other agency issued one too."""
    doc = issue()
    client.get(f"/v1/documents/{doc['id']}/pdf", headers=keys.issuer.headers)
    client.get(f"/v1/verify/{doc['id']}")
    client.app.state.edoc.lookups.flush()  # public lookups are appended in batches
    client.post(f"/v1/documents/{doc['id']}/revoke", json={"reason": "issued in error"},
                headers=keys.issuer.headers)
    client.post("/v1/keys", json={"agency": AGENCY, "roles": ["auditor"]}, headers=keys.admin.headers)
    return doc


def _events(r) -> list[tuple[str, str | None]]:
    assert r.status_code == 200, r.text
    return [(e["event"], e["agency"]) for e in r.json()["entries"]]


def test_auditor_sees_every_event_of_its_agency(client, keys, history):
    r = client.get("/v1/audit", headers=keys.auditor.headers)
    assert _events(r) == [
        ("document.issued", AGENCY),
        ("document.downloaded", AGENCY),
        ("document.verified", AGENCY),
        ("document.revoked", AGENCY),
        ("apikey.created", AGENCY),
    ]
    entry = r.json()["entries"][0]
    assert entry["subject"] == history["id"]
    assert entry["actor"] == keys.issuer.key.id
    assert len(entry["hash"]) == 64


def test_auditor_of_another_agency_sees_only_its_own(client, keys, history):
    r = client.get("/v1/audit", headers=keys.other_auditor.headers)
    assert _events(r) == [("agency.created", OTHER_AGENCY), ("apikey.created", OTHER_AGENCY),
                          ("document.issued", OTHER_AGENCY)]


def test_auditor_may_not_ask_for_another_agency(client, keys, history):
    r = client.get("/v1/audit", params={"agency": OTHER_AGENCY}, headers=keys.auditor.headers)
    assert r.status_code == 404  # like a missing agency
    assert r.headers["content-type"] == "application/problem+json"


def test_admin_sees_its_own_agency_only(client, keys, history):
    # issue 17, finding 3: an agency admin is no platform admin
    everything = _events(client.get("/v1/audit", headers=keys.admin.headers))
    assert ("document.issued", AGENCY) in everything
    assert {agency for _, agency in everything} == {AGENCY}
    r = client.get("/v1/audit", params={"agency": OTHER_AGENCY}, headers=keys.admin.headers)
    assert r.status_code == 404
    # the platform role reads no entry at all (they concern documents)
    assert client.get("/v1/audit", headers=keys.platform.headers).status_code == 403


def test_filter_by_event_and_time(client, keys, history):
    revoked = client.get("/v1/audit", params={"event": "document.revoked"}, headers=keys.auditor.headers)
    assert _events(revoked) == [("document.revoked", AGENCY)]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _events(client.get("/v1/audit", params={"since": future}, headers=keys.auditor.headers)) == []
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")  # no zone: UTC
    assert len(_events(client.get("/v1/audit", params={"since": past}, headers=keys.auditor.headers))) == 5
    assert _events(client.get("/v1/audit", params={"until": past}, headers=keys.auditor.headers)) == []


def test_pages_follow_the_chain(client, keys, history):
    first = client.get("/v1/audit", params={"limit": 2}, headers=keys.auditor.headers).json()
    assert len(first["entries"]) == 2
    rest = client.get("/v1/audit", params={"after_seq": first["next_after_seq"]}, headers=keys.auditor.headers).json()
    assert len(rest["entries"]) == 3 and rest["next_after_seq"] is None
    seqs = [e["seq"] for e in first["entries"] + rest["entries"]]
    assert seqs == sorted(seqs)


def test_bad_filters_name_the_field(client, keys):
    r = client.get("/v1/audit", params={"since": "yesterday"}, headers=keys.auditor.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "since"


@pytest.mark.parametrize("role", ["issuer", "other_issuer"])
def test_issuers_cannot_read_the_trail(client, keys, role):
    assert client.get("/v1/audit", headers=getattr(keys, role).headers).status_code == 403


def test_trail_needs_a_key(client):
    assert client.get("/v1/audit").status_code == 401


def test_chain_verifies(client, keys, history):
    r = client.get("/v1/audit/verify", headers=keys.auditor.headers)
    assert r.status_code == 200
    # the agency's own chain: its five entries, checked without the other agency's
    assert r.json()["ok"] is True and r.json()["checked"] == 5 and r.json()["agency"] == AGENCY
    everything = client.get("/v1/platform/audit/verify", headers=keys.platform.headers)
    assert everything.json()["ok"] is True and everything.json()["checked"] >= 8
    assert client.get("/v1/platform/audit/verify", headers=keys.admin.headers).status_code == 403
