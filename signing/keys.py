"""pyHanko signers for keys held in memory (the PKCS#11 signer lives in certs/pkcs11)."""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    """Convert a pyca certificate into asn1crypto's form (what pyHanko uses)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def in_memory_signer(cert: x509.Certificate, key, chain: list[x509.Certificate]) -> SimpleSigner:
    """A pyHanko signer for a key already decrypted and parsed (parse once, sign many times)."""
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return SimpleSigner(
        signing_cert=to_asn1_cert(cert),
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([to_asn1_cert(c) for c in chain]),
    )
