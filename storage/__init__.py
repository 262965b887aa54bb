"""Storage for edoc: sealed PDFs by digest, the document registry, the audit log, backups.

>>> from storage import LocalObjectStore, Registry                # doctest: +SKIP
>>> store = LocalObjectStore(Path("/var/lib/edoc/objects"))      # doctest: +SKIP
>>> registry = Registry.open("sqlite:////var/lib/edoc/registry.db")  # doctest: +SKIP
>>> stored = store.put(pdf_bytes)                                 # doctest: +SKIP

Modules: ``objects`` (LocalObjectStore, S3ObjectStore), ``registry``
(Registry, DocumentRecord, ApiKey), ``audit`` (AuditLog), ``maintenance``
(doctor, backup, restore), ``errors`` (StorageError and kin). Settings are
passed in as arguments; nothing here reads the environment.
"""

from storage.audit import AuditEntry, AuditLog, ChainReport
from storage.errors import (
    ApiKeyNotFound,
    BackupError,
    Conflict,
    DocumentNotFound,
    InvalidKey,
    ObjectCorrupted,
    ObjectNotFound,
    RetentionViolation,
    StorageError,
    StorageUnavailable,
)
from storage.maintenance import BackupManifest, DoctorReport, backup, doctor, restore
from storage.objects import LocalObjectStore, ObjectStore, S3Config, S3ObjectStore, StoredObject
from storage.registry import ApiKey, DocumentRecord, DocumentVersion, Registry

__all__ = [
    "ApiKey",
    "ApiKeyNotFound",
    "AuditEntry",
    "AuditLog",
    "BackupError",
    "BackupManifest",
    "ChainReport",
    "Conflict",
    "DoctorReport",
    "DocumentNotFound",
    "DocumentRecord",
    "DocumentVersion",
    "InvalidKey",
    "LocalObjectStore",
    "ObjectCorrupted",
    "ObjectNotFound",
    "ObjectStore",
    "Registry",
    "RetentionViolation",
    "S3Config",
    "S3ObjectStore",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "backup",
    "doctor",
    "restore",
]
