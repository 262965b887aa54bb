"""Independent tools agree with us: pdfsig (poppler/NSS), openssl ts, qpdf."""

from __future__ import annotations

import pytest

from tests.tools import nss_db, pdfsig, require, run, write_pem

from .conftest import plain_pdf


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_pdfsig_reports_our_seal_valid_and_trusted(make_home, tmp_path, key_type, pki_responder):
    # pdfsig asks the OCSP responder named in the certificate, as a relying party would
    home = pki_responder.serve(make_home(key_type))
    doc = tmp_path / "sealed.pdf"
    doc.write_bytes(home.sealer().seal(plain_pdf()))
    out = pdfsig(doc, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "Total document signed" in out, out


def test_pdfsig_rejects_tampered_copy(home, tmp_path):
    sealed = home.sealer().seal(plain_pdf())
    i = sealed.index(b"Official document")
    doc = tmp_path / "tampered.pdf"
    doc.write_bytes(sealed[:i] + b"X" + sealed[i + 1 :])
    out = pdfsig(doc, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    assert "Signature is Valid." not in out


def test_pdfsig_does_not_trust_an_unknown_root(make_home, tmp_path):
    ours, stranger = make_home("ecdsa-p256"), make_home("rsa-3072")
    doc = tmp_path / "sealed.pdf"
    doc.write_bytes(stranger.sealer().seal(plain_pdf()))
    out = pdfsig(doc, nss_db(tmp_path / "nss", list(ours.pki.trust_anchors)))
    assert "Certificate is Trusted." not in out


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_qpdf_finds_no_errors_in_sealed_output(home, tmp_path, level):
    require("qpdf")
    doc = tmp_path / "sealed.pdf"
    doc.write_bytes(home.sealer(level).seal(plain_pdf(pages=3), stamp_box=(0, 300, 60, 550, 120)))
    proc = run("qpdf", "--check", doc)
    assert b"No syntax or stream encoding errors found" in proc.stdout


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_openssl_accepts_our_timestamp_tokens(home, tmp_path, digest):
    require("openssl")
    data = tmp_path / "data.bin"
    data.write_bytes(b"the document to timestamp")
    query = tmp_path / "req.tsq"
    run("openssl", "ts", "-query", "-data", data, f"-{digest}", "-cert", "-out", query)
    reply = tmp_path / "resp.tsr"
    reply.write_bytes(home.tsa.respond(query.read_bytes()))
    roots = write_pem(tmp_path / "roots.pem", list(home.pki.trust_anchors))
    chain = write_pem(tmp_path / "chain.pem", list(home.pki.tsa.chain))
    proc = run(
        "openssl", "ts", "-verify", "-in", reply, "-queryfile", query,
        "-CAfile", roots, "-untrusted", chain,
    )
    assert b"Verification: OK" in proc.stdout
    text = run("openssl", "ts", "-reply", "-in", reply, "-text").stdout.decode()
    assert "Status: Granted." in text
    assert home.settings.tsa_policy_oid in text
    assert "Nonce: 0x" in text
    assert "Accuracy: 0x01 seconds" in text or "Accuracy: 1 seconds" in text


def test_openssl_rejects_token_for_other_data(home, tmp_path):
    require("openssl")
    (tmp_path / "a.bin").write_bytes(b"original")
    (tmp_path / "b.bin").write_bytes(b"forged")
    query = tmp_path / "req.tsq"
    run("openssl", "ts", "-query", "-data", tmp_path / "a.bin", "-sha256", "-cert", "-out", query)
    reply = tmp_path / "resp.tsr"
    reply.write_bytes(home.tsa.respond(query.read_bytes()))
    roots = write_pem(tmp_path / "roots.pem", list(home.pki.trust_anchors))
    chain = write_pem(tmp_path / "chain.pem", list(home.pki.tsa.chain))
    proc = run(
        "openssl", "ts", "-verify", "-in", reply, "-data", tmp_path / "b.bin",
        "-CAfile", roots, "-untrusted", chain, check=False,
    )
    assert proc.returncode != 0
