"""Keys in a PKCS#11 token (an HSM, a cloud HSM, SoftHSM): open, pool sessions, sign, generate.

The private key never leaves the token. Hashing happens here and the token
signs the digest with the raw mechanism (``CKM_RSA_PKCS`` over a DigestInfo,
``CKM_ECDSA`` over the hash): every token offers those, SoftHSM has no
hash-then-sign ECDSA mechanism and cloud HSM modules often offer only the raw
ones. The signature is the same either way.

Opening checks everything a signature will need (module, token, PIN, key), so
a misconfiguration fails at start-up with a message saying what to fix:

>>> config = Pkcs11KeyConfig(module="/usr/lib/softhsm/libsofthsm2.so", token_label="edoc",
...                          key_label="edoc-seal", pin_env="EDOC_PKCS11_PIN")
>>> key = TokenKey.open(config)  # doctest: +SKIP
>>> signature = key.sign(b"signed attributes", "sha256")  # doctest: +SKIP

Sessions: PKCS#11 logs in the whole process, not a session, and closing a
logged-in session logs everyone out. So each token keeps one login session
open for the life of the process and lends plain (not logged-in) sessions
from a pool; a session the token dropped is replaced and the operation
retried, and a lost login is renewed once. python-pkcs11 initialises modules
without locking callbacks, which allows a module (SoftHSM does) to assume a
single thread, so calls into one module are serialised.

The package, by responsibility: ``config`` (:class:`Pkcs11KeyConfig`),
``errors``, ``_module`` (the library, once per process), ``token`` (login and
session pool), ``key`` (:class:`TokenKey`: find, sign, check) and
``provisioning`` (key generation, certificates on the token, CSRs).
"""

from __future__ import annotations

from .config import Pkcs11KeyConfig
from .errors import (
    TokenError,
    TokenKeyMismatch,
    TokenKeyNotFound,
    TokenLoginFailed,
    TokenNotFound,
    TokenUnavailable,
)
from .key import TokenKey
from .provisioning import build_csr
from .token import Pkcs11Token, PoolStats

__all__ = [
    "Pkcs11KeyConfig",
    "Pkcs11Token",
    "PoolStats",
    "TokenError",
    "TokenKey",
    "TokenKeyMismatch",
    "TokenKeyNotFound",
    "TokenLoginFailed",
    "TokenNotFound",
    "TokenUnavailable",
    "build_csr",
]
