"""Onboarding and running agencies with `edoc agency ...`: seals from the built-in CA or an
outside CA, disabling, key rotation, templates, and each agency's own audit chain."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certs.keys import save_certificates
from edoc.agencies import AgencyService
from edoc.templates import BUILTIN_DIR
from edoc.verification import Verifier
from storage.models import audit_entries

THAI, ENGLISH = "กรมการปกครอง", "Department of Provincial Administration"


def _example(home, agency=None):
    return dict(home.templates(agency).get("certificate").examples["th"])


def _add(run_edoc, home, agency="dopa", *extra):
    code, out, err = run_edoc(home, "agency", "add", agency, "--name-th", THAI, "--name-en", ENGLISH,
                              "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_add_prints_the_first_admin_key_once_and_list_show_it(home, run_edoc):
    made = _add(run_edoc, home)
    assert made["id"] == "dopa" and made["secret"].startswith("edoc_")
    key = home.registry().authenticate(made["secret"])
    assert key.agency == "dopa" and key.roles == {"admin"}
    code, out, _ = run_edoc(home, "agency", "list", "--json")
    assert {a["id"] for a in json.loads(out)} == {"dopa", "test-agency"}
    assert made["secret"] not in out
    code, out, _ = run_edoc(home, "agency", "show", "dopa", "--json")
    seal = json.loads(out)["seal"]
    assert f"CN={ENGLISH} Electronic Seal" in seal["subject"]
    assert "Issuing CA" in seal["issuer"]
    # the seal key is PKCS#8, encrypted under the home's passphrase
    assert b"ENCRYPTED PRIVATE KEY" in (home.path / "agencies" / "dopa" / "seal.key.pem").read_bytes()
    code, _, err = run_edoc(home, "agency", "add", "dopa", "--name-th", THAI, "--name-en", ENGLISH)
    assert code == 1 and "exists already" in err
    code, _, err = run_edoc(home, "agency", "add", "Bad Id!", "--name-th", THAI, "--name-en", ENGLISH)
    assert code == 1 and "agency id" in err


def test_documents_are_sealed_with_their_own_agencys_key(home, run_edoc, tmp_path):
    _add(run_edoc, home)
    code, out, err = run_edoc(home, "issue", "certificate", "--example", "--agency", "dopa",
                              "--out", str(tmp_path / "a.pdf"))
    assert code == 0, err
    code, out, _ = run_edoc(home, "verify", str(tmp_path / "a.pdf"))
    assert code == 0 and f"Sealed by {ENGLISH} Electronic Seal" in out
    mine = home.issuer().issue("certificate", _example(home))
    report = Verifier.for_home(home).verify(home.issuer().pdf(mine.record))
    assert "Test Agency Electronic Seal" in report.reasons[0]
    code, _, err = run_edoc(home, "issue", "certificate", "--example", "--agency", "nobody")
    assert code == 1 and "no agency 'nobody'" in err


def test_a_disabled_agency_issues_nothing_but_its_documents_still_verify(home, run_edoc, tmp_path):
    _add(run_edoc, home)
    doc = home.issuer("dopa").issue("certificate", _example(home))
    pdf = home.issuer().pdf(doc.record)
    assert run_edoc(home, "agency", "disable", "dopa")[0] == 0
    code, _, err = run_edoc(home, "issue", "certificate", "--example", "--agency", "dopa")
    assert code == 1 and "disabled" in err
    report = Verifier.for_home(home).verify(pdf)
    assert report.verdict == "valid" and report.registry.status == "issued"
    home.issuer().revoke(doc.id, reason="replaced")
    assert Verifier.for_home(home).verify(pdf).registry.status == "revoked"
    assert run_edoc(home, "agency", "enable", "dopa")[0] == 0
    assert run_edoc(home, "issue", "certificate", "--example", "--agency", "dopa")[0] == 0


def test_key_rotation_keeps_old_documents_verifying(home, run_edoc):
    _add(run_edoc, home)
    before = home.issuer("dopa").issue("certificate", _example(home))
    old_cert = home.sealer(agency="dopa").signer.signing_cert
    code, out, err = run_edoc(home, "agency", "rotate-key", "dopa")
    assert code == 0, err
    home.forget_agency("dopa")  # another process rotated: this one reloads (as it does within 2 s)
    after = home.issuer("dopa").issue("certificate", _example(home))
    assert home.sealer(agency="dopa").signer.signing_cert.serial_number != old_cert.serial_number
    verifier = Verifier.for_home(home)
    for doc in (before, after):
        assert verifier.verify(home.issuer().pdf(doc.record)).verdict == "valid"
    assert list((home.path / "agencies" / "dopa" / "retired").glob("seal-*.key.pem"))


def _outside_ca(tmp_path):
    """A CA that has nothing to do with edoc: a root, as another agency's PKI would have."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outside Test Root CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Outside CA")])
    now = datetime.now(UTC)
    root = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, root


