"""Where the seal and TSA private keys live: a file in the home or a PKCS#11 token.

A :class:`KeySource` turns a role's credential (certificate and chain) into the
pyHanko signer for it; the settings pick one per role (``seal_key_source``,
``tsa_key_source``), nothing else needs to know which:

>>> source = key_source_for(settings, "seal")  # doctest: +SKIP
>>> signer = source.signer(home.pki.seal)  # opens the token, checks PIN, key and certificate

Building a signer checks everything a signature will need, so a wrong PIN, a
missing token or key, or a key that does not match the certificate is an
error at start-up, not at the first issuance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pyhanko.sign.signers import Signer

from certs.pkcs11 import Pkcs11KeyConfig, TokenKey
from certs.pki import Credential
from signing.keys import in_memory_signer
from signing.pkcs11_signer import Pkcs11Signer

from .errors import ConfigurationError
from .settings import Settings

Role = Literal["seal", "tsa"]


class KeySource:
    """Where one role's private key lives; makes the pyHanko signer for it."""

    #: the settings value that selects this source
    name = ""

    def signer(self, credential: Credential) -> Signer:
        """A signer for ``credential``'s key, checked to work (raises a CertsError if not)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the key is, for people (never a secret)."""
        raise NotImplementedError


@dataclass(frozen=True)
class FileKeySource(KeySource):
    """The key is an encrypted PKCS#8 file beside the certificate in ``pki/``."""

    passphrase: bytes | None
    name = "file"

    def signer(self, credential: Credential) -> Signer:
        key = credential.load_key(self.passphrase)
        return in_memory_signer(credential.cert, key, list(credential.chain))

    def describe(self) -> str:
        return "encrypted key file in the home"


@dataclass(frozen=True)
class Pkcs11KeySource(KeySource):
    """The key is in a PKCS#11 token; the certificate stays in ``pki/``."""

    config: Pkcs11KeyConfig
    name = "pkcs11"

    def signer(self, credential: Credential) -> Signer:
        key = TokenKey.open(self.config)
        key.check_certificate(credential.cert)
        return Pkcs11Signer(key=key, cert=credential.cert, chain=credential.chain)

    def describe(self) -> str:
        return f"PKCS#11 token {self.config.token_label!r}, key {self.config.key_description}"


def pkcs11_config(settings: Settings, role: Role) -> Pkcs11KeyConfig:
    """The token settings for ``role``'s key; a ConfigurationError says what is missing."""
    label = getattr(settings, f"pkcs11_{role}_key_label")
    key_id_hex = getattr(settings, f"pkcs11_{role}_key_id")
    missing = [n for n in ("pkcs11_module", "pkcs11_token_label") if not getattr(settings, n)]
    if missing:
        raise ConfigurationError(
            f"the {role} key is in a PKCS#11 token (key source pkcs11) but "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
        )
    try:
        key_id = bytes.fromhex(key_id_hex) if key_id_hex else None
    except ValueError as exc:
        raise ConfigurationError(
            f"pkcs11_{role}_key_id must be hexadecimal, e.g. 01a2: {key_id_hex!r}"
        ) from exc
    pin_file = settings.pkcs11_pin_file
    if pin_file is not None and not pin_file.is_absolute():
        pin_file = settings.home / pin_file
    try:
        return Pkcs11KeyConfig(
            module=settings.pkcs11_module or "",
            token_label=settings.pkcs11_token_label or "",
            key_label=label if (label or key_id) else f"edoc-{role}",
            key_id=key_id,
            pin_env=None if pin_file is not None else settings.pkcs11_pin_env,
            pin_file=pin_file,
            max_sessions=settings.pkcs11_max_sessions,
        )
    except ValueError as exc:
        raise ConfigurationError(f"PKCS#11 settings of the {role} key: {exc}") from exc


#: the key sources a setting can name, by name
KEY_SOURCES: dict[str, Callable[[Settings, Role], KeySource]] = {
    FileKeySource.name: lambda settings, role: FileKeySource(settings.passphrase()),
    Pkcs11KeySource.name: lambda settings, role: Pkcs11KeySource(pkcs11_config(settings, role)),
}


def key_source_for(settings: Settings, role: Role) -> KeySource:
    """The key source the settings name for ``role`` (``seal_key_source``, ``tsa_key_source``)."""
    return KEY_SOURCES[getattr(settings, f"{role}_key_source")](settings, role)


@dataclass(frozen=True)
class KeyStatus:
    """One key checked at start-up: its role, where it is and whose certificate it signs for."""

    role: str
    source: str
    location: str
    subject: str
    not_after: str


__all__ = [
    "KEY_SOURCES",
    "FileKeySource",
    "KeySource",
    "KeyStatus",
    "Pkcs11KeySource",
    "key_source_for",
    "pkcs11_config",
]
