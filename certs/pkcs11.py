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
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import pkcs11
from asn1crypto import algos, core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pkcs11 import Attribute, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11

from .errors import CertsError
from .keys import RSA_BITS, KeyType

log = logging.getLogger(__name__)

T = TypeVar("T")

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

# The token dropped the session or the login: open a new one and try again.
_SESSION_LOST = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.DeviceRemoved,
    p11.DeviceError,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
    p11.KeyHandleInvalid,
    p11.ObjectHandleInvalid,
)
# ... and of those, the ones that mean the login is gone as well.
_LOGIN_LOST = (p11.UserNotLoggedIn, p11.DeviceRemoved, p11.TokenNotPresent, p11.DeviceError)


# -- errors ------------------------------------------------------------------------


class TokenError(CertsError):
    """A PKCS#11 module, token or key cannot be used."""


class TokenNotFound(TokenError):
    """The module is loaded but no token has the configured label."""


class TokenLoginFailed(TokenError):
    """The PIN is missing, wrong or locked."""


class TokenKeyNotFound(TokenError):
    """The token holds no private key with the configured label or id."""


class TokenKeyMismatch(TokenError):
    """The key in the token does not belong to the certificate it is configured with."""


class TokenUnavailable(TokenError):
    """The token stopped answering and could not be re-opened."""


# -- configuration -----------------------------------------------------------------


@dataclass(frozen=True)
class Pkcs11KeyConfig:
    """Where one private key lives in a PKCS#11 token and how to log in to it."""

    module: str
    """Path of the vendor's PKCS#11 library, e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""
    token_label: str
    """Label of the token (``softhsm2-util --show-slots``, ``pkcs11-tool -L``)."""
    key_label: str | None = None
    """``CKA_LABEL`` of the private key; give this, ``key_id`` or both."""
    key_id: bytes | None = None
    """``CKA_ID`` of the private key."""
    pin_env: str | None = None
    """Environment variable holding the user PIN (never the command line)."""
    pin_file: Path | None = None
    """File holding the user PIN (first line; keep it 0600)."""
    max_sessions: int = 4
    """Sessions the pool keeps open at most (one per concurrent signature)."""

    def __post_init__(self) -> None:
        if not self.module:
            raise ValueError("a PKCS#11 key needs the module path (pkcs11_module)")
        if not self.token_label:
            raise ValueError("a PKCS#11 key needs the token label (pkcs11_token_label)")
        if self.key_label is None and self.key_id is None:
            raise ValueError("name the key in the token by label, by id or both")
        if (self.pin_env is None) == (self.pin_file is None):
            raise ValueError("give the PIN source as exactly one of pin_env or pin_file")
        if self.max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")

    @property
    def key_description(self) -> str:
        """How the key is named, for messages: ``label 'edoc-seal'``, ``id 01ab``."""
        parts = []
        if self.key_label is not None:
            parts.append(f"label {self.key_label!r}")
        if self.key_id is not None:
            parts.append(f"id {self.key_id.hex()}")
        return " and ".join(parts)

    @property
    def pin_source(self) -> str:
        """Where the PIN comes from, for messages (never the PIN itself)."""
        return f"${self.pin_env}" if self.pin_env is not None else str(self.pin_file)

    def read_pin(self) -> str:
        """The user PIN from the environment or the PIN file."""
        if self.pin_env is not None:
            pin = os.environ.get(self.pin_env)
            if not pin:
                raise TokenLoginFailed(
                    f"the PIN of token {self.token_label!r} is expected in the environment "
                    f"variable {self.pin_env}, which is not set"
                )
            return pin
        assert self.pin_file is not None
        try:
            text = self.pin_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenLoginFailed(
                f"cannot read the PIN file {self.pin_file}: {exc.strerror}"
            ) from exc
        if self.pin_file.stat().st_mode & 0o077:
            log.warning("PIN file %s is readable by others; chmod 600 it", self.pin_file)
        pin = text.splitlines()[0].strip() if text.strip() else ""
        if not pin:
            raise TokenLoginFailed(f"the PIN file {self.pin_file} is empty")
        return pin


# -- the module (one per process) ------------------------------------------------


class _Module:
    """A loaded PKCS#11 library: C_Initialize happens once per process and path."""

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise TokenError(
                f"no PKCS#11 module at {path}: install the HSM vendor's library or fix "
                "pkcs11_module (SoftHSM: Debian package softhsm2, /usr/lib/softhsm/libsofthsm2.so)"
            )
        try:
            self.lib = pkcs11.lib(path)
        except p11.PKCS11Error as exc:
            raise TokenError(f"cannot load the PKCS#11 module {path}: {exc}") from exc
        self.path = path
        self.pid = os.getpid()
        # Serialises every call into the module (see the module docstring).
        self.calls = threading.RLock()

    def ensure_initialised_here(self) -> None:
        """After a fork, initialise the module again: PKCS#11 state does not survive fork()."""
        if self.pid == os.getpid():
            return
        with self.calls:
            if self.pid != os.getpid():
                try:
                    self.lib.reinitialize()
                except p11.PKCS11Error as exc:
                    raise TokenUnavailable(
                        f"cannot re-initialise {self.path} in a forked process: {_name(exc)}; "
                        "open the token in each worker process, after forking"
                    ) from exc
                self.pid = os.getpid()

    def find_token(self, label: str) -> pkcs11.Token:
        with self.calls:
            try:
                tokens = list(self.lib.get_tokens(token_label=label))
                present = [] if tokens else [t.label for t in self.lib.get_tokens()]
            except p11.PKCS11Error as exc:
                raise TokenUnavailable(
                    f"the PKCS#11 module {self.path} cannot list its tokens: {_name(exc)}"
                ) from exc
        if not tokens:
            listed = ", ".join(repr(t) for t in present if t) or "none"
            raise TokenNotFound(
                f"no token labelled {label!r} in {self.path} (tokens present: {listed}). "
                "Check pkcs11_token_label, that the HSM is reachable, and for SoftHSM that "
                "SOFTHSM2_CONF points at the right token directory"
            )
        if len(tokens) > 1:
            raise TokenError(f"several tokens are labelled {label!r}; give each a unique label")
        return tokens[0]


