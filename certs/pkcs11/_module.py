"""The PKCS#11 library, loaded and initialised once per process and path, and the process's registries.

PKCS#11 logs in the whole process, so tokens (and the PINs a token refused) are
kept here once per process; a forked child initialises the module again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pkcs11
from pkcs11 import exceptions as p11

from .errors import TokenError, TokenNotFound, TokenUnavailable

if TYPE_CHECKING:
    from .token import Pkcs11Token


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


def _close_quietly(session) -> None:
    try:
        session.close()
    except p11.PKCS11Error:
        pass  # already gone on the token's side
