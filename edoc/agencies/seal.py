"""An agency's seal: its key (an encrypted file, or a PKCS#11 token key) and certificate.

Files of agency ``ID`` live in ``agencies/ID/`` in the home: ``seal.pem`` (the
certificate and its chain), ``seal.key.pem`` (PKCS#8, encrypted under the
home's passphrase), ``seal.csr.pem`` (a request for an outside CA) and
``retired/`` (earlier certificates and keys, kept so old documents verify).
The platform's first agency keeps the home's own ``pki/`` folder.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from certs.errors import KeyLoadError
from certs.keys import (
    KeyType,
    generate_private_key,
    load_certificates,
    load_private_key,
    save_certificates,
    save_private_key,
)
from certs.pki import Credential, Pki
from certs.profiles import PkiUrls, build_certificate, subject_name
from storage.agencies import AgencyRecord

from ..errors import ConfigurationError, EdocError

CERT, KEY, CSR = "seal.pem", "seal.key.pem", "seal.csr.pem"


class SealProblem(EdocError):
    """An agency's seal key or certificate cannot be used as asked."""

    kind = "seal-invalid"
    http_status = 422


def seal_folder(home_path: Path, record: AgencyRecord) -> Path:
    """The folder holding ``record``'s seal files."""
    return home_path / record.seal_dir


def seal_subject(record: AgencyRecord) -> x509.Name:
    """The name the agency's seal certificate carries."""
    return subject_name(f"{record.name_en} Electronic Seal", record.name_en)


def load_credential(folder: Path) -> Credential | None:
    """The current seal certificate and chain in ``folder`` (None before a certificate is installed)."""
    cert_path = folder / CERT
    if not cert_path.exists():
        return None
    certs = load_certificates(cert_path)
    key = folder / KEY
    return Credential(certs[0], tuple(certs[1:]), key if key.exists() else None)


def spki(public_key) -> bytes:
    """DER SubjectPublicKeyInfo of a public key (compares keys of any type)."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def new_file_key(folder: Path, *, key_type: KeyType, passphrase: bytes, name: str = KEY):
    """Generate a seal key and store it encrypted in ``folder``; returns its public key."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    key = generate_private_key(key_type)
    save_private_key(folder / name, key, passphrase=passphrase)
    return key.public_key()


def builtin_certificate(
    pki: Pki, record: AgencyRecord, public_key, *, passphrase: bytes, public_base_url: str,
    now: datetime | None = None,
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """Have the platform's built-in issuing CA certify an agency's seal key."""
    if pki.issuing_ca is None or pki.issuing_ca.key_path is None:
        raise ConfigurationError(
            "this platform has no built-in issuing CA: create the agency with --external-ca and "
            "have its CA answer `edoc agency csr`"
        )
    ca_key = pki.issuing_ca.load_key(passphrase)
    cert = build_certificate(
        "seal", subject=seal_subject(record), public_key=public_key,
        issuer_name=pki.issuing_ca.cert.subject, issuer_key=ca_key, urls=PkiUrls(public_base_url),
        issuer_label="issuing-ca", now=now or datetime.now(UTC),
    )
    # a copy beside the CA, so its OCSP responder and CRLs know the certificate
    issued = pki.directory / "issued"
    issued.mkdir(exist_ok=True)
    save_certificates(issued / f"seal-{record.id}-{cert.serial_number:x}.pem", [cert])
    return cert, [pki.issuing_ca.cert, *pki.issuing_ca.chain]


def install(folder: Path, cert: x509.Certificate, chain: list[x509.Certificate], *, now: datetime | None = None,
            new_key: str | None = None) -> None:
    """Make ``cert`` the agency's seal certificate; the previous one (and key) go to ``retired/``.

    ``new_key``: the file name of a freshly generated key that becomes ``seal.key.pem``.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    retired = folder / "retired"
    if (folder / CERT).exists():
        retired.mkdir(exist_ok=True)
        (folder / CERT).rename(retired / f"seal-{stamp}.pem")
        if new_key is not None and (folder / KEY).exists():
            (folder / KEY).rename(retired / f"seal-{stamp}.key.pem")
    if new_key is not None and new_key != KEY:
        (folder / new_key).rename(folder / KEY)
    save_certificates(folder / CERT, [cert, *[c for c in chain if c != cert]])


def write_csr(folder: Path, record: AgencyRecord, *, key=None, token_key=None, passphrase: bytes | None = None) -> bytes:
    """A PKCS#10 request for the agency's seal key, written to ``seal.csr.pem``; returns its PEM."""
    if token_key is not None:
        from certs.pkcs11 import build_csr

        csr = build_csr(token_key, seal_subject(record))
    else:
        if key is None:
            key = load_private_key(folder / KEY, passphrase=passphrase)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(seal_subject(record))
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256())
        )
    pem = csr.public_bytes(serialization.Encoding.PEM)
    (folder / CSR).write_bytes(pem)
    return pem


def check_answer(
    cert: x509.Certificate, chain: list[x509.Certificate], *, public_key, trust_anchors,
) -> None:
    """Check an outside CA's certificate: it certifies ``public_key`` and chains to a trusted root."""
    if spki(cert.public_key()) != spki(public_key):
        raise SealProblem("the certificate does not match the agency's seal key (was it issued for "
                          "another request?)")
    if not trust_anchors:
        raise SealProblem("the platform trusts no root yet: add the outside CA's root first")
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    def der(c: x509.Certificate) -> bytes:
        return c.public_bytes(serialization.Encoding.DER)

    from asn1crypto import x509 as asn1_x509

    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(der(c)) for c in trust_anchors],
        allow_fetching=False, revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        asn1_x509.Certificate.load(der(cert)),
        intermediate_certs=[asn1_x509.Certificate.load(der(c)) for c in chain],
        validation_context=context,
    )
    try:
        asyncio.run(validator.async_validate_usage({"digital_signature"}))
    except (PathBuildingError, PathValidationError) as exc:
        raise SealProblem(f"the certificate does not chain to a trusted root: {exc}") from exc
    except Exception as exc:  # any other refusal of the validator is a verdict too
        raise SealProblem(f"the certificate cannot be used as a seal: {exc}") from exc


def load_answer(cert_path: Path, chain_path: Path | None) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """Read an outside CA's answer: the certificate (maybe with its chain) and the chain file."""
    try:
        certs = load_certificates(cert_path)
        chain = load_certificates(chain_path) if chain_path is not None else []
    except (KeyLoadError, OSError) as exc:
        raise SealProblem(f"cannot read the certificate: {exc}") from exc
    return certs[0], [*certs[1:], *chain]


def token_config(settings, record: AgencyRecord):
    """The PKCS#11 settings for an agency's token key (the home's token, the agency's label)."""
    from ..keysources import pkcs11_config

    return replace(pkcs11_config(settings, "seal"), key_label=record.seal_key_label, key_id=None)
