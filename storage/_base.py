"""The object store interface shared by every backend."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.errors import InvalidKey, ObjectCorrupted

_KEY_RE = re.compile(r"[0-9a-f]{64}")

#: read size for streams when the caller does not choose one
DEFAULT_CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    """What a put left in the store."""

    key: str
    """The object's name: the lowercase SHA-256 hex digest of its bytes."""
    size: int
    """Length in bytes."""
    sha256: str
    """Same as ``key``; spelled out so callers need not know keys are digests."""


def digest_of(data: bytes) -> str:
    """The key ``data`` is stored under."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Return ``key`` if it is a lowercase SHA-256 hex digest, else raise InvalidKey."""
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise InvalidKey(f"object keys are 64 lowercase hex digits (a SHA-256), got {key!r}")
    return key


def check_retain_until(retain_until: datetime | None) -> datetime | None:
    """Validate a retention date: timezone-aware and in the future; returned in UTC."""
    if retain_until is None:
        return None
    if retain_until.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware, e.g. datetime.now(UTC)")
    retain_until = retain_until.astimezone(UTC)
    if retain_until <= datetime.now(UTC):
        raise ValueError(f"retain_until {retain_until.isoformat()} is not in the future")
    return retain_until


def verified_chunks(key: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass ``chunks`` through, raising ObjectCorrupted at the end if they do not hash to key."""
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk
    actual = hasher.hexdigest()
    if actual != key:
        raise ObjectCorrupted(key, actual)


class ObjectStore:
    """Content-addressed, write-once storage of bytes; the key is the SHA-256 hex digest.

    Every read checks the digest: bytes that do not hash to their key are never
    returned (``get``) or end the stream with :class:`ObjectCorrupted`
    (``open_stream``). Backends implement the hooks below; all of them raise
    :class:`ObjectNotFound` for a missing key and :class:`InvalidKey` for a
    key that is not a digest.
    """

    def put(
        self,
        data: bytes,
        *,
        content_type: str = "application/pdf",
        retain_until: datetime | None = None,
    ) -> StoredObject:
        """Store ``data`` under its digest; storing the same bytes again changes nothing.

        If the stored copy was damaged, putting the original bytes repairs it.
        ``retain_until`` (timezone-aware, future) locks the object at least that
        long where the backend can lock; it only ever extends an existing lock.
        """
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``, checked against the digest."""
        data = self._read(check_key(key))
        actual = digest_of(data)
        if actual != key:
            raise ObjectCorrupted(key, actual)
        return data

    def open_stream(self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the object in chunks; raises ObjectCorrupted after the last chunk on mismatch.

        The object's existence is checked before the first chunk is asked for,
        so a missing key fails at the call, not half-way through a response.
        """
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        return verified_chunks(key, self._stream(check_key(key), chunk_size))

    def exists(self, key: str) -> bool:
        """True if an object is stored under ``key`` (its bytes are not checked)."""
        raise NotImplementedError

    def iter_keys(self) -> Iterator[str]:
        """Every key in the store, in no particular order."""
        raise NotImplementedError

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        """A URL that downloads the object without credentials, or None if unsupported.

        The URL serves the stored bytes directly, bypassing the digest check.
        """
        raise NotImplementedError

    def retention(self, key: str) -> datetime | None:
        """Until when the object is locked against deletion, or None if it is not locked."""
        raise NotImplementedError

    def modified_at(self, key: str) -> datetime:
        """When the object was stored (UTC); ObjectNotFound if it is not."""
        raise NotImplementedError

    def remove(self, key: str) -> None:
        """Take an object out of the store (``edoc doctor --fix`` for orphans only).

        A store with Object Lock keeps a locked version until its retention ends;
        the key stops being listed or read.
        """
        raise NotImplementedError

    # -- backend hooks -------------------------------------------------------------

    def _read(self, key: str) -> bytes:
        raise NotImplementedError

    def _stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        """Open the object now (raising ObjectNotFound) and return an iterator over chunks."""
        raise NotImplementedError
