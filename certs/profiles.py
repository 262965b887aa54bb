"""Certificate profiles for the built-in PKI: what each kind of certificate may do.

Every choice (validity, key usages, extended key usages, extensions) lives here,
in one place, so that reviewing the PKI means reading one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from .keys import PrivateKey

#: id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): clients need not check the responder's status
OCSP_NOCHECK = x509.ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")

#: back-dating tolerates clocks of relying parties that are a little behind ours
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class PkiUrls:
    """Public URLs written into certificates (AIA and CRL distribution points)."""

    base_url: str
    """Public base URL of the service, e.g. ``https://edoc.example.go.th``."""

    def cert_url(self, name: str) -> str:
        """Where the certificate called ``name`` (``root-ca``, ``issuing-ca``) is published."""
        return f"{self.base_url.rstrip('/')}/pki/{name}.crt"

    def crl_url(self, name: str) -> str:
        """Where the CRL of the CA called ``name`` is published."""
        return f"{self.base_url.rstrip('/')}/pki/{name}.crl"

    @property
    def ocsp_url(self) -> str:
        """The OCSP responder for certificates of the issuing CA."""
        return f"{self.base_url.rstrip('/')}/ocsp"


@dataclass(frozen=True)
class Profile:
    """What a certificate of one kind may do, and for how long."""

    validity: timedelta
    key_usage: frozenset[str]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = ()
    ca: bool = False
    path_length: int | None = None
    ocsp_nocheck: bool = False


_YEAR = timedelta(days=365)

PROFILES: dict[str, Profile] = {
    "root-ca": Profile(20 * _YEAR, frozenset({"key_cert_sign", "crl_sign"}), ca=True, path_length=1),
    "issuing-ca": Profile(
        10 * _YEAR, frozenset({"key_cert_sign", "crl_sign"}), ca=True, path_length=0
    ),
    # A seal certifies documents: non-repudiation (content commitment) and signature.
    # No EKU: NSS (pdfsig) and pyHanko both accept a document-signing cert without one.
    "seal": Profile(3 * _YEAR, frozenset({"digital_signature", "content_commitment"})),
    "tsa": Profile(
        5 * _YEAR,
        frozenset({"digital_signature", "content_commitment"}),
        extended_key_usage=(ExtendedKeyUsageOID.TIME_STAMPING,),
    ),
    "ocsp": Profile(
        _YEAR,
        frozenset({"digital_signature"}),
        extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
        ocsp_nocheck=True,
    ),
}


def subject_name(common_name: str, organization: str, country: str = "TH") -> x509.Name:
    """An X.509 name for an agency's certificate (UTF-8, so Thai names work)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def signature_hash(key: PrivateKey) -> hashes.SHA256:
    """The hash an issuer key signs certificates with (SHA-256 for P-256 and RSA)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return hashes.SHA256()
    raise TypeError(f"unsupported issuer key {type(key).__name__}")


def _key_usage(names: frozenset[str]) -> x509.KeyUsage:
    flags = {
        n: n in names
        for n in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    }
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


def build_certificate(
    kind: str,
    *,
    subject: x509.Name,
    public_key,
    issuer_name: x509.Name | None,
    issuer_key: PrivateKey,
    issuer_public_key=None,
    urls: PkiUrls | None,
    issuer_label: str | None,
    now: datetime,
    validity: timedelta | None = None,
) -> x509.Certificate:
    """Issue a certificate of profile ``kind``; self-signed when ``issuer_name`` is None.

    ``issuer_label`` (``root-ca`` or ``issuing-ca``) names the issuer's published
    certificate and CRL, from which the AIA and CRL distribution point URLs are made.
    """
    profile = PROFILES[kind]
    self_signed = issuer_name is None
    not_before = now - BACKDATE
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name if issuer_name is not None else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + (validity or profile.validity))
        .add_extension(
            x509.BasicConstraints(ca=profile.ca, path_length=profile.path_length), critical=True
        )
        .add_extension(_key_usage(profile.key_usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                public_key if self_signed else (issuer_public_key or issuer_key.public_key())
            ),
            critical=False,
        )
    )
    if profile.extended_key_usage:
        # RFC 3161 §2.3: the TSA's EKU must be critical and hold only timeStamping.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)), critical=True
        )
    if profile.ocsp_nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if not self_signed and urls is not None and issuer_label is not None:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(urls.crl_url(issuer_label))],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        access = [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(urls.cert_url(issuer_label)),
            )
        ]
        if issuer_label == "issuing-ca" and not profile.ocsp_nocheck:
            access.insert(
                0,
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp_url)
                ),
            )
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder.sign(issuer_key, signature_hash(issuer_key))
