"""Backends for the storage contract suite: every test here runs against each of them.

``object_store`` is a LocalObjectStore and an S3ObjectStore (moto, Object Lock);
``database_url`` / ``registry`` are SQLite and PostgreSQL. ``tamper`` changes
an object's bytes behind the store's back, the way a disk fault or an intruder
with bucket credentials would.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.registry import Registry


@pytest.fixture(params=["local", "s3"])
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return S3ObjectStore.from_config(request.getfixturevalue("s3_config"))


@pytest.fixture
def tamper(request: pytest.FixtureRequest, object_store: ObjectStore) -> Callable[[str, bytes], None]:
    """Replace the bytes stored under a key without going through the store."""
    if isinstance(object_store, LocalObjectStore):

        def overwrite_file(key: str, data: bytes) -> None:
            path = object_store.path_of(key)
            os.chmod(path, 0o644)
            path.write_bytes(data)
            os.chmod(path, 0o444)

        return overwrite_file

    client = request.getfixturevalue("moto_server").client()

    def upload_new_version(key: str, data: bytes) -> None:
        # Object Lock keeps the original version, but a plain PUT still makes a
        # newer version the one a GET returns: exactly what the digest check is for
        client.put_object(object_store.bucket, object_store.prefix + key, io.BytesIO(data), len(data))

    return upload_new_version


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    with Registry.open(database_url) as reg:
        yield reg
