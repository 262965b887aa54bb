"""Putting keys and certificates into a token: key generation, certificate storage, CSRs."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import pkcs11
from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, MechanismFlag, ObjectClass

from ..keys import RSA_BITS, KeyType
from .errors import TokenError
from .key import TokenKey

if TYPE_CHECKING:
    from .token import Pkcs11Token

log = logging.getLogger("certs.pkcs11")


def generate_key(
    token: Pkcs11Token, key_type: KeyType, *, label: str, key_id: bytes | None = None
) -> TokenKey:
    """Generate a non-extractable signing key pair in ``token`` (EC P-256, RSA-3072 or RSA-2048)."""
    key_id = key_id or secrets.token_bytes(8)
    with token.admin_session() as session:
        for query in ({"label": label, "key_id": None}, {"label": None, "key_id": key_id}):
            if token.find_private_keys(session, **query):
                what = f"label {label!r}" if query["label"] else f"id {key_id.hex()}"
                raise TokenError(
                    f"token {token.label!r} already holds a private key with {what}; use it "
                    "(--existing-key) or choose a new label for a new key"
                )
        common = {
            "id": key_id,
            "label": label,
            "store": True,
            "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
            "private_template": {
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.PRIVATE: True,
            },
        }
        if key_type in RSA_BITS:
            session.generate_keypair(pkcs11.KeyType.RSA, RSA_BITS[key_type], **common)
        elif key_type == "ecdsa-p256":
            from pkcs11.util.ec import encode_named_curve_parameters

            params = session.create_domain_parameters(
                pkcs11.KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            params.generate_keypair(**common)
        else:
            raise ValueError(f"unknown key type {key_type!r}")
    log.info(
        "generated %s key %r (id %s) in token %r", key_type, label, key_id.hex(), token.label
    )
    return TokenKey.in_token(token, label=label, key_id=key_id)


def store_certificate(
    token: Pkcs11Token, cert: x509.Certificate, *, label: str | None, key_id: bytes | None
) -> None:
    """Put ``cert`` on ``token`` beside its key (replacing certificates with that label/id)."""
    from pkcs11.util.x509 import decode_x509_certificate

    der = cert.public_bytes(serialization.Encoding.DER)
    attrs = decode_x509_certificate(der)
    attrs[Attribute.TOKEN] = True
    if label is not None:
        attrs[Attribute.LABEL] = label
    if key_id is not None:
        attrs[Attribute.ID] = key_id
    with token.admin_session() as session:
        query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.CERTIFICATE}
        if label is not None:
            query[Attribute.LABEL] = label
        elif key_id is not None:
            query[Attribute.ID] = key_id
        for old in list(session.get_objects(query)):
            old.destroy()
        session.create_object(attrs)


def build_csr(
    key: TokenKey, subject: x509.Name, *, digest_algorithm: str = "sha256"
) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for ``key``, signed in the token (for the agency's own CA)."""
    public = key.public_key()
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(
                public.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            ),
            "attributes": [],
        }
    )
    algorithm: dict[str, Any] = {
        "algorithm": f"{digest_algorithm}_{'rsa' if key.algorithm == 'rsa' else 'ecdsa'}"
    }
    if key.algorithm == "rsa":
        algorithm["parameters"] = core.Null()  # RFC 4055 §5: NULL for PKCS#1 v1.5
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": algorithm,
            "signature": key.sign(info.dump(), digest_algorithm),
        }
    )
    csr = x509.load_der_x509_csr(request.dump())
    if not csr.is_signature_valid:
        raise TokenError(
            f"the token produced an invalid signature on the CSR for key {key.description}"
        )
    return csr
