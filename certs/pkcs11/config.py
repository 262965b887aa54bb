"""Where a key lives in a token and how to log in: :class:`Pkcs11KeyConfig` (plain data)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import TokenLoginFailed

log = logging.getLogger("certs.pkcs11")


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
