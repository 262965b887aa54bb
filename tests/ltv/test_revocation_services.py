"""The built-in CA's revocation services: CRLs, the OCSP responder, the revocation record."""

from __future__ import annotations

import base64
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from certs.revocation import RevocationError, RevocationService
from tests.tools import require, run, write_pem

from .conftest import DAY, PASSPHRASE, hours_ago


@pytest.fixture
def world(world_factory):
    return world_factory(hours_ago(24)).at(hours_ago(0))


def _request(cert, issuer, *, nonce: bytes | None = None, algorithm=None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm or hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _answer(world, cert, **kwargs) -> ocsp.OCSPResponse:
    der = world.revocation.ocsp_response(_request(cert, world.pki.issuing_ca.cert, **kwargs))
    return ocsp.load_der_ocsp_response(der)


def test_ocsp_says_good_for_a_current_certificate(world):
    answer = _answer(world, world.pki.seal.cert)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == world.pki.seal.cert.serial_number
    responder = world.pki.ocsp.cert
    assert answer.certificates == [responder]
    responder.public_key().verify(  # signed by the delegated responder
        answer.signature, answer.tbs_response_bytes, ec.ECDSA(answer.signature_hash_algorithm)
    )
    assert answer.next_update_utc - answer.this_update_utc == DAY


def test_ocsp_says_revoked_with_time_and_reason(world):
    when = world.clock.now - timedelta(hours=3)
    world.revocation.revoke(world.pki.tsa.cert, reason="key-compromise", at=when)
    answer = _answer(world, world.pki.tsa.cert)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_time_utc == when
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise


def test_ocsp_says_unknown_for_a_serial_the_ca_never_issued(world):
    issuer = world.pki.issuing_ca.cert
    der = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        _name_hash(issuer), _key_hash(issuer), 123456789, hashes.SHA1()
    ).build().public_bytes(serialization.Encoding.DER)
    answer = ocsp.load_der_ocsp_response(world.revocation.ocsp_response(der))
    assert answer.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def _name_hash(issuer) -> bytes:
    h = hashes.Hash(hashes.SHA1())
    h.update(issuer.subject.public_bytes())
    return h.finalize()


def _key_hash(issuer) -> bytes:
    from asn1crypto import x509 as asn1_x509

    parsed = asn1_x509.Certificate.load(issuer.public_bytes(serialization.Encoding.DER))
    h = hashes.Hash(hashes.SHA1())
    h.update(parsed.public_key["public_key"].contents[1:])
    return h.finalize()


def test_ocsp_echoes_the_nonce_and_accepts_sha256_ids(world):
    answer = _answer(world, world.pki.seal.cert, nonce=b"0123456789abcdef", algorithm=hashes.SHA256())
    nonce = answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    assert nonce == b"0123456789abcdef"
    assert isinstance(answer.hash_algorithm, hashes.SHA256)


@pytest.mark.parametrize("garbage", [b"", b"\x30\x03\x02\x01\x01", b"not der at all" * 10])
def test_garbage_request_gets_malformed_request_not_an_exception(world, garbage):
    answer = ocsp.load_der_ocsp_response(world.revocation.ocsp_response(garbage))
    assert answer.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_request_about_another_ca_is_unauthorized(world, world_factory):
    other = world_factory(hours_ago(24))
    der = _request(other.pki.seal.cert, other.pki.issuing_ca.cert)
    answer = ocsp.load_der_ocsp_response(world.revocation.ocsp_response(der))
    assert answer.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_revocation_regenerates_the_crl_with_a_higher_number(world):
    first = x509.load_der_x509_crl(world.revocation.current_crl("issuing-ca"))
    world.revocation.revoke(world.pki.seal.cert, reason="superseded")
    second = x509.load_der_x509_crl(world.revocation.current_crl("issuing-ca"))
    assert _number(second) > _number(first)
    entry = second.get_revoked_certificate_by_serial_number(world.pki.seal.cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.superseded
    )
    assert second.is_signature_valid(world.pki.issuing_ca.cert.public_key())


def _number(crl) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_crl_is_regenerated_when_it_gets_old(world):
    first = world.revocation.current_crl("root-ca")
    assert world.revocation.current_crl("root-ca") == first  # not due yet: the same bytes
    world.at(world.clock.now + 2 * DAY)
    renewed = x509.load_der_x509_crl(world.revocation.current_crl("root-ca"))
    assert renewed.last_update_utc == world.clock.now
    assert renewed.next_update_utc == world.clock.now + 7 * DAY


def test_a_revocation_made_by_another_process_reaches_the_served_crl(world):
    served = RevocationService(world.dir, passphrase=PASSPHRASE, clock=world.clock)
    assert len(x509.load_der_x509_crl(served.current_crl("issuing-ca"))) == 0
    world.revocation.revoke(world.pki.tsa.cert, reason="cessation-of-operation")
    assert len(x509.load_der_x509_crl(served.current_crl("issuing-ca"))) == 1
    assert served.status(world.pki.tsa.cert).status == "revoked"


