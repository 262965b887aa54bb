"""One token: a login held for the process and a pool of sessions, retried when the token drops one."""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography import x509
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11

from ..keys import KeyType
from ._module import (
    _REFUSED,
    _REGISTRY_LOCK,
    _TOKENS,
    _close_quietly,
    _Module,
    _module,
    _name,
    _pin_digest,
)
from .config import Pkcs11KeyConfig
from .errors import TokenError, TokenKeyNotFound, TokenLoginFailed, TokenUnavailable

if TYPE_CHECKING:
    from .key import TokenKey

log = logging.getLogger("certs.pkcs11")

T = TypeVar("T")

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
        from .provisioning import generate_key

        return generate_key(self, key_type, label=label, key_id=key_id)

    def store_certificate(
        self, cert: x509.Certificate, *, label: str | None, key_id: bytes | None
    ) -> None:
        """Put ``cert`` on the token beside its key (replacing certificates with that label/id)."""
        from .provisioning import store_certificate

        store_certificate(self, cert, label=label, key_id=key_id)


def _wrong_pin(config: Pkcs11KeyConfig) -> TokenLoginFailed:
    return TokenLoginFailed(
        f"token {config.token_label!r} refused the PIN from {config.pin_source} (wrong PIN); "
        "it is not tried again by this process, so that the token does not lock it"
    )


class _KeyMissing(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
