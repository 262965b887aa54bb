"""Checks and backups spanning the object store and the registry.

Issuing writes the object first and the registry row second, so a crash in
between leaves an *orphan* object, never a row without its PDF. ``doctor``
reports both kinds of mismatch and objects whose bytes no longer hash to their
key; ``backup`` and ``restore`` move everything through one tar archive.

>>> report = doctor(store, registry)                               # doctest: +SKIP
>>> report.ok, report.orphans, report.missing, report.corrupt     # doctest: +SKIP
>>> backup(store, registry, Path("edoc-2026-11-25.tar"))          # doctest: +SKIP
>>> restore(Path("edoc-2026-11-25.tar"), new_store, new_registry) # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from storage._base import ObjectStore, digest_of
from storage._db import UTCDateTime, schema_revision, snapshot_tx, write_tx
from storage.audit import ChainReport
from storage.errors import BackupError, ObjectCorrupted, ObjectNotFound
from storage.models import ALL_TABLES
from storage.registry import DocumentVersion, Registry

BACKUP_FORMAT = "edoc-storage-backup/1"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DoctorReport:
    """What ``doctor`` found; ``ok`` is True when there is nothing to repair."""

    orphans: tuple[str, ...]
    """Keys of objects no document version refers to (e.g. left by a crash mid-issue)."""
    missing: tuple[DocumentVersion, ...]
    """Versions whose object is not in the store."""
    corrupt: tuple[str, ...]
    """Keys of objects whose bytes do not hash to the key."""
    objects_checked: int
    """How many objects were looked at."""
    versions_checked: int
    """How many registered versions were looked at."""
    audit: ChainReport | None = None
    """The audit chain's verdict, if it was checked."""

    @property
    def ok(self) -> bool:
        """True if store, registry and audit log agree."""
        return (
            not self.orphans
            and not self.missing
            and not self.corrupt
            and (self.audit is None or self.audit.ok)
        )


@dataclass(frozen=True)
class BackupManifest:
    """What a backup archive holds."""

    created_at: datetime
    """When the backup was taken (UTC)."""
    schema_revision: str
    """Registry schema revision; a restore needs the same one."""
    table_rows: dict[str, int] = field(hash=False)
    """Row count per registry table."""
    object_count: int
    """Number of objects."""
    object_bytes: int
    """Their total size."""
    extras: tuple[str, ...] = ()
    """Names of the opaque members the caller added (e.g. the home's encrypted key bundle)."""


def doctor(
    store: ObjectStore,
    registry: Registry,
    *,
    check_contents: bool = True,
    check_audit: bool = True,
) -> DoctorReport:
    """Compare the store with the registry; with ``check_contents`` re-hash every object.

    An object written by an issue still in flight shows up as an orphan for a
    moment; run it again before deleting anything.
    """
    versions = list(registry.iter_versions())
    registered = {v.sha256 for v in versions}
    keys = set(store.iter_keys())
    corrupt: list[str] = []
    if check_contents:
        for key in sorted(keys):
            try:
                for _ in store.open_stream(key):
                    pass
            except ObjectCorrupted:
                corrupt.append(key)
            except ObjectNotFound:
                keys.discard(key)  # vanished while we looked; not ours to judge
    return DoctorReport(
        orphans=tuple(sorted(keys - registered)),
        missing=tuple(v for v in versions if v.sha256 not in keys),
        corrupt=tuple(corrupt),
        objects_checked=len(keys),
        versions_checked=len(versions),
        audit=registry.audit.verify() if check_audit else None,
    )


def remove_orphans(
    store: ObjectStore, registry: Registry, orphans: tuple[str, ...] | list[str], *,
    older_than: timedelta, now: datetime | None = None,
) -> tuple[list[str], list[str]]:
    """Remove orphan objects stored more than ``older_than`` ago; ``(removed, kept)``.

    The registry is read again first, so an object registered since ``doctor``
    looked stays; a young orphan may be an issuance between its object and its
    row, so it is kept for a later run.
    """
    now = now or datetime.now(UTC)
    registered = {v.sha256 for v in registry.iter_versions()}
    removed: list[str] = []
    kept: list[str] = []
    for key in orphans:
        if key in registered:
            continue
        try:
            if now - store.modified_at(key) < older_than:
                kept.append(key)
                continue
            store.remove(key)
        except ObjectNotFound:
            continue
        removed.append(key)
    return removed, kept