def test_openssl_parses_our_crls(world, tmp_path):
    require("openssl")
    world.revocation.revoke(world.pki.seal.cert, reason="key-compromise")
    for name in ("issuing-ca", "root-ca"):
        path = tmp_path / f"{name}.crl"
        path.write_bytes(world.revocation.current_crl(name))
        ca = write_pem(tmp_path / f"{name}.pem", [getattr(world.pki, name.replace("-", "_")).cert])
        out = run("openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", ca, "-noout", "-text")
        text = out.stdout.decode() + out.stderr.decode()
        assert "verify OK" in text
        assert "CRL Number" in text
    text = run("openssl", "crl", "-inform", "DER", "-in", tmp_path / "issuing-ca.crl", "-noout",
               "-text").stdout.decode()
    assert f"{world.pki.seal.cert.serial_number:X}" in text
    assert "Key Compromise" in text


def test_key_compromise_moves_an_earlier_revocation_back(world):
    cert = world.pki.seal.cert
    world.revocation.revoke(cert, reason="superseded")
    earlier = world.clock.now - timedelta(hours=5)
    rev = world.revocation.revoke(cert, reason="key-compromise", at=earlier)
    assert (rev.reason, rev.revoked_at) == ("key-compromise", earlier)
    # anything else does not undo or move it
    again = world.revocation.revoke(cert, reason="superseded")
    assert (again.reason, again.revoked_at) == ("key-compromise", earlier)


def test_revocation_time_in_the_future_is_refused(world):
    with pytest.raises(RevocationError, match="future"):
        world.revocation.revoke(world.pki.seal.cert, reason="superseded",
                                at=world.clock.now + DAY)


def test_only_certificates_of_our_ca_can_be_revoked(world, world_factory):
    other = world_factory(hours_ago(24))
    with pytest.raises(RevocationError, match="not issued by"):
        world.revocation.revoke(other.pki.seal.cert, reason="superseded")
    with pytest.raises(RevocationError, match="unknown reason"):
        world.revocation.revoke(world.pki.seal.cert, reason="certificate-hold")


# -- the live responder, asked by openssl over HTTP ---------------------------------


@pytest.fixture
def responder_url(world):
    """``POST /ocsp`` and ``GET /ocsp/{base64}`` on loopback, answering with our pure function."""
    service = world.revocation

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, der: bytes) -> None:
            body = service.ocsp_response(der)
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def do_GET(self):  # noqa: N802
            encoded = urllib.parse.unquote(self.path.split("/ocsp/", 1)[1])
            self._answer(base64.b64decode(encoded))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ocsp"
    server.shutdown()
    server.server_close()


def _openssl_ocsp(world, tmp_path, url, cert) -> str:
    require("openssl")
    issuer = write_pem(tmp_path / "issuer.pem", [world.pki.issuing_ca.cert])
    target = write_pem(tmp_path / "target.pem", [cert])
    roots = write_pem(tmp_path / "roots.pem", [world.pki.root_ca.cert])
    proc = run(
        "openssl", "ocsp", "-issuer", issuer, "-cert", target, "-url", url,
        "-CAfile", roots, "-resp_text",
    )
    return proc.stdout.decode() + proc.stderr.decode()


def test_openssl_ocsp_accepts_a_good_answer_from_the_live_responder(world, tmp_path, responder_url):
    out = _openssl_ocsp(world, tmp_path, responder_url, world.pki.seal.cert)
    assert "Response verify OK" in out, out
    assert "target.pem: good" in out, out
    assert "WARNING: no nonce" not in out  # openssl sends a nonce by default; we echo it


def test_openssl_ocsp_accepts_a_revoked_answer_from_the_live_responder(world, tmp_path, responder_url):
    world.revocation.revoke(world.pki.tsa.cert, reason="key-compromise")
    out = _openssl_ocsp(world, tmp_path, responder_url, world.pki.tsa.cert)
    assert "Response verify OK" in out, out
    assert "target.pem: revoked" in out, out
    assert "Reason: keyCompromise" in out, out


def test_evidence_says_nothing_about_expired_certificates(world_factory):
    start = hours_ago(4 * 365 * 24)
    world = world_factory(start)
    seal = world.pki.seal.cert
    later = start + 3 * 365 * DAY + 30 * DAY
    world.at(later)
    found = world.revocation.evidence(at=later)
    answers = [ocsp.load_der_ocsp_response(der) for der in found.ocsps]
    assert seal.serial_number not in {a.serial_number for a in answers}
    assert world.pki.tsa.cert.serial_number in {a.serial_number for a in answers}
    assert all(a.this_update_utc == later for a in answers)
    assert [x509.load_der_x509_crl(c).issuer for c in found.crls] == [world.pki.root_ca.cert.subject]


def test_the_ca_answers_itself_when_no_responder_certificate_is_valid(world):
    when = datetime.now(UTC) + 3 * 365 * DAY  # the responder certificate lasts a year
    answers = [ocsp.load_der_ocsp_response(d) for d in world.revocation.evidence(at=when).ocsps]
    issuing = world.pki.issuing_ca.cert
    assert answers and all(a.certificates == [issuing] for a in answers)
    assert all(a.this_update_utc == when.replace(microsecond=0) for a in answers)
