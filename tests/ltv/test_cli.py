"""The command line for long-term validity, and independent tools on B-LT/B-LTA output."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from edoc.cli import main
from edoc.home import Home
from edoc.settings import Settings
from signing.validate import verify_pdf
from tests.signing.conftest import plain_pdf
from tests.tools import nss_db, pdfsig, require, run, write_pem


@pytest.fixture
def cli(home, capsys):
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home.path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def sealed(cli, tmp_path):
    """Seal a plain PDF at a level with ``edoc sign``; returns its path."""

    count = iter(range(100))

    def seal(level: str) -> str:
        plain = tmp_path / "plain.pdf"
        plain.write_bytes(plain_pdf())
        out = tmp_path / f"sealed-{level}-{next(count)}.pdf"
        code, _, err = cli("sign", str(plain), str(out), "--level", level)
        assert code == 0, err
        return str(out)

    return seal


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S")


def test_verify_at_a_later_date_reports_the_ades_indication_and_why(cli, sealed):
    b_t, b_lta = sealed("B-T"), sealed("B-LTA")
    after_seal_expiry = _at(timedelta(days=3 * 365 + 60))
    code, out, _ = cli("verify", "--seal-only", "--json", "--at", after_seal_expiry, b_t)
    report = json.loads(out)
    assert code == 1 and report["verdict"] == "indeterminate"
    assert report["signatures"][0]["ades_indication"] == "INDETERMINATE/OUT_OF_BOUNDS_NO_POE"
    assert report["validated_at"].startswith(after_seal_expiry[:10])
    assert any("no valid archive timestamp" in r for r in report["reasons"])
    code, out, _ = cli("verify", "--seal-only", "--at", after_seal_expiry, b_lta)
    assert code == 0, out
    assert "TOTAL_PASSED" in out and "archive timestamps prove" in out


def test_revoke_cert_for_key_compromise_spares_earlier_documents(cli, sealed, home, tmp_path):
    before = sealed("B-LT")
    time.sleep(1.1)  # timestamps have one-second resolution
    code, out, err = cli("ca", "revoke-cert", "--role", "seal", "--reason", "key-compromise")
    assert code == 0, err
    assert "revoked CN=Test Agency Electronic Seal" in out
    assert "edoc keys rollover --role seal" in out
    code, out, _ = cli("verify", "--seal-only", before)
    assert code == 0, out
    assert "because its key was compromised, but a timestamp proves" in out
    # a revoked key seals nothing more
    plain = tmp_path / "plain.pdf"
    code, _, err = cli("sign", str(plain), str(tmp_path / "late.pdf"), "--level", "B-LT")
    assert code == 1 and "edoc:" in err and "Traceback" not in err
    (entry,) = home.registry().audit.entries(event="ca.certificate-revoked")
    assert entry.details["reason"] == "key-compromise"


def test_revoke_cert_refuses_a_future_time_and_an_unknown_serial(cli):
    code, _, err = cli("ca", "revoke-cert", "--role", "tsa", "--reason", "superseded",
                       "--at", _at(timedelta(days=2)))
    assert code == 1 and "future" in err
    code, _, err = cli("ca", "revoke-cert", "--serial", "abc123", "--reason", "superseded")
    assert code == 1 and "no certificate with serial abc123" in err


def test_keys_rollover_activates_a_new_seal_and_old_documents_stay_valid(cli, sealed, home):
    old = sealed("B-LT")
    before = home.pki.seal.cert
    code, out, err = cli("keys", "rollover", "--role", "seal")
    assert code == 0, err
    assert "kept in pki/retired/" in out
    retired = list((home.settings.pki_dir / "retired").glob("seal-*.pem"))
    assert len(retired) == 2  # certificate and key
    new = sealed("B-LT")  # a new process (a new Home) uses the new key
    code, out, _ = cli("verify", "--seal-only", "--json", old, new)
    reports = json.loads(out)
    assert code == 0, out
    digests = {r["signatures"][0]["signer_certificate_sha256"] for r in reports}
    assert len(digests) == 2 and before.fingerprint(hashes.SHA256()).hex() in digests


def test_ca_crl_writes_crls_that_openssl_parses(cli, home, tmp_path):
    require("openssl")
    code, out, err = cli("ca", "crl", "--force", "--out", str(tmp_path / "crl"))
    assert code == 0, err
    assert re.search(r"issuing-ca: CRL #\d+, 0 revoked, \d+ bytes", out)
    pki = home.pki
    for name, ca in (("issuing-ca", pki.issuing_ca.cert), ("root-ca", pki.root_ca.cert)):
        cafile = write_pem(tmp_path / f"{name}.pem", [ca])
        proc = run("openssl", "crl", "-inform", "DER", "-in", tmp_path / "crl" / f"{name}.crl",
                   "-CAfile", cafile, "-noout")
        assert b"verify OK" in proc.stdout + proc.stderr


def test_archive_renew_dry_run_from_the_command_line(cli, home, sealed):
    code, out, err = cli("archive", "renew", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["checked"] == 0 and report["results"] == []
    code, _, err = cli("archive", "renew", "--before", _at(timedelta(days=20 * 365)))
    assert code == 1 and "roll the TSA key over first" in err
    code, _, err = cli("archive", "renew", "--retire", "md5=2030-01-01")
    assert code == 2 and "DIGEST=DATE" in err


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_pdfsig_still_reports_b_lt_signatures_valid(home, tmp_path, level, pki_responder):
    pki_responder.serve(home)  # NSS asks our live OCSP responder, as any relying party would
    doc = tmp_path / f"{level}.pdf"
    doc.write_bytes(home.sealer(level).seal(plain_pdf()))
    out = pdfsig(doc, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    seal, *timestamps = out.split("Signature #")[1:]
    assert "Signature Field Name: edoc-seal" in seal
    assert "Signature Validation: Signature is Valid." in seal, out
    assert "Certificate Validation: Certificate is Trusted." in seal, out
    # poppler 22 lists document timestamps but cannot check them ("unknown" type)
    assert len(timestamps) == (1 if level == "B-LTA" else 0), out


def test_b_lt_output_carries_its_validation_data(home):
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    sealed = home.sealer("B-LT").seal(plain_pdf())
    dss = DocumentSecurityStore.read_dss(PdfFileReader(BytesIO(sealed)))
    assert len(dss.ocsps) == 2  # the seal's and the TSA's
    assert len(dss.crls) == 1  # the root CA's, for the issuing CA
    crl = x509.load_der_x509_crl(dss.crls[0].get_object().data)
    assert crl.issuer == home.pki.root_ca.cert.subject


def test_pdfsig_learns_of_a_revoked_seal_from_our_responder(home, tmp_path, pki_responder):
    pki_responder.serve(home)
    doc = tmp_path / "sealed.pdf"
    doc.write_bytes(home.sealer("B-T").seal(plain_pdf()))
    home.revocation().revoke(home.pki.seal.cert, reason="key-compromise")
    out = pdfsig(doc, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    assert "Certificate has been Revoked." in out, out


def test_archive_renew_from_the_command_line_keeps_a_b_t_document_valid(cli, home, tmp_path):
    from storage.registry import DocumentRecord

    sealed = home.sealer("B-T").seal(plain_pdf())
    stored = home.store().put(sealed)
    home.registry().record_issued(
        DocumentRecord(
            id="doc-cli", agency=home.settings.agency_id, template="certificate",
            title="Certificate", lang="en", sha256=stored.sha256, size=stored.size,
            level="B-T", holder_masked="x", issued_at=datetime.now(UTC),
        )
    )
    code, out, err = cli("archive", "renew", "--before", _at(timedelta(days=3 * 365 + 30)),
                         "--json")
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["outcome"] == "renewed" and result["version"] == 2
    renewed = tmp_path / "renewed.pdf"
    renewed.write_bytes(home.store().get(result["new_sha256"]))
    later = _at(timedelta(days=3 * 365 + 60))  # after the seal certificate expired
    code, out, _ = cli("verify", "--at", later, str(renewed))
    assert code == 0, out
    old = tmp_path / "old.pdf"
    old.write_bytes(sealed)
    code, out, _ = cli("verify", "--at", later, str(old))
    assert code == 1 and "INDETERMINATE/OUT_OF_BOUNDS_NO_POE" in out


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_the_longest_agency_names_fit_the_room_reserved_for_two_timestamps(tmp_path, key_type,
                                                                         monkeypatch):
    monkeypatch.setenv("EDOC_KEY_PASSPHRASE", "long-names")
    name = "x" * 40  # "<name> Time-Stamping Authority" is then 64 bytes, the most a CN holds
    home = Home.create(Settings(home=tmp_path / "home", agency_name_en=name, key_type=key_type,
                                public_base_url="https://edoc-verification.example.go.th"))
    sealed = home.sealer("B-T").seal(plain_pdf())  # signs once, into the reserved room
    assert verify_pdf(sealed, policy=home.trust_policy()).verdict == "valid"
