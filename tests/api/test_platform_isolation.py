"""Isolation of agencies, for every role x route pair, generated from the app's route table.

A new route is covered the moment it is added: the matrix below is built from
``app.routes``, and a route nobody declared public that answers without a key,
or any answer to another agency's key that carries agency A's document or key
ids, fails here. Issue 20 ("Roles") and issue 17 finding 3.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import AGENCY, OTHER_AGENCY, add_agency, add_key, example_data

#: routes that answer without a key on purpose (the citizen's and the PKI's); anything else
#: that answers 2xx without a key fails the test
PUBLIC = {
    ("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"), ("POST", "/v1/verify"), ("GET", "/v1/verify/{doc_id}"),
    ("GET", "/verify"), ("GET", "/verify/{doc_id}"), ("POST", "/verify"), ("POST", "/verify/{doc_id}"),
    ("POST", "/tsa"), ("POST", "/ocsp"), ("GET", "/ocsp/{encoded:path}"), ("GET", "/agency/{agency_id}/logo"),
    ("GET", "/"), ("POST", "/v1/verify/summary"),
}
THIRD = "third-agency"
# a minimal plausible body per route, so that authorisation, not validation, decides
BODIES = {
    ("POST", "/v1/documents/{doc_id}/revoke"): {"reason": "probe"},
    ("POST", "/v1/keys"): {"agency": AGENCY, "roles": ["issuer"]},
    ("POST", "/v1/agencies"): {"id": "probe-agency", "name_th": "ทดสอบ", "name_en": "Probe"},
    ("PATCH", "/v1/agency"): {"contact": "probe"},
    ("POST", "/v1/agencies/{agency_id}/certificate"): {"certificate": "probe"},
}


def route_table(app) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, whatever way its routers were included."""
    found = set()
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            for method in getattr(ctx, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, ctx.path))
    return sorted(found)


@pytest.fixture
def world(client, keys, issue, api_home):
    """Agency A (the home's) with a document and keys; agency B and a third one; a platform key."""
    add_agency(api_home, THIRD, name_en="Third Agency")
    doc = issue()
    spare = add_key(api_home, AGENCY, "issuer", label="spare")  # what a platform key may revoke
    return {"doc": doc, "spare": spare}


def _url(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: params.get(m.group(1), "probe"), path)


def _body(method: str, path: str, api_home):
    if (method, path) == ("POST", "/v1/documents"):
        return {"template": "certificate", "data": example_data(api_home)}
    return BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)


def test_the_route_table_is_what_this_test_expects(app):
    # a sanity floor: the matrix really is built from the app's routes
    table = route_table(app)
    assert ("POST", "/v1/documents") in table and ("GET", "/v1/agencies") in table
    assert len(table) >= 25


def test_no_route_is_public_by_accident(client, world, app):
    surprises = []
    params = {"doc_id": world["doc"]["id"], "key_id": world["spare"].key.id, "agency_id": AGENCY}
    for method, path in route_table(app):
        if (method, path) in PUBLIC or path.startswith("/static") or path.startswith("/pki"):
            continue
        r = client.request(method, _url(path, params), json=_body(method, path, client.app.state.edoc.home))
        if 200 <= r.status_code < 300:
            surprises.append((method, path, r.status_code))
    assert surprises == []


@pytest.mark.parametrize("who", ["other_issuer", "other_auditor", "other_admin", "platform"])
def test_no_path_from_another_agencys_key_to_agency_a(client, keys, world, app, api_home, who):
    credential = getattr(keys, who)
    doc_id = world["doc"]["id"]
    a_key_ids = {keys.issuer.key.id, keys.auditor.key.id, keys.admin.key.id, world["spare"].key.id}
    # what must never appear in an answer to this key: A's documents (and, for B, A's keys)
    secrets = {doc_id, world["doc"]["sha256"]} | (set() if who == "platform" else a_key_ids)
    params = {"doc_id": doc_id, "agency_id": THIRD if who == "platform" else AGENCY,
              "key_id": world["spare"].key.id if who == "platform" else keys.issuer.key.id}
    leaks = []
    checked = 0
    for method, path in route_table(app):
        if (method, path) in PUBLIC or path.startswith(("/static", "/pki", "/docs", "/openapi")):
            continue
        url = _url(path, params)
        r = client.request(method, url, headers=credential.headers, json=_body(method, path, api_home))
        checked += 1
        assert r.status_code < 500, (method, path, r.status_code, r.text)
        touches_a = "{doc_id}" in path or ("{agency_id}" in path and who != "platform") or (
            "{key_id}" in path and who != "platform")
        if touches_a and 200 <= r.status_code < 300:
            leaks.append((method, path, r.status_code))
        text = r.content.decode("utf-8", "replace")
        # an id the caller put in the URL may be echoed ("no document X"); nothing else of A's may appear
        leaks += [(method, path, s) for s in secrets if s and s in text and s not in url]
    assert checked >= 15
    assert leaks == []
    # and nothing of A's changed: its document is not revoked, its keys still work
    state = client.app.state.edoc
    assert state.registry.get(doc_id).status == "issued"
    assert state.registry.authenticate(keys.issuer.secret) is not None
    assert state.registry.authenticate(keys.admin.secret) is not None
    assert state.registry.agencies.get(AGENCY).active


