"""The built-in PKI: what each certificate may do, how keys are kept, and importing an agency's own."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from certs.errors import KeyLoadError
from certs.keys import load_private_key
from certs.pki import create_builtin_pki, import_seal
from edoc.verification import Verifier
from tests.signing.conftest import plain_pdf

ROLES = ("root-ca", "issuing-ca", "seal", "tsa", "ocsp")


@pytest.mark.parametrize("key_type,key_class", [("ecdsa-p256", ec.EllipticCurvePrivateKey), ("rsa-3072", rsa.RSAPrivateKey),
                                                ("rsa-2048", rsa.RSAPrivateKey)])
def test_keys_are_encrypted_pkcs8_readable_only_by_owner(make_home, key_type, key_class):
    home = make_home(key_type)
    for role in ROLES:
        path = home.settings.pki_dir / f"{role}.key.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        key = load_private_key(path, passphrase=home.settings.passphrase())
        assert isinstance(key, key_class)
    if key_type.startswith("rsa-"):
        assert home.pki.seal.cert.public_key().key_size == int(key_type[4:])


def test_wrong_passphrase_is_a_clear_error(home):
    with pytest.raises(KeyLoadError, match="wrong passphrase"):
        load_private_key(home.settings.pki_dir / "seal.key.pem", passphrase=b"nope")
    with pytest.raises(KeyLoadError, match="EDOC_KEY_PASSPHRASE"):
        load_private_key(home.settings.pki_dir / "seal.key.pem", passphrase=None)


def test_tsa_certificate_has_critical_time_stamping_eku_only(home):
    eku = home.pki.tsa.cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_ocsp_responder_is_delegated_and_nocheck(home):
    cert = home.pki.ocsp.cert
    eku = cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
    assert cert.extensions.get_extension_for_oid(ExtensionOID.OCSP_NO_CHECK)
    assert cert.issuer == home.pki.issuing_ca.cert.subject


def test_seal_certificate_is_for_non_repudiation_and_points_to_revocation_services(home):
    cert = home.pki.seal.cert
    ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    base = home.settings.public_base_url
    aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    urls = {d.access_location.value for d in aia}
    assert urls == {f"{base}/ocsp", f"{base}/pki/issuing-ca.crt"}
    crldp = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    assert crldp[0].full_name[0].value == f"{base}/pki/issuing-ca.crl"


def test_validity_nests_inside_the_issuers(home):
    pki = home.pki
    root, ca = pki.root_ca.cert, pki.issuing_ca.cert
    assert root.not_valid_after_utc - root.not_valid_before_utc > timedelta(days=365 * 19)
    for cred in (pki.seal, pki.tsa, pki.ocsp):
        assert cred.cert.not_valid_after_utc <= ca.not_valid_after_utc <= root.not_valid_after_utc
    bc = ca.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    assert bc.ca and bc.path_length == 0


def test_thai_agency_name_is_kept_in_certificates(tmp_path):
    pki = create_builtin_pki(
        tmp_path / "pki", agency="กรมการปกครอง", public_base_url="https://edoc.example.go.th",
        key_type="ecdsa-p256", passphrase=b"x",
    )
    cn = pki.seal.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "กรมการปกครอง Electronic Seal"
    with pytest.raises(FileExistsError):
        create_builtin_pki(
            tmp_path / "pki", agency="x", public_base_url="https://x", key_type="ecdsa-p256",
            passphrase=b"x",
        )


def test_import_seal_from_pkcs12_then_seal_and_verify(make_home, tmp_path):
    agency = make_home("rsa-3072")  # plays the agency's own CA
    key = load_private_key(agency.settings.pki_dir / "seal.key.pem", passphrase=agency.settings.passphrase())
    p12 = tmp_path / "agency.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, agency.pki.seal.cert, list(agency.pki.seal.chain),
            serialization.BestAvailableEncryption(b"p12-pass"),
        )
    )
    target = make_home("ecdsa-p256")
    pki = import_seal(
        target.settings.pki_dir, passphrase=target.settings.passphrase(),
        pkcs12_path=p12, pkcs12_password=b"p12-pass",
    )
    assert pki.seal.cert == agency.pki.seal.cert
    fresh = type(target)(target.settings)
    report = Verifier(policy=fresh.trust_policy()).verify(fresh.sealer("B-B").seal(plain_pdf()))
    assert report.verdict == "valid", report.reasons


def test_import_refuses_key_that_does_not_match_certificate(make_home, tmp_path):
    a, b = make_home("ecdsa-p256"), make_home("rsa-3072")
    with pytest.raises(KeyLoadError, match="does not belong"):
        import_seal(
            tmp_path / "pki", passphrase=b"x",
            key_path=a.settings.pki_dir / "seal.key.pem", key_passphrase=a.settings.passphrase(),
            cert_path=b.settings.pki_dir / "seal.pem",
        )


def test_certificate_files_are_public_pem(home):
    for role in ROLES:
        certs = x509.load_pem_x509_certificates((home.settings.pki_dir / f"{role}.pem").read_bytes())
        assert certs[-1].subject == home.pki.root_ca.cert.subject or role == "root-ca"


def test_a_secret_created_by_racing_processes_is_one_secret(tmp_path):
    import multiprocessing as mp

    path = tmp_path / "secrets" / "holder-link-key"
    with mp.get_context("fork").Pool(6) as pool:
        values = pool.map(_create_secret, [str(path)] * 24)
    assert len(set(values)) == 1 and values[0] == path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["holder-link-key"]  # no temp files left


def _create_secret(path: str) -> bytes:
    import os
    from pathlib import Path

    from certs.keys import create_private_file_once

    return create_private_file_once(Path(path), os.urandom(32))
