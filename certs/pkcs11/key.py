"""A private key in a token: found once per session, signs digests with the raw mechanisms."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pkcs11
from asn1crypto import algos, core
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, Mechanism, ObjectClass

from .config import Pkcs11KeyConfig
from .errors import TokenError, TokenKeyMismatch
from .token import Pkcs11Token, _KeyMissing, _PooledSession

_DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_CURVES: dict[str, ec.EllipticCurve] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
}


@dataclass(frozen=True)
class TokenKey:
    """A private key in a token, used through the token's session pool."""

    token: Pkcs11Token
    label: str | None
    key_id: bytes | None
    algorithm: Literal["rsa", "ec"]
    """Key family: decides the mechanism and the signature encoding."""
    max_signature_size: int
    """Largest signature in bytes (RSA: modulus size; ECDSA: DER of two integers)."""

    @classmethod
    def open(cls, config: Pkcs11KeyConfig) -> TokenKey:
        """Open the token (login) and find the key; raises a :class:`TokenError` if anything is amiss."""
        token = Pkcs11Token.open(config)
        return cls.in_token(token, label=config.key_label, key_id=config.key_id)

    @classmethod
    def in_token(cls, token: Pkcs11Token, *, label: str | None, key_id: bytes | None) -> TokenKey:
        """The key with ``label``/``key_id`` in an open token."""
        probe = cls(token, label, key_id, "rsa", 0)

        def describe(pooled: _PooledSession) -> tuple[Literal["rsa", "ec"], int]:
            handle = probe._handle(pooled)
            kind = handle[Attribute.KEY_TYPE]
            if kind == pkcs11.KeyType.RSA:
                return "rsa", len(handle[Attribute.MODULUS].lstrip(b"\0"))
            if kind == pkcs11.KeyType.EC:
                curve = _curve_name(handle[Attribute.EC_PARAMS])
                size = (_CURVES[curve].key_size + 7) // 8
                return "ec", 2 * size + 9  # SEQUENCE of two INTEGERs, each with a sign byte
            raise TokenError(f"key {probe.description} is neither RSA nor EC; edoc cannot use it")

        algorithm, size = token.run(describe, what=f"find key {probe.description}")
        return cls(token, label, key_id, algorithm, size)

    @property
    def description(self) -> str:
        """``label 'edoc-seal' in token 'edoc'``, for messages."""
        parts = []
        if self.label is not None:
            parts.append(f"label {self.label!r}")
        if self.key_id is not None:
            parts.append(f"id {self.key_id.hex()}")
        return f"with {' and '.join(parts)} in token {self.token.label!r}"

    def _handle(self, pooled: _PooledSession):
        ref = (self.label, self.key_id)
        if ref not in pooled.keys:
            found = self.token.find_private_keys(
                pooled.session, label=self.label, key_id=self.key_id
            )
            if not found:
                raise _KeyMissing(
                    f"no private key {self.description}: generate one with "
                    "`edoc keys hsm-init`, or fix the configured key label/id"
                )
            if len(found) > 1:
                raise TokenError(f"several private keys {self.description}; give the key id too")
            pooled.keys[ref] = found[0]
        return pooled.keys[ref]

    def sign(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` (hashed here with ``digest_algorithm``); X.509/CMS signature encoding."""
        name = digest_algorithm.lower()
        if name not in _DIGESTS:
            raise ValueError(
                f"unsupported digest {digest_algorithm!r}; use sha256, sha384 or sha512"
            )
        digest = hashlib.new(name, data).digest()
        if self.algorithm == "rsa":
            payload = algos.DigestInfo(
                {
                    "digest_algorithm": {"algorithm": name, "parameters": core.Null()},
                    "digest": digest,
                }
            ).dump()
            mechanism = Mechanism.RSA_PKCS
        else:
            payload, mechanism = digest, Mechanism.ECDSA

        def sign(pooled: _PooledSession) -> bytes:
            return self._handle(pooled).sign(payload, mechanism=mechanism)

        signature = self.token.run(sign, what=f"sign with key {self.description}")
        if self.algorithm == "ec":
            from pkcs11.util.ec import encode_ecdsa_signature

            signature = encode_ecdsa_signature(signature)
        return signature

    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        """The public key, read from the token's public-key object with the same label/id."""

        def read(pooled: _PooledSession):
            query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PUBLIC_KEY}
            if self.label is not None:
                query[Attribute.LABEL] = self.label
            if self.key_id is not None:
                query[Attribute.ID] = self.key_id
            found = list(pooled.session.get_objects(query))
            if len(found) != 1:
                raise TokenError(
                    f"expected one public key {self.description}, found {len(found)}; "
                    "this token does not keep public keys beside private ones"
                )
            obj = found[0]
            if self.algorithm == "rsa":
                return rsa.RSAPublicNumbers(
                    int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big"),
                    int.from_bytes(obj[Attribute.MODULUS], "big"),
                ).public_key()
            from pkcs11.util.ec import encode_ec_public_key

            return serialization.load_der_public_key(encode_ec_public_key(obj))

        return self.token.run(read, what=f"read the public key {self.description}")

    def check_certificate(
        self, cert: x509.Certificate, *, digest_algorithm: str = "sha256"
    ) -> None:
        """Sign a challenge and verify it with ``cert``: proves the key works and belongs to it."""
        challenge = b"edoc key check " + secrets.token_bytes(16)
        signature = self.sign(challenge, digest_algorithm)
        public = cert.public_key()
        digest = _DIGESTS[digest_algorithm]()
        try:
            if isinstance(public, rsa.RSAPublicKey) and self.algorithm == "rsa":
                public.verify(signature, challenge, padding.PKCS1v15(), digest)
            elif isinstance(public, ec.EllipticCurvePublicKey) and self.algorithm == "ec":
                public.verify(signature, challenge, ec.ECDSA(digest))
            else:
                raise InvalidSignature
        except InvalidSignature:
            raise TokenKeyMismatch(
                f"the key {self.description} does not belong to the certificate "
                f"{cert.subject.rfc4514_string()} (serial {cert.serial_number:x}): point the "
                "configuration at the right key, or issue a certificate for this key with "
                "`edoc keys hsm-init --existing-key`"
            ) from None


def _curve_name(ec_params: bytes) -> str:
    params = asn1_keys.ECDomainParameters.load(ec_params)
    if params.name != "named":
        raise TokenError(
            "the EC key uses explicit curve parameters; only named curves are supported"
        )
    name = params.chosen.native
    if name not in _CURVES:
        raise TokenError(f"the EC key is on curve {name}; edoc supports {', '.join(_CURVES)}")
    return name