def test_the_platform_reads_no_document(client, keys, world):
    doc_id = world["doc"]["id"]
    for path in ("/v1/documents", f"/v1/documents/{doc_id}", f"/v1/documents/{doc_id}/pdf", "/v1/audit"):
        assert client.get(path, headers=keys.platform.headers).status_code in (403, 404), path


def test_agency_admins_and_issuers_of_a_keep_their_powers(client, keys, world):
    doc_id = world["doc"]["id"]
    assert client.get(f"/v1/documents/{doc_id}", headers=keys.auditor.headers).status_code == 200
    assert client.get("/v1/agency", headers=keys.admin.headers).json()["id"] == AGENCY
    assert client.get("/v1/agency", headers=keys.other_admin.headers).json()["id"] == OTHER_AGENCY
    r = client.patch("/v1/agency", json={"contact": "02 000 0000"}, headers=keys.other_admin.headers)
    assert r.status_code == 200
    assert client.get("/v1/agency", headers=keys.admin.headers).json()["contact"] is None


def test_two_agencies_issue_concurrently_each_with_its_own_seal(live_server, keys, api_home):
    data = example_data(api_home)

    def issue(credential):
        body = json.dumps({"template": "certificate", "data": data}).encode()
        req = urllib.request.Request(f"{live_server}/v1/documents", data=body, method="POST",
                                     headers={**credential.headers, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    start = threading.Barrier(2)

    def run(credential):
        start.wait()
        return [issue(credential) for _ in range(3)]

    with ThreadPoolExecutor(2) as pool:
        mine, theirs = pool.map(run, [keys.issuer, keys.other_issuer])
    registry = api_home.registry()
    verifier = __import__("edoc.verification", fromlist=["Verifier"]).Verifier.for_home(api_home)
    for docs, agency, seal in ((mine, AGENCY, "Test Agency"), (theirs, OTHER_AGENCY, "Other Agency")):
        assert {d["agency"] for d in docs} == {agency}
        for d in docs:
            record = registry.get(d["id"])
            report = verifier.verify(api_home.store().get(record.sha256))
            assert report.verdict == "valid"
            assert report.signatures[0].signer.startswith(f"{seal} Electronic Seal") or \
                f"{seal} Electronic Seal" in report.reasons[0]
    assert registry.agency_audit.verify(AGENCY).ok and registry.agency_audit.verify(OTHER_AGENCY).ok


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
    "00000301010018dd8db00000000049454e44ae426082")


def test_public_page_shows_the_issuing_agencys_name_and_logo(client, keys, api_home, other_agency_document):
    r = client.put("/v1/agency/logo", content=PNG, headers={**keys.other_admin.headers, "Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    page = client.get(f"/verify/{other_agency_document.id}?lang=en").text
    assert "Other Agency" in page and "Test Agency" not in page
    assert f"/agency/{OTHER_AGENCY}/logo" in page
    assert client.get(f"/agency/{OTHER_AGENCY}/logo").content == PNG
    thai = client.get(f"/verify/{other_agency_document.id}?lang=th").text
    assert "หน่วยงานอื่น" in thai and "หน่วยงานทดสอบ" not in thai
    # a document of agency A shows A, without B's logo
    doc = api_home.issuer().issue("certificate", example_data(api_home))
    page_a = client.get(f"/verify/{doc.id}?lang=en").text
    assert "Test Agency" in page_a and "Other Agency" not in page_a and "/logo" not in page_a
