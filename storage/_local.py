"""Objects as read-only files in sharded directories on one machine's disk."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage._base import (
    ObjectStore,
    StoredObject,
    check_key,
    check_retain_until,
    digest_of,
)
from storage.errors import ObjectNotFound, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

_warned = False


class LocalObjectStore(ObjectStore):
    """Objects as files ``root/ab/cd/<hex>``, written atomically and made read-only.

    Meant for development and single-machine installs: it has no retention
    lock (``retention`` is always None) and no presigned URLs.

    >>> store = LocalObjectStore(Path(tmp))                       # doctest: +SKIP
    >>> stored = store.put(b"%PDF-1.7 ...")                       # doctest: +SKIP
    >>> store.get(stored.key)                                     # doctest: +SKIP
    """

    def __init__(self, root: Path):
        global _warned
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create object store directory {self.root}") from exc
        if not _warned:
            _warned = True
            # info, not warning: every CLI command opens the store; `edoc serve` tells
            # the operator once, at start-up, where it matters.
            log.info(
                "LocalObjectStore keeps objects on one machine's disk without retention "
                "locks; use S3ObjectStore for production"
            )

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    def put(
        self,
        data: bytes,
        *,
        content_type: str = "application/pdf",
        retain_until: datetime | None = None,
    ) -> StoredObject:
        check_retain_until(retain_until)  # validated for parity; a local disk cannot lock
        key = digest_of(data)
        path = self._path(key)
        stored = StoredObject(key=key, size=len(data), sha256=key)
        if path.exists() and _digest_of_file(path) == key:
            return stored
        # absent, or damaged behind our back: (re)write it from the good bytes
        try:
            fd, tmp, made = _new_temp_file(path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, 0o444)
                # rename is atomic: readers see the whole file or none; a racing
                # writer of the same bytes just replaces it with identical content
                os.rename(tmp, path)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            _fsync_dir(path.parent)
            # a shard folder made for this object exists on disk only once the
            # entry in its own parent does
            for folder in made:
                _fsync_dir(folder.parent)
        except OSError as exc:
            raise StorageError(f"cannot write object {key} under {self.root}") from exc
        return stored

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read object {key}") from exc

    def _stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            fh = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read object {key}") from exc
        return _chunks(fh, key, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(check_key(key)).is_file()

    def iter_keys(self) -> Iterator[str]:
        for first in sorted(_subdirs(self.root)):
            for second in sorted(_subdirs(first)):
                for entry in sorted(os.scandir(second), key=lambda e: e.name):
                    if entry.is_file() and not entry.name.startswith("."):
                        yield entry.name

    def retention(self, key: str) -> datetime | None:
        if not self.exists(key):
            raise ObjectNotFound(key)
        return None  # a plain disk cannot lock files against their owner

    def presigned_url(self, key: str, expires: timedelta) -> str | None:
        check_key(key)
        return None

    def modified_at(self, key: str) -> datetime:
        try:
            mtime = self._path(check_key(key)).stat().st_mtime
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        return datetime.fromtimestamp(mtime, UTC)

    def remove(self, key: str) -> None:
        path = self._path(check_key(key))
        try:
            path.unlink()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        _fsync_dir(path.parent)

    def path_of(self, key: str) -> Path:
        """Where the object's file is (for operators and tests; never write to it)."""
        return self._path(check_key(key))


def _chunks(fh, key: str, chunk_size: int) -> Iterator[bytes]:
    try:
        while chunk := fh.read(chunk_size):
            yield chunk
    except OSError as exc:
        raise StorageError(f"cannot read object {key}") from exc
    finally:
        fh.close()


def _digest_of_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _subdirs(path: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(path) if e.is_dir() and len(e.name) == 2]
    except FileNotFoundError:
        return []


def _new_temp_file(folder: Path) -> tuple[int, str, list[Path]]:
    """A new, empty, exclusively created ``.tmp-*.part`` file in ``folder``, and the folders made for it.

    What ``tempfile.mkstemp`` does, minus its costs per object: the folder is made
    only when the first object of its shard arrives (the caller then makes the
    new folders durable), and the name is one call to ``secrets`` instead of a
    Python loop of ``random.choice``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    made: list[Path] = []
    for attempt in range(8):
        name = os.path.join(folder, f".tmp-{secrets.token_hex(8)}.part")
        try:
            return os.open(name, flags, 0o600), name, made
        except FileNotFoundError:
            if attempt:
                raise
            made = _make_folders(folder)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones that were missing, outermost first.

    All of them, made here or by a writer racing us: until their entries in their
    parents are on disk, neither writer's object is.
    """
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
    return missing[::-1]


def _fsync_dir(path: Path) -> None:
    # the rename is durable only once the directory entry is on disk
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
        os.unlink(path)
    except OSError:
        pass
