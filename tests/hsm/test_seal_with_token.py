"""Documents sealed and timestamped with keys in the token: valid for us, pdfsig and openssl."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from edoc.errors import ConfigurationError
from edoc.home import Home
from signing.validate import verify_pdf
from tests.signing.conftest import plain_pdf
from tests.tools import nss_db, require, run, write_pem

pytestmark = pytest.mark.hsm


def pdfsig_with_ocsp(pdf: Path, nssdir: str) -> str:
    """pdfsig's report, letting it ask our test OCSP responder (see the ocsp_responder fixture)."""
    require("pdfsig")
    proc = run("pdfsig", "-nssdir", nssdir, pdf, check=False)
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_seal_with_token_key_is_valid_for_us_and_pdfsig(make_hsm_home, tmp_path, key_type):
    home = make_hsm_home(key_type)
    assert [s.source for s in home.check_keys()] == ["pkcs11", "pkcs11"]
    sealed = home.sealer().seal(plain_pdf(), stamp_box=(0, 300, 60, 550, 120))
    report = verify_pdf(sealed, policy=home.trust_policy())
    assert report.verdict == "valid", report.reasons
    (signature,) = report.signatures
    assert "Electronic Seal" in signature.signer and signature.timestamp is not None
    doc = tmp_path / "sealed.pdf"
    doc.write_bytes(sealed)
    out = pdfsig_with_ocsp(doc, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "Total document signed" in out, out


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_tsa_key_in_token_signs_tokens_openssl_accepts(make_hsm_home, tmp_path, key_type):
    require("openssl")
    home = make_hsm_home(key_type)
    data = tmp_path / "data.bin"
    data.write_bytes(b"the document to timestamp")
    query = tmp_path / "req.tsq"
    run("openssl", "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
    reply = tmp_path / "resp.tsr"
    reply.write_bytes(home.tsa.respond(query.read_bytes()))
    roots = write_pem(tmp_path / "roots.pem", list(home.pki.trust_anchors))
    chain = write_pem(tmp_path / "chain.pem", list(home.pki.tsa.chain))
    proc = run(
        "openssl",
        "ts",
        "-verify",
        "-in",
        reply,
        "-queryfile",
        query,
        "-CAfile",
        roots,
        "-untrusted",
        chain,
    )
    assert b"Verification: OK" in proc.stdout
    text = run("openssl", "ts", "-reply", "-in", reply, "-text").stdout.decode()
    assert "Time-Stamping Authority" in text  # the TSA name is that of the token key's certificate


def test_seal_in_token_with_tsa_key_in_a_file(make_hsm_home):
    home = make_hsm_home("rsa-3072", tsa_in_token=False)
    assert [s.source for s in home.check_keys()] == ["pkcs11", "file"]
    report = verify_pdf(home.sealer().seal(plain_pdf()), policy=home.trust_policy())
    assert report.verdict == "valid", report.reasons


def test_sealing_from_many_threads(make_hsm_home):
    home = make_hsm_home("ecdsa-p256")
    sealer = home.sealer()
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(3):
                results.append(sealer.seal(plain_pdf(f"document {n}-{i}")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 18
    policy = home.trust_policy()
    assert {verify_pdf(pdf, policy=policy).verdict for pdf in results} == {"valid"}


def test_wrong_pin_stops_the_home_at_start_up(make_hsm_home, monkeypatch):
    home = make_hsm_home("ecdsa-p256")
    monkeypatch.setenv("EDOC_PKCS11_PIN", "not-the-pin")
    fresh = Home.open(home.settings)
    with pytest.raises(ConfigurationError, match="wrong PIN"):
        fresh.check_keys()


def test_missing_key_label_stops_the_home_at_start_up(make_hsm_home):
    home = make_hsm_home("ecdsa-p256")
    broken = Home.open(home.settings.model_copy(update={"pkcs11_seal_key_label": "gone"}))
    with pytest.raises(ConfigurationError, match="no private key with label 'gone'"):
        broken.check_keys()


def test_missing_token_stops_the_home_at_start_up(make_hsm_home):
    home = make_hsm_home("ecdsa-p256")
    broken = Home.open(home.settings.model_copy(update={"pkcs11_token_label": "unplugged"}))
    with pytest.raises(ConfigurationError, match="no token labelled 'unplugged'"):
        broken.check_keys()


def test_token_key_that_does_not_match_the_certificate_is_refused(make_hsm_home, token_keys):
    home = make_hsm_home("ecdsa-p256")
    # the TSA key of the same type is in the token, but seal.pem certifies another key
    swapped = home.settings.model_copy(
        update={"pkcs11_seal_key_label": token_keys["tsa-ecdsa-p256"]}
    )
    with pytest.raises(ConfigurationError, match="does not belong to the certificate"):
        Home.open(swapped).check_keys()


def test_issue_a_document_with_the_seal_in_the_token(make_hsm_home):
    home = make_hsm_home("rsa-3072", public_base_url="https://edoc.example.go.th")
    if not hasattr(home, "issuer"):
        pytest.skip("issuance is not built yet")
    examples = Path(__file__).parents[2] / "edoc" / "builtin_templates" / "letter" / "examples"
    data = json.loads((examples / "th.json").read_text(encoding="utf-8"))
    lang = data.pop("lang", None)
    issued = home.issuer().issue("letter", data, lang=lang, idempotency_key="hsm-0001")
    pdf = home.issuer().pdf(issued.record)
    report = verify_pdf(pdf, policy=home.trust_policy())
    assert report.verdict == "valid", report.reasons


def test_ecdsa_seal_with_an_rsa_tsa_key_in_the_token(make_hsm_home, token_keys):
    # hsm-init lets the two roles have different key types; the timestamp token
    # inside the seal is then RSA-sized
    home = make_hsm_home("ecdsa-p256", pkcs11_tsa_key_label=token_keys["tsa-rsa-3072"])
    report = verify_pdf(home.sealer().seal(plain_pdf()), policy=home.trust_policy())
    assert report.verdict == "valid", report.reasons