def _answer(csr_pem: bytes, ca_key, root) -> x509.Certificate:
    csr = x509.load_pem_x509_csr(csr_pem)
    assert csr.is_signature_valid
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(root.subject)
            .public_key(csr.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def test_a_csr_signed_by_an_outside_ca_is_imported(home, run_edoc, tmp_path):
    made = _add(run_edoc, home, "ext", "--external-ca")
    assert made["csr"].startswith("-----BEGIN CERTIFICATE REQUEST")
    code, _, err = run_edoc(home, "issue", "certificate", "--example", "--agency", "ext")
    assert code == 1 and "no seal certificate yet" in err
    code, csr_pem, _ = run_edoc(home, "agency", "csr", "ext")
    assert code == 0
    ca_key, root = _outside_ca(tmp_path)
    cert = _answer(csr_pem.encode(), ca_key, root)
    cert_file, chain_file = tmp_path / "ext.pem", tmp_path / "chain.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    save_certificates(chain_file, [root])
    # not trusted yet: refused
    code, _, err = run_edoc(home, "agency", "import-cert", "ext", str(cert_file), "--chain", str(chain_file))
    assert code == 1 and "trusted root" in err
    # a certificate for another key: refused
    stranger = _answer(x509.CertificateSigningRequestBuilder().subject_name(cert.subject).sign(
        ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()).public_bytes(serialization.Encoding.PEM),
        ca_key, root)
    (tmp_path / "stranger.pem").write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
    save_certificates(home.settings.pki_dir / "trust" / "outside-root.pem", [root])
    code, _, err = run_edoc(home, "agency", "import-cert", "ext", str(tmp_path / "stranger.pem"),
                            "--chain", str(chain_file))
    assert code == 1 and "does not match" in err
    code, out, err = run_edoc(home, "agency", "import-cert", "ext", str(cert_file), "--chain", str(chain_file))
    assert code == 0, err
    home.__dict__.pop("pki", None)  # the new trust anchor, as a new process sees it
    doc = home.issuer("ext").issue("certificate", _example(home))
    report = Verifier.for_home(home).verify(home.issuer().pdf(doc.record))
    assert report.verdict == "valid", report.reasons
    assert f"{ENGLISH} Electronic Seal" in report.reasons[0]


def test_templates_are_validated_and_the_agencys_own(home, run_edoc, tmp_path):
    _add(run_edoc, home)
    mine = tmp_path / "permit"
    shutil.copytree(BUILTIN_DIR / "certificate", mine)
    spec = json.loads((mine / "template.json").read_text())
    spec["name"] = "permit"
    (mine / "template.json").write_text(json.dumps(spec, ensure_ascii=False))
    broken = tmp_path / "broken"
    shutil.copytree(mine, broken)
    bad = dict(spec, holder_field="nobody.name", name="broken")
    (broken / "template.json").write_text(json.dumps(bad, ensure_ascii=False))
    code, _, err = run_edoc(home, "agency", "template", "dopa", str(broken))
    assert code == 1 and "holder_field" in err
    code, out, err = run_edoc(home, "agency", "template", "dopa", str(mine))
    assert code == 0, err
    assert "permit" in home.templates("dopa").names()
    assert "permit" not in home.templates().names()  # the other agency does not get it
    doc = home.issuer("dopa").issue("permit", _example(home))
    assert doc.record.template == "permit"


def test_each_agency_verifies_its_own_chain_and_a_rewrite_is_found(home, run_edoc):
    _add(run_edoc, home)
    home.issuer("dopa").issue("certificate", _example(home))
    home.issuer().issue("certificate", _example(home))
    assert run_edoc(home, "audit", "anchor")[0] == 0
    code, out, _ = run_edoc(home, "agency", "audit-verify", "dopa")
    assert code == 0 and "intact" in out and "checkpoint" in out
    registry = home.registry()
    # someone rewrites one of dopa's entries: dopa's auditors find it with dopa's entries alone
    row = registry.audit.entries(agency="dopa", event="document.issued")[0]
    with registry.engine.begin() as conn:
        conn.execute(sa.update(audit_entries).where(audit_entries.c.seq == row.seq).values(actor="someone-else"))
    code, out, _ = run_edoc(home, "agency", "audit-verify", "dopa")
    assert code == 1 and "changed" in out
    assert run_edoc(home, "agency", "audit-verify", "test-agency")[0] == 0


def test_cutting_an_agencys_tail_behind_a_checkpoint_is_found(home, run_edoc):
    from storage.models import agency_audit_links

    _add(run_edoc, home)
    home.issuer("dopa").issue("certificate", _example(home))
    assert run_edoc(home, "audit", "anchor")[0] == 0
    registry = home.registry()
    last = registry.agency_audit.heads()["dopa"][0]
    with registry.engine.begin() as conn:
        seq = conn.execute(sa.select(agency_audit_links.c.seq).where(
            agency_audit_links.c.agency == "dopa", agency_audit_links.c.aseq == last)).scalar_one()
        conn.execute(sa.delete(agency_audit_links).where(agency_audit_links.c.seq == seq))
        conn.execute(sa.delete(audit_entries).where(audit_entries.c.seq == seq))
    report = registry.agency_audit.verify("dopa")
    assert not report.ok and "tail was cut" in report.reason


def test_the_agency_service_refuses_platform_keys_and_unknown_agencies(home):
    service = AgencyService(home)
    with pytest.raises(Exception, match="platform"):
        service.create_key("test-agency", roles={"platform"}, label="x")
    with pytest.raises(Exception, match="no agency"):
        service.create_key("nobody", roles={"issuer"}, label="x")


def test_platform_key_command(home, run_edoc):
    code, out, _ = run_edoc(home, "platform-key", "--json")
    made = json.loads(out)
    key = home.registry().authenticate(made["secret"])
    assert key.roles == {"platform"} and key.agency == "_platform"
    with pytest.raises(SystemExit) as exc:  # never an agency key's role
        run_edoc(home, "keys", "create", "--role", "platform")
    assert exc.value.code == 2


def test_the_first_agency_rotates_too_and_keeps_its_documents(home, run_edoc):
    before = home.issuer().issue("certificate", _example(home))
    old_serial = home.pki.seal.cert.serial_number
    code, _, err = run_edoc(home, "agency", "rotate-key", "test-agency")
    assert code == 0, err
    home.forget_agency("test-agency")
    after = home.issuer().issue("certificate", _example(home))
    verifier = Verifier.for_home(home)
    for doc in (before, after):
        assert verifier.verify(home.issuer().pdf(doc.record)).verdict == "valid"
    assert home.pki.seal.cert.serial_number != old_serial  # the home's seal.pem is the new one
    assert list((home.settings.pki_dir / "retired").glob("seal-*.pem"))


def test_an_agency_with_its_own_default_level_b_lt(home, run_edoc):
    _add(run_edoc, home, "lta", "--level", "B-LT")
    doc = home.issuer("lta").issue("certificate", _example(home))
    assert doc.record.level == "B-LT"
    report = Verifier.for_home(home).verify(home.issuer().pdf(doc.record))
    assert report.verdict == "valid", report.reasons


def test_the_first_key_edoc_serve_prints_is_the_first_agencys_admin_not_a_platform_key(home):
    from edoc.cli.serve_cmd import ensure_first_admin

    secret = ensure_first_admin(home)
    key = home.registry().authenticate(secret)
    assert key.roles == {"admin"} and key.agency == "test-agency"
    assert ensure_first_admin(home) is None  # once