def backup(
    store: ObjectStore, registry: Registry, dest: Path, *, extras: dict[str, bytes] | None = None
) -> BackupManifest:
    """Write every registry row and every object into one new tar archive at ``dest``.

    The registry is read first, in one snapshot; objects are read after, so every
    row's object is included (objects are always written before their rows).
    Fails with ObjectCorrupted rather than archive a damaged object. ``extras``
    are stored as given (opaque to storage; the caller encrypts what is secret)
    under ``extra/NAME`` with their digest in the manifest: :func:`read_extras`.
    """
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} already exists; backups are never overwritten")
    created_at = datetime.now(UTC)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            tables, revision = _dump_tables(tar, registry)
            objects = _dump_objects(tar, store)
            extra_meta = {}
            for name, data in sorted((extras or {}).items()):
                if not name or "/" in name or name.startswith("."):
                    raise BackupError(f"not a plain member name: {name!r}")
                _add(tar, f"extra/{name}", data)
                extra_meta[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            manifest = {
                "format": BACKUP_FORMAT,
                "created_at": created_at.isoformat(),
                "schema_revision": revision,
                "tables": tables,
                "objects": objects,
                "extras": extra_meta,
            }
            _add(tar, _MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, dest)
    except OSError as exc:
        raise BackupError(f"cannot write backup {dest}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return _manifest_value(manifest)


def _open_backup(archive: Path) -> tuple[tarfile.TarFile, dict[str, Any]]:
    """The open archive and its manifest, checked to be an edoc backup."""
    try:
        tar = tarfile.open(archive, "r")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read backup {archive}") from exc
    try:
        manifest = json.loads(_member(tar, _MANIFEST))
    except ValueError as exc:
        tar.close()
        raise BackupError(f"the manifest of {archive} is not JSON") from exc
    except BackupError:
        tar.close()
        raise
    if manifest.get("format") != BACKUP_FORMAT:
        tar.close()
        raise BackupError(f"{archive} is not an {BACKUP_FORMAT} archive")
    return tar, manifest


def read_extras(archive: Path) -> dict[str, bytes]:
    """The extra members a backup was given (checked against the manifest's digests)."""
    tar, manifest = _open_backup(archive)
    with tar:
        found = {}
        for name, meta in manifest.get("extras", {}).items():
            data = _member(tar, f"extra/{name}")
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise BackupError(f"extra/{name} in {archive} does not match the manifest")
            found[name] = data
    return found


def restore(archive: Path, store: ObjectStore, registry: Registry) -> BackupManifest:
    """Load a backup into an empty store and an empty (migrated) registry."""
    tar, manifest = _open_backup(archive)
    with tar:
        with snapshot_tx(registry.engine) as conn:
            revision = schema_revision(conn)
        if manifest["schema_revision"] != revision:
            raise BackupError(
                f"backup schema {manifest['schema_revision']} differs from the registry's"
                f" {revision}; restore with the edoc version that made the backup"
            )
        _require_empty(store, registry)
        dumps = {}
        for name, meta in manifest["tables"].items():
            data = _member(tar, meta["file"])
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise BackupError(f"{meta['file']} in {archive} does not match the manifest")
            dumps[name] = data
        # objects before rows, as when issuing: a crash here leaves orphans only
        now = datetime.now(UTC)
        for obj in manifest["objects"]:
            data = _member(tar, f"objects/{obj['key']}")
            if digest_of(data) != obj["key"]:
                raise BackupError(f"object {obj['key']} in {archive} is damaged")
            until = datetime.fromisoformat(obj["retain_until"]) if obj.get("retain_until") else None
            store.put(data, retain_until=until if until and until > now else None)
        _load_tables(registry, dumps)
    return _manifest_value(manifest)


# -- registry rows as JSON lines -------------------------------------------------------


def _encode(column: sa.Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return value.isoformat()
    if isinstance(column.type, sa.LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(column: sa.Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, sa.LargeBinary):
        return base64.b64decode(value)
    return value


def _dump_tables(tar: tarfile.TarFile, registry: Registry) -> tuple[dict[str, Any], str]:
    tables: dict[str, Any] = {}
    with snapshot_tx(registry.engine) as conn:
        revision = schema_revision(conn)
        for table in ALL_TABLES:
            buf = io.BytesIO()
            rows = 0
            query = sa.select(table).order_by(*table.primary_key.columns)
            for row in conn.execute(query):
                record = {c.name: _encode(c, row._mapping[c.name]) for c in table.columns}
                buf.write(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
                rows += 1
            data = buf.getvalue()
            path = f"registry/{table.name}.jsonl"
            _add(tar, path, data)
            tables[table.name] = {"file": path, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
    if revision is None:
        raise BackupError("the registry has no schema; open it with Registry.open first")
    return tables, revision


def _dump_objects(tar: tarfile.TarFile, store: ObjectStore) -> list[dict[str, Any]]:
    objects = []
    for key in sorted(store.iter_keys()):
        data = store.get(key)  # verifies the digest
        until = store.retention(key)
        _add(tar, f"objects/{key}", data)
        objects.append({"key": key, "size": len(data), "retain_until": until.isoformat() if until else None})
    return objects


def _load_tables(registry: Registry, dumps: dict[str, bytes]) -> None:
    with write_tx(registry.engine) as conn:
        # the migration seeds audit_head; the backup carries the real one
        for table in reversed(ALL_TABLES):
            conn.execute(table.delete())
        for table in ALL_TABLES:
            rows = [
                {c.name: _decode(c, rec.get(c.name)) for c in table.columns}
                for rec in _jsonl(dumps.get(table.name, b""))
            ]
            if rows:
                conn.execute(table.insert(), rows)


def _jsonl(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        if line.strip():
            yield json.loads(line)


def _require_empty(store: ObjectStore, registry: Registry) -> None:
    has_objects = next(iter(store.iter_keys()), None) is not None
    with snapshot_tx(registry.engine) as conn:
        filled = [
            t.name
            for t in ALL_TABLES
            # audit_head is seeded by the migration; a home's first agency by its first use
            if t.name not in ("audit_head", "agencies") and conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        ]
    if has_objects or filled:
        where = ", ".join((["object store"] if has_objects else []) + filled)
        raise BackupError(f"restore needs an empty store and registry; not empty: {where}")


# -- tar helpers -----------------------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o444
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    try:
        fh = tar.extractfile(name)
        if fh is None:
            raise KeyError(name)
        return fh.read()
    except KeyError:
        raise BackupError(f"the backup has no {name}") from None
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {name} from the backup") from exc


def _manifest_value(manifest: dict[str, Any]) -> BackupManifest:
    return BackupManifest(
        created_at=datetime.fromisoformat(manifest["created_at"]),
        schema_revision=manifest["schema_revision"],
        table_rows={name: meta["rows"] for name, meta in manifest["tables"].items()},
        object_count=len(manifest["objects"]),
        object_bytes=sum(o["size"] for o in manifest["objects"]),
        extras=tuple(sorted(manifest.get("extras", {}))),
    )
