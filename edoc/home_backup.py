"""The home's key material in a backup: encrypted with a passphrase, never in clear.

A backup of the registry and the objects alone restores documents that the new
home cannot vouch for: its own PKI (trust anchors, CA keys, seal and TSA keys)
is another one, so every restored document verifies as "not a trusted issuer".
:func:`pack_home_keys` puts what makes the agency itself - ``edoc.toml``,
``pki/`` (certificates, CRLs, the encrypted private keys), ``secrets/`` (the
key passphrase file, the holder-link key), the ``templates/``, every onboarded agency's
``agencies/ID/`` (its seal key and certificate, templates, retired keys) and the
``truststore/`` -
into one tar, encrypted with AES-256-GCM under a key derived from the backup
passphrase with scrypt (both from ``cryptography``). :func:`unpack_home_keys`
writes them into an empty home folder.

Keys kept in an HSM (``*_key_source = "pkcs11"``) are not in the home and so
not in the bundle; neither is a key passphrase given by ``EDOC_KEY_PASSPHRASE``:
:func:`not_included` says what to keep separately.
"""

from __future__ import annotations

import base64
import io
import json
import os
import tarfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import ConfigurationError
from .settings import CONFIG_NAME, Settings

#: the backup member holding the encrypted bundle
BUNDLE_NAME = "home-keys.json"
FORMAT = "edoc-home-keys/1"
#: what of the home goes into the bundle (objects and the registry are the backup's own data)
PARTS = (CONFIG_NAME, "pki", "secrets", "templates", "agencies", "truststore")
MIN_PASSPHRASE = 12
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # ~32 MB, ~0.1 s: RFC 7914's interactive parameters


def _key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def check_passphrase(passphrase: bytes) -> None:
    """Refuse a passphrase too short to protect the agency's keys."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ConfigurationError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")


def pack_home_keys(home: Path, passphrase: bytes) -> bytes:
    """The home's configuration and key material as one encrypted bundle (JSON envelope)."""
    check_passphrase(passphrase)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for part in PARTS:
            path = home / part
            if path.exists():
                tar.add(path, arcname=part, recursive=True,
                        filter=lambda info: None if info.name.endswith((".lock", ".part")) else info)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": FORMAT, "kdf": "scrypt", **_SCRYPT, "cipher": "AES-256-GCM",
              "salt": base64.b64encode(salt).decode(), "nonce": base64.b64encode(nonce).decode()}
    aad = json.dumps(header, sort_keys=True).encode()
    sealed = AESGCM(_key(passphrase, salt, **_SCRYPT)).encrypt(nonce, buf.getvalue(), aad)
    return json.dumps({**header, "ciphertext": base64.b64encode(sealed).decode()}).encode()


def unpack_home_keys(bundle: bytes, passphrase: bytes, home: Path) -> list[str]:
    """Decrypt a bundle into the empty (or missing) folder ``home``; returns the parts written."""
    try:
        envelope = json.loads(bundle)
        header = {k: v for k, v in envelope.items() if k != "ciphertext"}
        if header.get("format") != FORMAT or header.get("kdf") != "scrypt":
            raise ValueError(header.get("format"))
        salt, nonce = base64.b64decode(header["salt"]), base64.b64decode(header["nonce"])
        sealed = base64.b64decode(envelope["ciphertext"])
        params = {k: int(header[k]) for k in ("n", "r", "p")}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"the backup's key bundle is not an {FORMAT} bundle") from exc
    aad = json.dumps(header, sort_keys=True).encode()
    try:
        plain = AESGCM(_key(passphrase, salt, **params)).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise ConfigurationError("wrong backup passphrase (or a damaged backup): the key "
                                 "bundle does not decrypt") from None
    taken = [p for p in PARTS if (home / p).exists()]
    if taken:
        raise ConfigurationError(f"{home} already holds {', '.join(taken)}: restore the agency's "
                                 "keys into an empty folder (edoc --home NEW_FOLDER restore ...)")
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
        tar.extractall(home, filter="data")  # no absolute paths, links out or devices
        written = sorted({m.name.split("/", 1)[0] for m in tar.getmembers()})
    for secret in ("secrets", "pki", "agencies"):
        if (home / secret).is_dir():
            (home / secret).chmod(0o700)
    return written


def not_included(settings: Settings) -> list[str]:
    """What a restore needs besides the bundle: key material that does not live in the home."""
    missing = []
    if settings.key_passphrase is not None:
        missing.append("the key passphrase (EDOC_KEY_PASSPHRASE): keep it where you keep it now")
    elif settings.key_passphrase_file is not None:
        path = settings.key_passphrase_file
        path = path if path.is_absolute() else settings.home / path
        if not path.resolve().is_relative_to(settings.home.resolve()):
            missing.append(f"the key passphrase file {path} (outside the home)")
    for role in ("seal", "tsa"):
        if getattr(settings, f"{role}_key_source") == "pkcs11":
            missing.append(f"the {role} key: it lives in the HSM token, back the token up as its maker says")
    return missing
