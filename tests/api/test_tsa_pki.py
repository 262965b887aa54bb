"""The TSA over HTTP (checked with openssl and curl against a live uvicorn) and the published PKI."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx
import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.tsa import TimeStampResp
from tests.tools import require, run


def test_openssl_query_curl_and_verify_against_a_live_server(live_server, tmp_path):
    openssl, curl = require("openssl"), require("curl")
    data = tmp_path / "data.txt"
    data.write_bytes("เอกสารราชการ / official document\n".encode())
    # the trust material comes from the server's own /pki endpoints
    run(curl, "-sf", "-o", tmp_path / "root.pem", f"{live_server}/pki/root-ca.pem")
    run(curl, "-sf", "-o", tmp_path / "issuing.pem", f"{live_server}/pki/issuing-ca.pem")
    pipeline = (
        f'set -o pipefail; "{openssl}" ts -query -data "{data}" -sha256 -cert '
        f'| "{curl}" -sf -H "Content-Type: application/timestamp-query" --data-binary @- '
        f'"{live_server}/tsa" -o "{tmp_path / "reply.tsr"}"'
    )
    run("bash", "-c", pipeline)
    verified = run(openssl, "ts", "-verify", "-data", data, "-in", tmp_path / "reply.tsr",
                   "-CAfile", tmp_path / "root.pem", "-untrusted", tmp_path / "issuing.pem")
    assert b"Verification: OK" in verified.stdout
    text = run(openssl, "ts", "-reply", "-in", tmp_path / "reply.tsr", "-text").stdout.decode()
    assert "Status: Granted" in text
    assert "Time-Stamping Authority" in text


def _request(digest: bytes, **extra) -> bytes:
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "cert_req": True,
        **extra,
    }).dump()


def test_tsa_grants_a_token_for_the_imprint(client):
    digest = hashlib.sha256(b"hello").digest()
    r = client.post("/tsa", content=_request(digest, nonce=42),
                    headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(r.content)
    assert reply["status"]["status"].native == "granted"
    info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 42


def test_garbage_gets_an_rfc3161_rejection_not_an_http_error(client):
    r = client.post("/tsa", content=b"not DER", headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 200
    status = TimeStampResp.load(r.content)["status"]  # asn1crypto's own wants a token
    assert status["status"].native == "rejection"
    assert "bad_data_format" in status["fail_info"].native


def test_tsa_wants_its_media_type(client):
    r = client.post("/tsa", content=_request(b"\0" * 32), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/timestamp-query" in r.json()["detail"]


def test_tsa_refuses_large_requests(client):
    r = client.post("/tsa", content=b"0" * 20_000, headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 413


def test_tsa_is_counted(client, keys):
    client.post("/tsa", content=_request(b"\0" * 32), headers={"Content-Type": "application/timestamp-query"})
    assert "edoc_tsa_requests_total 1.0" in client.get("/metrics", headers=keys.admin.headers).text


# -- /pki -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["root-ca", "issuing-ca", "tsa"])
def test_published_certificates_parse_and_match_the_home(client, api_home, name):
    der = client.get(f"/pki/{name}.crt")
    assert der.status_code == 200
    assert der.headers["content-type"] == "application/pkix-cert"
    cert = x509.load_der_x509_certificate(der.content)
    expected = getattr(api_home.pki, name.replace("-", "_")).cert
    assert cert == expected
    pem = client.get(f"/pki/{name}.pem")
    assert x509.load_pem_x509_certificate(pem.content) == expected


def test_root_certificate_is_where_the_aia_extension_points(client, api_home):
    issuing = api_home.pki.issuing_ca.cert
    aia = issuing.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    url = next(d.access_location.value for d in aia if d.access_method.dotted_string == "1.3.6.1.5.5.7.48.2")
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    r = client.get(path)
    assert r.status_code == 200
    assert x509.load_der_x509_certificate(r.content) == api_home.pki.root_ca.cert


def test_pki_index_lists_what_is_published(client):
    names = [c["name"] for c in client.get("/pki/").json()["certificates"]]
    assert names == ["root-ca", "issuing-ca", "tsa"]


@pytest.mark.parametrize("path", ["/pki/seal.key.crt", "/pki/nothing.crt", "/pki/seal.pem"])
def test_nothing_else_is_published(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


# -- CRL and OCSP (when the home provides the revocation service) -----------------------------


@pytest.fixture
def revocation_app(app):
    """The app on a home with the built-in CA, so CRLs and OCSP are served."""
    assert app.state.edoc.revocation is not None
    return app


def test_crl_is_published(revocation_app):
    from fastapi.testclient import TestClient

    with TestClient(revocation_app) as c:
        r = c.get("/pki/issuing-ca.crl")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pkix-crl"
        crl = x509.load_der_x509_crl(r.content)
        assert crl.issuer == revocation_app.state.edoc.home.pki.issuing_ca.cert.subject
        assert c.get("/pki/seal.crl").status_code == 404


def test_ocsp_answers_post_and_get(revocation_app):
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509 import ocsp
    from fastapi.testclient import TestClient

    pki = revocation_app.state.edoc.home.pki
    request = (ocsp.OCSPRequestBuilder()
               .add_certificate(pki.seal.cert, pki.issuing_ca.cert, hashes.SHA256())
               .build().public_bytes(serialization.Encoding.DER))
    with TestClient(revocation_app) as c:
        posted = c.post("/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"})
        assert posted.headers["content-type"] == "application/ocsp-response"
        answer = ocsp.load_der_ocsp_response(posted.content)
        assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
        got = c.get("/ocsp/" + base64.b64encode(request).decode())
        assert ocsp.load_der_ocsp_response(got.content).certificate_status == ocsp.OCSPCertStatus.GOOD
        bad = ocsp.load_der_ocsp_response(c.post("/ocsp", content=b"junk").content)
        assert bad.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_tsa_over_plain_httpx_against_live_server(live_server):
    reply = httpx.post(f"{live_server}/tsa", content=_request(os.urandom(32)),
                       headers={"Content-Type": "application/timestamp-query"})
    assert tsp.TimeStampResp.load(reply.content)["status"]["status"].native == "granted"
