"""Errors of the storage package.

Every error storage raises on purpose derives from :class:`StorageError`.
Errors of the libraries underneath (minio, urllib3, SQLAlchemy, the OS) are
converted where they happen, so callers never catch third-party types.
``kind`` and ``http_status`` mirror ``edoc.errors.EdocError`` so the API can
map both families in one place without storage importing edoc.
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error the storage package raises on purpose."""

    #: short machine-readable kind, usable as a problem ``type`` suffix
    kind = "storage"
    #: HTTP status an API answer may map this error to
    http_status = 500

    def diagnostics(self) -> str:
        """A text for people: what went wrong and what to do."""
        text = str(self)
        cause = self.__cause__
        if cause is not None:
            text += f"\n  caused by: {type(cause).__name__}: {cause}"
        return text


class StorageUnavailable(StorageError):
    """The object store or the database cannot be reached or refused the operation."""

    kind = "storage-unavailable"
    http_status = 503

    def diagnostics(self) -> str:
        return (
            super().diagnostics()
            + "\n  Check that the service is running and that the configured endpoint,"
            " credentials and bucket/database name are right."
        )


class InvalidKey(StorageError, ValueError):
    """An object key is not a lowercase SHA-256 hex digest."""

    kind = "invalid-key"
    http_status = 400


class ObjectNotFound(StorageError):
    """No object is stored under the key."""

    kind = "not-found"
    http_status = 404

    def __init__(self, key: str):
        super().__init__(f"no stored object {key}")
        self.key = key


class ObjectCorrupted(StorageError):
    """The bytes stored under a key no longer hash to the key: they are never served."""

    kind = "object-corrupted"
    http_status = 500

    def __init__(self, key: str, actual: str):
        super().__init__(f"stored object {key} is corrupted: its bytes hash to {actual}")
        self.key = key
        self.actual = actual

    def diagnostics(self) -> str:
        return (
            f"{self}\n  The object was changed behind the store's back (disk fault or"
            " tampering). Restore it from a backup; run `edoc doctor` to find others."
        )


class RetentionViolation(StorageError):
    """The operation would delete, overwrite or shorten the retention of a locked object."""

    kind = "retention-violation"
    http_status = 409


class DocumentNotFound(StorageError):
    """No document is registered under the id."""

    kind = "not-found"
    http_status = 404

    def __init__(self, doc_id: str):
        super().__init__(f"no document {doc_id!r} in the registry")
        self.doc_id = doc_id


class Conflict(StorageError):
    """The change clashes with what is already stored (duplicate id or digest)."""

    kind = "conflict"
    http_status = 409


class BackupError(StorageError):
    """A backup archive cannot be written or read, or does not match its manifest."""

    kind = "backup"
    http_status = 500


class ApiKeyNotFound(StorageError):
    """No API key has the id."""

    kind = "not-found"
    http_status = 404

    def __init__(self, key_id: str):
        super().__init__(f"no API key {key_id!r}")
        self.key_id = key_id
