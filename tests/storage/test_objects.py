"""The object store contract, run against the local and the S3 backend alike."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from storage.errors import (
    InvalidKey,
    ObjectCorrupted,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from storage.objects import LocalObjectStore, S3Config, S3ObjectStore

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
MISSING = hashlib.sha256(b"never stored").hexdigest()


def test_put_returns_the_sha256_as_key(object_store):
    stored = object_store.put(PDF)

    assert stored.key == stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.size == len(PDF)
    assert object_store.get(stored.key) == PDF


def test_putting_the_same_bytes_twice_stores_one_object(object_store):
    first = object_store.put(PDF)
    second = object_store.put(PDF)

    assert first == second
    assert list(object_store.iter_keys()) == [first.key]


def test_iter_keys_lists_every_object(object_store):
    keys = {object_store.put(PDF + bytes([i])).key for i in range(5)}

    assert set(object_store.iter_keys()) == keys
    assert all(object_store.exists(k) for k in keys)


def test_missing_key_is_not_found(object_store):
    assert not object_store.exists(MISSING)
    with pytest.raises(ObjectNotFound) as err:
        object_store.get(MISSING)
    assert err.value.key == MISSING
    with pytest.raises(ObjectNotFound):
        object_store.open_stream(MISSING)


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "A" * 64, MISSING[:-1], MISSING + "0"])
def test_a_key_that_is_not_a_digest_is_refused(object_store, key):
    with pytest.raises(InvalidKey):
        object_store.get(key)
    with pytest.raises(ValueError):  # InvalidKey is a ValueError too
        object_store.exists(key)


def test_stream_yields_the_stored_bytes_in_chunks(object_store):
    key = object_store.put(PDF).key

    chunks = list(object_store.open_stream(key, chunk_size=1000))

    assert b"".join(chunks) == PDF
    assert len(chunks) > 1


def test_corrupted_object_is_never_served(object_store, tamper):
    key = object_store.put(PDF).key
    evil = PDF.replace(b"%%EOF", b"%%EVL")
    tamper(key, evil)

    with pytest.raises(ObjectCorrupted) as err:
        object_store.get(key)
    assert err.value.key == key
    assert err.value.actual == hashlib.sha256(evil).hexdigest()
    assert "backup" in err.value.diagnostics()


def test_corrupted_object_fails_the_stream_at_the_end(object_store, tamper):
    key = object_store.put(PDF).key
    tamper(key, PDF[:-1] + b"X")

    received = []
    with pytest.raises(ObjectCorrupted):
        for chunk in object_store.open_stream(key, chunk_size=4096):
            received.append(chunk)
    assert len(b"".join(received)) == len(PDF)


def test_putting_the_original_bytes_again_repairs_a_corrupted_object(object_store, tamper):
    key = object_store.put(PDF).key
    tamper(key, b"%PDF forged")

    assert object_store.put(PDF).key == key

    assert object_store.get(key) == PDF
    assert list(object_store.iter_keys()) == [key]


def test_retention_of_a_missing_key_is_not_found(object_store):
    with pytest.raises(ObjectNotFound):
        object_store.retention(MISSING)


def test_retain_until_must_be_aware_and_in_the_future(object_store):
    with pytest.raises(ValueError, match="timezone-aware"):
        object_store.put(PDF, retain_until=datetime(2100, 1, 1))
    with pytest.raises(ValueError, match="future"):
        object_store.put(PDF, retain_until=datetime.now(UTC) - timedelta(days=1))


def test_empty_object_round_trips(object_store):
    key = object_store.put(b"").key

    assert object_store.get(key) == b""
    assert b"".join(object_store.open_stream(key)) == b""


# -- local disk ----------------------------------------------------------------------------


def test_local_objects_are_read_only_sharded_files(tmp_path):
    store = LocalObjectStore(tmp_path)
    key = store.put(PDF).key

    path = tmp_path / key[:2] / key[2:4] / key
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert store.presigned_url(key, timedelta(minutes=5)) is None
    assert store.retention(key) is None


def test_local_store_leaves_no_temp_files(tmp_path):
    store = LocalObjectStore(tmp_path)
    for i in range(3):
        store.put(PDF + bytes([i]))
        store.put(PDF + bytes([i]))

    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert leftovers == []


def test_local_store_makes_shard_folders_again_when_they_are_gone(tmp_path):
    import shutil

    store = LocalObjectStore(tmp_path)
    key = store.put(PDF).key
    shutil.rmtree(tmp_path / key[:2])  # an operator cleaned up behind the store's back
    assert store.put(PDF).key == key
    assert store.get(key) == PDF


# -- S3 ------------------------------------------------------------------------------------


def test_s3_put_sets_an_object_lock_retention(s3_config, moto_server):
    store = S3ObjectStore.from_config(s3_config)
    before = datetime.now(UTC).replace(microsecond=0)
    key = store.put(PDF).key

    until = store.retention(key)
    assert until is not None
    assert before + timedelta(days=1) - timedelta(seconds=1) <= until <= datetime.now(UTC) + timedelta(days=1)
    headers = {k.lower(): v for k, v in moto_server.client().stat_object(s3_config.bucket, key).metadata.items()}
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert headers["content-type"] == "application/pdf"


def test_s3_explicit_retain_until_is_applied_and_only_ever_extended(s3_config):
    store = S3ObjectStore.from_config(s3_config)
    far = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    key = store.put(PDF, retain_until=far).key
    assert store.retention(key) == far

    store.put(PDF, retain_until=far - timedelta(days=10))  # shorter: ignored
    assert store.retention(key) == far
    store.put(PDF, retain_until=far + timedelta(days=10))  # longer: extended
    assert store.retention(key) == far + timedelta(days=10)
    store.put(PDF)  # the configured default (1 day) is for new objects only
    assert store.retention(key) == far + timedelta(days=10)


def test_s3_storing_again_does_not_renew_the_default_retention(s3_config):
    store = S3ObjectStore.from_config(s3_config)  # default: 1 day
    soon = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    key = store.put(PDF, retain_until=soon).key

    store.put(PDF)

    assert store.retention(key) == soon


def test_s3_locked_version_cannot_be_deleted(s3_config, moto_server):
    store = S3ObjectStore.from_config(s3_config)
    key = store.put(PDF).key
    client = moto_server.client()
    version = client.stat_object(s3_config.bucket, key).version_id

    with pytest.raises(Exception, match="AccessDenied"):
        client.remove_object(s3_config.bucket, key, version_id=version)
    assert store.get(key) == PDF


def test_s3_without_lock_mode_sets_no_retention(moto_server):
    cfg = moto_server.config(moto_server.make_bucket(object_lock=False), retention_mode=None, retention_days=0)
    store = S3ObjectStore.from_config(cfg)

    key = store.put(PDF).key

    assert store.retention(key) is None
    assert store.get(key) == PDF


def test_s3_presigned_url_downloads_the_object(s3_config):
    store = S3ObjectStore.from_config(s3_config)
    key = store.put(PDF).key

    url = store.presigned_url(key, timedelta(minutes=5))

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == PDF
    with pytest.raises(ObjectNotFound):
        store.presigned_url(MISSING, timedelta(minutes=5))


def test_s3_prefix_keeps_objects_apart(moto_server):
    bucket = moto_server.make_bucket()
    a = S3ObjectStore.from_config(moto_server.config(bucket, prefix="a/"))
    b = S3ObjectStore.from_config(moto_server.config(bucket, prefix="b/"))

    key = a.put(PDF).key

    assert list(a.iter_keys()) == [key]
    assert list(b.iter_keys()) == []
    assert not b.exists(key)


def test_s3_missing_bucket_is_reported_at_construction(moto_server):
    with pytest.raises(StorageUnavailable, match="does not exist"):
        S3ObjectStore.from_config(moto_server.config("edoc-no-such-bucket"))


def test_s3_lock_mode_on_a_bucket_without_object_lock_is_refused_early(moto_server):
    cfg = moto_server.config(moto_server.make_bucket(object_lock=False), retention_mode="COMPLIANCE")

    with pytest.raises(StorageError, match="no Object Lock"):
        S3ObjectStore.from_config(cfg)


def test_s3_unreachable_endpoint_is_a_storage_error(moto_server):
    closed = S3Config(endpoint="127.0.0.1:9", access_key="k", secret_key="s", bucket="edoc-x",
                      secure=False, region="us-east-1", timeout=1)
    with pytest.raises(StorageUnavailable) as err:
        S3ObjectStore.from_config(closed)
    assert isinstance(err.value, StorageError)
    assert "caused by" in err.value.diagnostics()


def test_s3_config_refuses_inconsistent_settings():
    with pytest.raises(ValueError, match="scheme"):
        S3Config(endpoint="http://127.0.0.1:9000", access_key="k", secret_key="s", bucket="b")
    with pytest.raises(ValueError, match="retention_days"):
        S3Config(endpoint="h", access_key="k", secret_key="s", bucket="b", retention_mode="COMPLIANCE")
    assert "secret" not in repr(S3Config(endpoint="h", access_key="k", secret_key="secret", bucket="b"))


def test_local_store_syncs_the_folders_it_makes(tmp_path, monkeypatch):
    """A new shard folder's entry in its parent must reach the disk with the object."""
    from pathlib import Path

    from storage import _local

    synced: list[Path] = []
    real = _local._fsync_dir
    monkeypatch.setattr(_local, "_fsync_dir", lambda path: (synced.append(Path(path)), real(path)))
    store = LocalObjectStore(tmp_path)
    key = store.put(PDF).key
    shard = tmp_path / key[:2] / key[2:4]
    assert synced == [shard, tmp_path, tmp_path / key[:2]]

    synced.clear()
    (shard / key).chmod(0o644)
    (shard / key).unlink()
    store.put(PDF)  # the folders are there already: only the new entry is synced
    assert synced == [shard]