_MODULES: dict[str, _Module] = {}
_TOKENS: dict[tuple[str, str], Pkcs11Token] = {}
# PINs a token refused in this process: never tried again, so that a process
# does not lock the token by retrying a wrong PIN.
_REFUSED: set[tuple[str, str, bytes]] = set()
_REGISTRY_LOCK = threading.Lock()


def _module(path: str) -> _Module:
    with _REGISTRY_LOCK:
        if path not in _MODULES:
            _MODULES[path] = _Module(path)
        module = _MODULES[path]
    module.ensure_initialised_here()
    return module


def _name(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _pin_digest(pin: str) -> bytes:
    return hashlib.sha256(pin.encode()).digest()


# -- the token and its session pool -----------------------------------------------


@dataclass
class _PooledSession:
    session: Any
    generation: int
    keys: dict[tuple[str | None, bytes | None], Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolStats:
    """What a token's session pool has done (for monitoring and tests)."""

    idle: int
    """Sessions open and waiting to be lent."""
    opened: int
    """Sessions opened since start-up (more than ``max_sessions`` means some were replaced)."""
    replaced: int
    """Sessions the token dropped and the pool replaced."""
    logins: int
    """Logins since start-up (more than one means a lost login was renewed)."""


class Pkcs11Token:
    """One token: a login held for the process and a pool of sessions shared by its keys."""

    def __init__(self, module: _Module, config: Pkcs11KeyConfig, pin: str):
        self._module = module
        self.label = config.token_label
        self._pin = pin
        self._pin_source = config.pin_source
        self._max_sessions = config.max_sessions
        self._slots = threading.BoundedSemaphore(config.max_sessions)
        self._lock = threading.Lock()
        self._idle: list[_PooledSession] = []
        self._token = module.find_token(self.label)
        self._login_session: Any = None
        self._generation = 0
        self._opened = self._replaced = self._logins = 0
        self._pid = os.getpid()
        self._refused: TokenLoginFailed | None = None
        self._login()

    @classmethod
    def open(cls, config: Pkcs11KeyConfig) -> Pkcs11Token:
        """The process's token for ``config``, logged in; clear errors for every misconfiguration."""
        pin = config.read_pin()
        key = (config.module, config.token_label)
        refused = (config.module, config.token_label, _pin_digest(pin))
        module = _module(config.module)
        with _REGISTRY_LOCK:
            token = _TOKENS.get(key)
            if token is None:
                if refused in _REFUSED:
                    raise _wrong_pin(config)
                try:
                    token = cls(module, config, pin)
                except TokenLoginFailed:
                    _REFUSED.add(refused)
                    raise
                _TOKENS[key] = token
        token._adopt_after_fork()
        if not hmac.compare_digest(_pin_digest(pin), _pin_digest(token._pin)):
            raise TokenLoginFailed(
                f"the PIN from {config.pin_source} is not the PIN this process logged in to "
                f"token {config.token_label!r} with (wrong PIN?)"
            )
        return token

    def _adopt_after_fork(self) -> None:
        """In a forked child, drop the parent's sessions and log in for this process."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # The sessions are the parent's: never close them from here.
            self._idle, self._login_session = [], None
            self._generation += 1
            self._pid = os.getpid()
        self._module.ensure_initialised_here()
        self._token = self._module.find_token(self.label)
        self._login()

    # login ---------------------------------------------------------------------

    def _login(self) -> None:
        if self._refused is not None:
            # Never present a refused PIN again (a renewed login would otherwise spend
            # one PIN try per request and lock the token).
            raise self._refused
        with self._module.calls:
            try:
                self._login_session = self._token.open(user_pin=self._pin)
            except p11.UserAlreadyLoggedIn:
                self._login_session = None  # someone else in this process holds the login
            except p11.PKCS11Error as exc:
                error = self._login_error(exc)
                if isinstance(error, TokenLoginFailed):
                    self._refused = error
                raise error from exc
        self._logins += 1

    def _login_error(self, exc: p11.PKCS11Error) -> TokenError:
        if isinstance(exc, (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange)):
            return TokenLoginFailed(
                f"token {self.label!r} refused the PIN from {self._pin_source} (wrong PIN). "
                "Tokens lock the PIN after a few wrong attempts: fix it before starting again"
            )
        if isinstance(exc, p11.PinLocked):
            return TokenLoginFailed(
                f"the user PIN of token {self.label!r} is locked; the token's security "
                "officer must unlock or reset it"
            )
        if isinstance(exc, p11.PinExpired):
            return TokenLoginFailed(f"the user PIN of token {self.label!r} has expired")
        if isinstance(exc, p11.UserPinNotInitialized):
            return TokenLoginFailed(f"token {self.label!r} has no user PIN set yet")
        return TokenUnavailable(f"cannot log in to token {self.label!r}: {_name(exc)}")

    def _renew_login(self, seen_generation: int, *, reason: str) -> None:
        """Log in again, once per lost login however many threads noticed it."""
        with self._lock:
            if self._generation != seen_generation:
                return  # another thread already renewed it
            self._generation += 1
            stale, self._idle = self._idle, []
            old, self._login_session = self._login_session, None
        with self._module.calls:
            for pooled in stale:
                _close_quietly(pooled.session)
            if old is not None:
                _close_quietly(old)
        self._token = self._module.find_token(self.label)
        self._login()
        log.log(
            logging.INFO if reason == "key" else logging.WARNING,
            "PKCS#11: renewed the login to token %r (%s)",
            self.label,
            "no key visible" if reason == "key" else "session or login lost",
        )

    # the pool ------------------------------------------------------------------

    def _borrow(self) -> _PooledSession:
        stale: list[_PooledSession] = []
        with self._lock:
            pooled = None
            while self._idle and pooled is None:
                candidate = self._idle.pop()
                if candidate.generation == self._generation:
                    pooled = candidate
                else:
                    stale.append(candidate)
            generation = self._generation
        with self._module.calls:
            for old in stale:
                _close_quietly(old.session)
            if pooled is not None:
                return pooled
            session = self._token.open()  # not logged in itself: it shares the process login
        with self._lock:
            self._opened += 1
        return _PooledSession(session, generation)

    def _give_back(self, pooled: _PooledSession) -> None:
        with self._lock:
            if pooled.generation == self._generation and len(self._idle) < self._max_sessions:
                self._idle.append(pooled)
                return
        with self._module.calls:
            _close_quietly(pooled.session)

    def _drop(self, pooled: _PooledSession) -> None:
        with self._lock:
            self._replaced += 1
        with self._module.calls:
            _close_quietly(pooled.session)

    def run(self, operation: Callable[[_PooledSession], T], *, what: str) -> T:
        """Run ``operation`` on a pooled session; a dropped session or login is renewed and retried."""
        self._adopt_after_fork()
        last: BaseException | None = None
        renewed = False
        with self._slots:
            for attempt in range(3):
                generation = self._generation
                try:
                    pooled = self._borrow()
                except p11.PKCS11Error as exc:
                    last = exc
                    if not renewed:
                        self._renew_login(generation, reason="lost")
                        renewed = True
                    continue
                try:
                    with self._module.calls:
                        result = operation(pooled)
                except _KeyMissing as exc:
                    # A session that is not logged in sees no private keys: renew the
                    # login once before believing the key is not there.
                    self._give_back(pooled)
                    if renewed:
                        raise TokenKeyNotFound(exc.message) from None
                    self._renew_login(generation, reason="key")
                    renewed = True
                    continue
                except _SESSION_LOST as exc:
                    last = exc
                    self._drop(pooled)
                    log.info("PKCS#11: %s lost its session (%s); retrying", what, _name(exc))
                    if (isinstance(exc, _LOGIN_LOST) or attempt > 0) and not renewed:
                        self._renew_login(generation, reason="lost")
                        renewed = True
                    continue
                except p11.PKCS11Error as exc:
                    self._give_back(pooled)
                    raise TokenError(
                        f"token {self.label!r} could not {what}: {_name(exc)}"
                    ) from exc
                except BaseException:
                    self._give_back(pooled)
                    raise
                self._give_back(pooled)
                return result
        raise TokenUnavailable(
            f"token {self.label!r} stopped answering and could not be re-opened to {what}: "
            f"{_name(last) if last else 'unknown error'}"
        ) from last

    def stats(self) -> PoolStats:
        """Counters of the session pool."""
        with self._lock:
            return PoolStats(len(self._idle), self._opened, self._replaced, self._logins)

    @contextmanager
    def admin_session(self) -> Iterator[Any]:
        """A read-write session for creating objects (key generation, certificates)."""
        with self._module.calls:
            try:
                session = self._token.open(rw=True)
            except p11.PKCS11Error as exc:
                raise TokenError(
                    f"cannot open a read-write session on {self.label!r}: {_name(exc)}"
                ) from exc
            try:
                yield session
            except p11.PKCS11Error as exc:
                raise TokenError(f"token {self.label!r}: {_name(exc)}") from exc
            finally:
                _close_quietly(session)

    # keys ----------------------------------------------------------------------

    def find_private_keys(self, session, *, label: str | None, key_id: bytes | None) -> list:
        """Private signing keys matching ``label``/``key_id`` (caller holds the module lock)."""
        query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if label is not None:
            query[Attribute.LABEL] = label
        if key_id is not None:
            query[Attribute.ID] = key_id
        return list(session.get_objects(query))

    def generate_key(
        self, key_type: KeyType, *, label: str, key_id: bytes | None = None
    ) -> TokenKey:
        """Generate a non-extractable signing key pair in the token (EC P-256, RSA-3072 or RSA-2048)."""
        key_id = key_id or secrets.token_bytes(8)
        with self.admin_session() as session:
            for query in ({"label": label, "key_id": None}, {"label": None, "key_id": key_id}):
                if self.find_private_keys(session, **query):
                    what = f"label {label!r}" if query["label"] else f"id {key_id.hex()}"
                    raise TokenError(
                        f"token {self.label!r} already holds a private key with {what}; use it "
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
            "generated %s key %r (id %s) in token %r", key_type, label, key_id.hex(), self.label
        )
        return TokenKey.in_token(self, label=label, key_id=key_id)

    def store_certificate(
        self, cert: x509.Certificate, *, label: str | None, key_id: bytes | None
    ) -> None:
        """Put ``cert`` on the token beside its key (replacing certificates with that label/id)."""
        from pkcs11.util.x509 import decode_x509_certificate

        der = cert.public_bytes(serialization.Encoding.DER)
        attrs = decode_x509_certificate(der)
        attrs[Attribute.TOKEN] = True
        if label is not None:
            attrs[Attribute.LABEL] = label
        if key_id is not None:
            attrs[Attribute.ID] = key_id
        with self.admin_session() as session:
            query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.CERTIFICATE}
            if label is not None:
                query[Attribute.LABEL] = label
            elif key_id is not None:
                query[Attribute.ID] = key_id
            for old in list(session.get_objects(query)):
                old.destroy()
            session.create_object(attrs)


def _close_quietly(session) -> None:
    try:
        session.close()
    except p11.PKCS11Error:
        pass  # already gone on the token's side


def _wrong_pin(config: Pkcs11KeyConfig) -> TokenLoginFailed:
    return TokenLoginFailed(
        f"token {config.token_label!r} refused the PIN from {config.pin_source} (wrong PIN); "
        "it is not tried again by this process, so that the token does not lock it"
    )


class _KeyMissing(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- a key in the token -------------------------------------------------------------


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


# -- certificate signing requests -------------------------------------------------


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
