"""pyHanko signers for keys held in memory (the PKCS#11 signer lives in certs/pkcs11).

:class:`InMemorySigner` is pyHanko's ``SimpleSigner`` minus two per-signature
costs that dominated sealing: it keeps the parsed pyca key instead of
re-loading (and, for RSA, re-validating) it from DER for every signature, and it
hands back CMS values re-loaded from their DER, so that embedding them later
(signed attributes in a SignerInfo, a timestamp token in an attribute) copies
bytes instead of deep-copying and re-encoding a tree of asn1crypto objects.
The DER produced is the same; only the Python objects around it differ.
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
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
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

    def _signed_attr_providers(self, *args, **kwargs):
        # the signing-certificate-v2 attribute (ESSCertIDv2) is the same for every
        # signature of this key: built and encoded once instead of per signature
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if (
                type(provider) is attributes.SigningCertificateV2Provider
                and provider.signing_cert is self.signing_cert
            ):
                yield self._signing_certificate_v2
            else:
                yield provider

    def signer_info(self, digest_algorithm: str, signed_attrs, signature: bytes) -> cms.SignerInfo:
        if digest_algorithm == "shake256":  # pyHanko's special case for Ed448
            return super().signer_info(digest_algorithm, signed_attrs, signature)
        # pyHanko's SignerInfo, with the signer's id and digest algorithm encoded once
        return cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": self._digest_id(digest_algorithm),
                "signature_algorithm": self.get_signature_mechanism_for_digest(digest_algorithm),
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )

    def _package_signature(self, *, digest_algorithm, cms_version, signed_attrs, signature, unsigned_attrs, encap_content_info):
        """pyHanko's SignedData, with its certificate set encoded once for this signer.

        The set is pyHanko's own choice (the registry's certificates, without
        self-signed ones unless ``embed_roots``, and the signing certificate); it
        does not change between signatures, so pyHanko's building a choice per
        certificate and encoding the set again is skipped.
        """
        if self.attribute_certs:
            return super()._package_signature(
                digest_algorithm=digest_algorithm, cms_version=cms_version, signed_attrs=signed_attrs,
                signature=signature, unsigned_attrs=unsigned_attrs, encap_content_info=encap_content_info,
            )
        sig_info = self.signer_info(digest_algorithm, signed_attrs, signature)
        if unsigned_attrs is not None:
            sig_info["unsigned_attrs"] = unsigned_attrs
        signed_data = {
            "version": cms_version,
            "digest_algorithms": cms.DigestAlgorithms((sig_info["digest_algorithm"],)),
            "encap_content_info": encap_content_info or {"content_type": "data"},
            "certificates": self._certificate_set,
            "signer_infos": [sig_info],
        }
        return cms.ContentInfo({"content_type": cms.ContentType("signed_data"), "content": cms.SignedData(signed_data)})

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

    async def signed_attrs(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        attr_settings=None,
        content_type="data",
        use_pades=False,
        timestamper=None,
        dry_run=False,
        is_pdf_sig=True,
    ) -> cms.CMSAttributes:
        providers = self._signed_attr_providers(
            data_digest=data_digest,
            digest_algorithm=digest_algorithm,
            use_cades=use_pades,
            attr_settings=attr_settings or PdfCMSSignedAttributes(),
            timestamper=timestamper,
            is_pdf_sig=is_pdf_sig,
        )
        given = [
            simple_cms_attribute("content_type", content_type),
            simple_cms_attribute("message_digest", data_digest),
        ]
        return frozen(await _attributes_in_turn(providers, given, dry_run))

    async def unsigned_attrs(
        self, digest_algorithm: str, signature: bytes, signed_attrs, timestamper=None, dry_run=False
    ) -> cms.CMSAttributes | None:
        providers = self._unsigned_attr_providers(
            signature=signature,
            signed_attrs=signed_attrs,
            digest_algorithm=digest_algorithm,
            timestamper=timestamper,
        )
        attrs = await _attributes_in_turn(providers, [], dry_run)
        return frozen(attrs) if attrs else None


async def _attributes_in_turn(providers, given: list, dry_run: bool) -> cms.CMSAttributes:
    """pyHanko's ``format_attributes``, asking the providers one after another.

    pyHanko runs them as concurrent tasks (``asyncio.as_completed``), which only
    pays off when several wait on the network; ours wait on nothing but the one
    timestamp, and a task per attribute cost ~0.35 ms per seal. The DER is the
    same: a SET OF is sorted when encoded, whatever order its members came in.
    """
    values: dict[str, list] = {}
    for attr in given:
        values.setdefault(attr["type"].dotted, []).extend(attr["values"])
    for provider in providers:
        attr = await provider.get_attribute(dry_run=dry_run)
        if attr is not None:
            values.setdefault(attr["type"].dotted, []).extend(attr["values"])
    return cms.CMSAttributes(
        [cms.CMSAttribute({"type": cms.CMSAttributeType(k), "values": v}) for k, v in values.items()]
    )


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
