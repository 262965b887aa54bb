"""pyHanko signers for keys held in memory (the PKCS#11 signer lives in certs/pkcs11).

:class:`InMemorySigner` is pyHanko's ``SimpleSigner`` minus two per-signature
costs that dominated sealing: it keeps the parsed pyca key instead of
re-loading (and, for RSA, re-validating) it from DER for every signature, and it
hands back CMS values re-loaded from their DER, so that embedding them later
(signed attributes in a SignerInfo, a timestamp token in an attribute) copies
bytes instead of deep-copying and re-encoding a tree of asn1crypto objects.
The DER produced is the same; only the Python objects around it differ.

Three of its shortcuts override pyHanko's private signer methods
(``_package_signature``, ``signer_info``, ``_signed_attr_providers``); they live
in :mod:`signing._signer_overrides` and are put on the class by
``edoc.compat.install()``. Without them the signer builds those values pyHanko's
way (same DER, slower).
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from asn1crypto import algos, cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import attributes
from pyhanko.sign.general import (
    as_signing_certificate_v2,
    get_pyca_cryptography_hash,
    simple_cms_attribute,
)
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    """Convert a pyca certificate into asn1crypto's form (what pyHanko uses)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def frozen(value):
    """``value`` re-loaded from its DER: cheap to embed and to dump again (same bytes)."""
    return type(value).load(value.dump())


def digest_algorithm_id(name: str) -> algos.DigestAlgorithm:
    """An AlgorithmIdentifier for a digest name such as ``sha256``."""
    return algos.DigestAlgorithm({"algorithm": name})


def signer_identifier(cert: asn1_x509.Certificate) -> cms.SignerIdentifier:
    """The CMS SignerIdentifier (issuer and serial number) of ``cert``, encoded once."""
    return frozen(
        cms.SignerIdentifier(
            {
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": cert.issuer, "serial_number": cert.serial_number}
                )
            }
        )
    )


class InMemorySigner(SimpleSigner):
    """A ``SimpleSigner`` that parses its key once and returns CMS values ready to embed."""

    def __init__(self, *args, private_key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._private_key = private_key or serialization.load_der_private_key(
            self.signing_key.dump(), password=None
        )
        self._mechanism = lru_cache(maxsize=8)(self._mechanism_for)
        self._signing_certificate_v2 = _ConstantAttribute(
            attributes.SigningCertificateV2Provider.attribute_type,
            as_signing_certificate_v2(self.signing_cert),
        )

    @cached_property
    def _certificate_set(self) -> cms.CertificateSet:
        registry = self.cert_registry or ()
        certs = [c for c in registry if self.embed_roots or c.self_signed == "no"]
        choices = [cms.CertificateChoices(name="certificate", value=c) for c in [*certs, self.signing_cert]]
        return frozen(cms.CertificateSet(choices))

    @cached_property
    def _sid(self) -> cms.SignerIdentifier:
        assert self.signing_cert is not None  # an InMemorySigner always has its certificate
        return signer_identifier(self.signing_cert)

    @lru_cache(maxsize=8)  # noqa: B019 - one signer per key, kept for the process
    def _digest_id(self, digest_algorithm: str) -> algos.DigestAlgorithm:
        return frozen(digest_algorithm_id(digest_algorithm))

    def _mechanism_for(self, digest_algorithm) -> algos.SignedDigestAlgorithm:
        return frozen(super().get_signature_mechanism_for_digest(digest_algorithm))

    def get_signature_mechanism_for_digest(self, digest_algorithm):
        return self._mechanism(digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        key, digest = self._private_key, get_pyca_cryptography_hash(digest_algorithm)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest))
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), digest)
        return super().sign_raw(data, digest_algorithm)  # PSS, EdDSA...: pyHanko's own path


class _ConstantAttribute(attributes.CMSAttributeProvider):
    """A signed attribute whose value never changes, encoded once."""

    def __init__(self, attribute_type: str, value):
        self.attribute_type = attribute_type
        self._attribute = frozen(simple_cms_attribute(attribute_type, value))

    async def build_attr_value(self, dry_run=False):
        return self._attribute["values"][0]

    async def get_attribute(self, dry_run=False) -> cms.CMSAttribute:
        return self._attribute


def in_memory_signer(cert: x509.Certificate, key, chain: list[x509.Certificate]) -> InMemorySigner:
    """A pyHanko signer for a key already decrypted and parsed (parse once, sign many times)."""
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return InMemorySigner(
        signing_cert=to_asn1_cert(cert),
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([to_asn1_cert(c) for c in chain]),
        private_key=key,
    )
