"""The agency's PKI folder: the built-in CA and the seal, TSA and OCSP keys.

An agency without a CA of its own gets one from :func:`create_builtin_pki`:
root CA → issuing CA → {seal, TSA, OCSP responder}. An agency with its own
CA imports its seal key and chain instead (:func:`import_seal`). Either way
:class:`Pki` loads what signing and verification need.

>>> pki = create_builtin_pki(Path("/tmp/home/pki"), agency="กรมตัวอย่าง",
...                          public_base_url="https://edoc.example.go.th",
...                          key_type="ecdsa-p256", passphrase=b"s3cret")  # doctest: +SKIP
>>> pki.seal.cert.subject.rfc4514_string()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from .errors import KeyLoadError, PkiNotFound
from .keys import (
    KeyType,
    PrivateKey,
    generate_private_key,
    load_certificates,
    load_pkcs12,
    load_private_key,
    save_certificates,
    save_private_key,
)
from .profiles import PkiUrls, build_certificate, subject_name

#: the roles of the keys the PKI folder holds
ROLES = ("root-ca", "issuing-ca", "seal", "tsa", "ocsp")
_ISSUER_OF = {"issuing-ca": "root-ca", "seal": "issuing-ca", "tsa": "issuing-ca", "ocsp": "issuing-ca"}
_COMMON_NAME = {
    "root-ca": "{agency} Root CA",
    "issuing-ca": "{agency} Issuing CA",
    "seal": "{agency} Electronic Seal",
    "tsa": "{agency} Time-Stamping Authority",
    "ocsp": "{agency} OCSP Responder",
}


@dataclass(frozen=True)
class Credential:
    """A certificate, its chain up to the root, and where its private key lives."""

    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    """Issuer certificates, nearest first, ending with the root (may be empty)."""
    key_path: Path | None

    def load_key(self, passphrase: bytes | None) -> PrivateKey:
        """Decrypt and return the private key."""
        if self.key_path is None:
            raise KeyLoadError("this credential has no private key file (is it in an HSM?)")
        return load_private_key(self.key_path, passphrase=passphrase)


@dataclass(frozen=True)
class Pki:
    """What a PKI folder holds, loaded (private keys stay on disk until asked for)."""

    directory: Path
    seal: Credential
    tsa: Credential | None
    ocsp: Credential | None
    issuing_ca: Credential | None
    root_ca: Credential | None
    trust_anchors: tuple[x509.Certificate, ...] = field(default=())

    @classmethod
    def load(cls, directory: Path) -> Pki:
        """Load the PKI folder; roles that are absent (imported seal, no CA) are None."""
        if not (directory / "seal.pem").exists():
            raise PkiNotFound(f"no seal certificate in {directory}: run `edoc init` first")

        def credential(role: str) -> Credential | None:
            cert_path = directory / f"{role}.pem"
            if not cert_path.exists():
                return None
            certs = load_certificates(cert_path)
            key_path = directory / f"{role}.key.pem"
            return Credential(certs[0], tuple(certs[1:]), key_path if key_path.exists() else None)

        anchors: list[x509.Certificate] = []
        for path in sorted((directory / "trust").glob("*.pem")):
            anchors.extend(load_certificates(path))
        seal = credential("seal")
        assert seal is not None
        return cls(
            directory=directory,
            seal=seal,
            tsa=credential("tsa"),
            ocsp=credential("ocsp"),
            issuing_ca=credential("issuing-ca"),
            root_ca=credential("root-ca"),
            trust_anchors=tuple(anchors),
        )

    def all_certificates(self) -> list[x509.Certificate]:
        """Every certificate the folder knows (for building validation paths)."""
        seen: dict[bytes, x509.Certificate] = {}
        for cred in (self.seal, self.tsa, self.ocsp, self.issuing_ca, self.root_ca):
            if cred is not None:
                for c in (cred.cert, *cred.chain):
                    seen.setdefault(c.fingerprint(c.signature_hash_algorithm or _sha256()), c)
        for c in self.trust_anchors:
            seen.setdefault(c.fingerprint(_sha256()), c)
        return list(seen.values())


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _spki(public_key) -> bytes:
    """DER SubjectPublicKeyInfo: compares keys of any type."""
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write(directory: Path, role: str, cert: x509.Certificate, chain: list[x509.Certificate]) -> None:
    save_certificates(directory / f"{role}.pem", [cert, *chain])


def create_builtin_pki(
    directory: Path,
    *,
    agency: str,
    public_base_url: str,
    key_type: KeyType,
    passphrase: bytes,
    now: datetime | None = None,
    country: str = "TH",
) -> Pki:
    """Create root CA, issuing CA, seal, TSA and OCSP credentials in ``directory``."""
    if (directory / "seal.pem").exists():
        raise FileExistsError(f"{directory} already holds a PKI; refusing to overwrite it")
    now = now or datetime.now(UTC)
    urls = PkiUrls(public_base_url)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "trust").mkdir(exist_ok=True)
    certs: dict[str, x509.Certificate] = {}
    keys: dict[str, PrivateKey] = {}
    for role in ROLES:
        key = generate_private_key(key_type)
        issuer = _ISSUER_OF.get(role)
        cert = build_certificate(
            role,
            subject=subject_name(_COMMON_NAME[role].format(agency=agency), agency, country),
            public_key=key.public_key(),
            issuer_name=certs[issuer].subject if issuer else None,
            issuer_key=keys[issuer] if issuer else key,
            urls=urls,
            issuer_label=issuer,
            now=now,
        )
        certs[role], keys[role] = cert, key
        save_private_key(directory / f"{role}.key.pem", key, passphrase=passphrase)
    _write(directory, "root-ca", certs["root-ca"], [])
    _write(directory, "issuing-ca", certs["issuing-ca"], [certs["root-ca"]])
    for role in ("seal", "tsa", "ocsp"):
        _write(directory, role, certs[role], [certs["issuing-ca"], certs["root-ca"]])
    save_certificates(directory / "trust" / "root-ca.pem", [certs["root-ca"]])
    return Pki.load(directory)


def issue_credential(
    pki: Pki,
    role: str,
    *,
    passphrase: bytes,
    key_type: KeyType,
    public_base_url: str,
    agency: str,
    now: datetime | None = None,
    public_key=None,
) -> x509.Certificate:
    """Have the built-in issuing CA issue a new ``role`` certificate (key rollover, HSM keys).

    With ``public_key`` the key lives elsewhere (an HSM) and only the certificate
    is written; otherwise a fresh key is generated and stored encrypted. The
    previous certificate and key are kept under ``retired/`` so documents sealed
    with them remain verifiable.
    """
    if pki.issuing_ca is None or pki.issuing_ca.key_path is None:
        raise PkiNotFound("this home has no built-in issuing CA; use your agency CA instead")
    now = now or datetime.now(UTC)
    ca_key = pki.issuing_ca.load_key(passphrase)
    key = None
    if public_key is None:
        key = generate_private_key(key_type)
        public_key = key.public_key()
    cert = build_certificate(
        role,
        subject=subject_name(_COMMON_NAME[role].format(agency=agency), agency),
        public_key=public_key,
        issuer_name=pki.issuing_ca.cert.subject,
        issuer_key=ca_key,
        urls=PkiUrls(public_base_url),
        issuer_label="issuing-ca",
        now=now,
    )
    directory = pki.directory
    retired = directory / "retired"
    stamp = now.strftime("%Y%m%dT%H%M%S")
    for suffix in (".pem", ".key.pem"):
        old = directory / f"{role}{suffix}"
        if old.exists():
            retired.mkdir(exist_ok=True)
            old.rename(retired / f"{role}-{stamp}{suffix}")
    chain = [pki.issuing_ca.cert, *pki.issuing_ca.chain]
    _write(directory, role, cert, chain)
    if key is not None:
        save_private_key(directory / f"{role}.key.pem", key, passphrase=passphrase)
    return cert


def import_seal(
    directory: Path,
    *,
    passphrase: bytes,
    pkcs12_path: Path | None = None,
    pkcs12_password: bytes | None = None,
    key_path: Path | None = None,
    key_passphrase: bytes | None = None,
    cert_path: Path | None = None,
    chain_path: Path | None = None,
    trust_anchor_path: Path | None = None,
) -> Pki:
    """Import an agency's existing seal key and chain from PKCS#12 or PEM files.

    The key is re-encrypted under the home's passphrase. The trust anchor is the
    given root, or else the last certificate of the chain when it is self-signed.
    """
    if pkcs12_path is not None:
        key, cert, chain = load_pkcs12(pkcs12_path, password=pkcs12_password)
    elif key_path is not None and cert_path is not None:
        key = load_private_key(key_path, passphrase=key_passphrase)
        certs = load_certificates(cert_path)
        cert, chain = certs[0], certs[1:]
        if chain_path is not None:
            chain += load_certificates(chain_path)
    else:
        raise ValueError("give either a PKCS#12 file or a key file and a certificate file")
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise KeyLoadError("the private key does not belong to the certificate")
    chain = [c for c in chain if c != cert]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "trust").mkdir(exist_ok=True)
    anchors = load_certificates(trust_anchor_path) if trust_anchor_path else []
    if not anchors and chain and chain[-1].issuer == chain[-1].subject:
        anchors = [chain[-1]]
    if not anchors:
        raise KeyLoadError("no trust anchor: pass the agency's root certificate")
    save_private_key(directory / "seal.key.pem", key, passphrase=passphrase)
    _write(directory, "seal", cert, chain)
    save_certificates(directory / "trust" / "imported-root.pem", anchors)
    return Pki.load(directory)
