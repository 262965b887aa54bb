"""Private keys and certificates on disk.

Keys are always written as encrypted PKCS#8 (``BestAvailableEncryption``) and
created with 0600 permissions, so a key never exists on disk in the clear, not
even for an instant.

>>> key = generate_private_key("ecdsa-p256")
>>> save_private_key(Path("/tmp/k.pem"), key, passphrase=b"s3cret")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from .errors import KeyLoadError

KeyType = Literal["ecdsa-p256", "rsa-3072", "rsa-2048"]
#: ECDSA P-256 is the default: small, fast, strong. RSA-3072 for relying parties that
#: want RSA at the strength recommended beyond 2030; RSA-2048 (112-bit, NIST SP 800-57
#: allows it through 2030) for those whose software or policy still asks for it.
KEY_TYPES: tuple[KeyType, ...] = ("ecdsa-p256", "rsa-3072", "rsa-2048")
#: modulus size of each RSA key type
RSA_BITS: dict[str, int] = {"rsa-3072": 3072, "rsa-2048": 2048}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def generate_private_key(key_type: KeyType) -> PrivateKey:
    """Generate a fresh key of the named type."""
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type in RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS[key_type])
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _private_temp(path: Path, data: bytes) -> Path:
    """``data`` in a uniquely named 0600 file beside ``path`` (fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # umask may have removed bits, never added; be explicit
    return tmp


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a file that only the owner can read (0600 from the start), atomically."""
    os.replace(_private_temp(path, data), path)


def create_private_file_once(path: Path, data: bytes) -> bytes:
    """Create ``path`` with ``data`` unless it exists; returns what the file holds.

    Safe when several processes race to create the same secret: exactly one file
    wins (an atomic hard link that fails if the name exists) and all return its bytes.
    """
    if not path.exists():
        tmp = _private_temp(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def save_private_key(path: Path, key: PrivateKey, *, passphrase: bytes) -> None:
    """Store ``key`` as passphrase-encrypted PKCS#8 PEM with 0600 permissions."""
    if not passphrase:
        raise ValueError("a non-empty passphrase is required to store a private key")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    write_private_file(path, pem)


def load_private_key(path: Path, *, passphrase: bytes | None) -> PrivateKey:
    """Load a PEM or DER private key, encrypted or not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read private key {path}: {exc.strerror}") from exc
    loader = (
        serialization.load_pem_private_key
        if b"-----BEGIN" in data
        else serialization.load_der_private_key
    )
    try:
        key = loader(data, password=passphrase or None)
    except TypeError as exc:
        raise KeyLoadError(
            f"{path} is encrypted: set the key passphrase (EDOC_KEY_PASSPHRASE)"
        ) from exc
    except ValueError as exc:
        raise KeyLoadError(
            f"cannot decrypt or parse private key {path}: wrong passphrase or not a key"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyLoadError(f"{path}: only RSA and ECDSA keys are supported")
    return key


def save_certificates(path: Path, certs: list[x509.Certificate]) -> None:
    """Write certificates as PEM (public data: 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Load every certificate of a PEM bundle or a single DER certificate."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read certificate file {path}: {exc.strerror}") from exc
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise KeyLoadError(f"{path} does not hold a readable X.509 certificate") from exc


def load_certificate(path: Path) -> x509.Certificate:
    """Load the first certificate of a file."""
    return load_certificates(path)[0]


def load_pkcs12(
    path: Path, *, password: bytes | None
) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Load (key, certificate, additional certificates) from a PKCS#12 file."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), password)
    except OSError as exc:
        raise KeyLoadError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise KeyLoadError(f"{path}: wrong password or not a PKCS#12 file") from exc
    if key is None or cert is None:
        raise KeyLoadError(f"{path} must hold a private key and its certificate")
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyLoadError(f"{path}: only RSA and ECDSA keys are supported")
    return key, cert, list(extra)
