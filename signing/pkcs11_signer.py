"""A pyHanko signer whose key stays in a PKCS#11 token.

pyHanko's own ``PKCS11Signer`` binds to one session; this one signs through
:class:`certs.pkcs11.TokenKey`, which pools sessions, re-opens a session the
token dropped and hashes on our side (the token signs the digest with the raw
RSA or ECDSA mechanism). The rest (CMS, signed attributes, CAdES) is pyHanko's.

>>> signer = Pkcs11Signer(key=TokenKey.open(config), cert=cert, chain=chain)  # doctest: +SKIP
>>> Sealer(SealSettings(), signer=signer, timestamper=ts).seal(pdf)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cryptography import x509
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from certs.pkcs11 import TokenKey

from .keys import to_asn1_cert


class Pkcs11Signer(Signer):
    """Signs with a key in a PKCS#11 token; safe to share across threads and event loops."""

    def __init__(
        self, *, key: TokenKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ):
        super().__init__(
            signing_cert=to_asn1_cert(cert),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1_cert(c) for c in chain]),
        )
        self._key = key

    @property
    def key(self) -> TokenKey:
        """The key in the token."""
        return self._key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        if dry_run:
            # pyHanko sizes the signature container from this; don't spend a token call on it
            return bytes(self._key.max_signature_size)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._key.sign, data, digest_algorithm)
