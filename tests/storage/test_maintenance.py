"""doctor, backup and restore over every store × registry pairing."""

from __future__ import annotations

import hashlib
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import BackupError, ObjectCorrupted
from storage.maintenance import backup, doctor, restore
from storage.objects import LocalObjectStore, S3ObjectStore
from storage.registry import DocumentRecord, Registry


def record(n: int, sha256: str, size: int) -> DocumentRecord:
    return DocumentRecord(
        id=f"DOC-{n}",
        agency="moi",
        template="t",
        title=f"เอกสาร {n}",
        lang="th",
        sha256=sha256,
        size=size,
        level="B-T",
        holder_masked="x",
        issued_at=datetime(2026, 11, 25, tzinfo=UTC) + timedelta(minutes=n),
        idempotency_key=f"k{n}",
    )


def issue(store, registry, n: int) -> DocumentRecord:
    """What edoc does: object first, registry row second."""
    stored = store.put(f"%PDF-1.7 document {n}".encode())
    return registry.record_issued(record(n, stored.key, stored.size))[0]


def test_doctor_on_a_consistent_installation_is_ok(object_store, registry):
    for n in range(3):
        issue(object_store, registry, n)

    report = doctor(object_store, registry)

    assert report.ok
    assert (report.objects_checked, report.versions_checked) == (3, 3)


def test_doctor_finds_orphans_missing_and_corrupt_objects(object_store, registry, tamper):
    issue(object_store, registry, 1)
    corrupt = issue(object_store, registry, 2)
    orphan = object_store.put(b"%PDF written, then the process crashed").key
    missing, _ = registry.record_issued(record(3, hashlib.sha256(b"never stored").hexdigest(), 12))
    tamper(corrupt.sha256, b"%PDF forged")

    report = doctor(object_store, registry)

    assert not report.ok
    assert report.orphans == (orphan,)
    assert [(v.doc_id, v.sha256) for v in report.missing] == [("DOC-3", missing.sha256)]
    assert report.corrupt == (corrupt.sha256,)


def test_doctor_reports_a_broken_audit_chain(object_store, registry):
    registry.audit.append("x", actor="a")
    registry.audit.append("x", actor="a")
    with registry.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_entries WHERE seq = 1")

    report = doctor(object_store, registry)

    assert not report.ok and report.audit.first_broken_seq == 1


def test_backup_then_restore_gives_back_everything(object_store, registry, tmp_path, request):
    docs = [issue(object_store, registry, n) for n in range(3)]
    renewed = object_store.put(b"%PDF renewed with a fresh timestamp").key
    registry.add_version(docs[0].id, sha256=renewed, size=35)
    registry.revoke(docs[1].id, reason="issued in error")
    key, secret = registry.create_api_key(agency="moi", roles={"issuer", "auditor"}, label="server")
    registry.audit.append("document.issued", actor=key.id, agency="moi", subject="DOC-0", details={"a": [1, 2]})
    registry.audit.anchor(lambda head: b"\x30\x82token")
    registry.audit.append("document.revoked", actor=key.id, agency="moi", subject="DOC-1")
    archive = tmp_path / "backup.tar"

    manifest = backup(object_store, registry, archive)

    assert manifest.object_count == 4
    assert manifest.table_rows["documents"] == 3
    assert tarfile.is_tarfile(archive)
    target_store, target_registry = fresh_target(object_store, tmp_path, request)
    with target_registry:
        restored = restore(archive, target_store, target_registry)

        assert restored == manifest
        assert sorted(target_store.iter_keys()) == sorted(object_store.iter_keys())
        assert all(target_store.get(k) == object_store.get(k) for k in object_store.iter_keys())
        assert target_registry.list_documents() == registry.list_documents()
        assert target_registry.versions(docs[0].id) == registry.versions(docs[0].id)
        assert target_registry.authenticate(secret) == key
        assert target_registry.audit.entries() == registry.audit.entries()
        assert target_registry.audit.anchors() == registry.audit.anchors()
        assert target_registry.audit.verify().ok
        assert doctor(target_store, target_registry).ok
        # the restored log goes on from where it was
        assert target_registry.audit.append("x", actor="a").seq == 3
        if isinstance(object_store, S3ObjectStore):
            assert target_store.retention(renewed) == object_store.retention(renewed)


def fresh_target(object_store, tmp_path, request):
    if isinstance(object_store, LocalObjectStore):
        store = LocalObjectStore(tmp_path / "restored-objects")
    else:
        server = request.getfixturevalue("moto_server")
        store = S3ObjectStore.from_config(server.config(server.make_bucket()))
    if request.node.callspec.params["database_url"] == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url))
    return store, Registry.open(url)


def test_restore_refuses_a_target_that_is_not_empty(object_store, registry, tmp_path):
    issue(object_store, registry, 1)
    backup(object_store, registry, tmp_path / "b.tar")

    with pytest.raises(BackupError, match="empty"):
        restore(tmp_path / "b.tar", object_store, registry)


def test_backup_never_overwrites_and_refuses_corrupt_objects(object_store, registry, tamper, tmp_path):
    doc = issue(object_store, registry, 1)
    backup(object_store, registry, tmp_path / "b.tar")
    with pytest.raises(BackupError, match="exists"):
        backup(object_store, registry, tmp_path / "b.tar")

    tamper(doc.sha256, b"%PDF forged")

    with pytest.raises(ObjectCorrupted):
        backup(object_store, registry, tmp_path / "c.tar")
    assert not (tmp_path / "c.tar").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_damaged_archive_is_refused(tmp_path):
    store = LocalObjectStore(tmp_path / "src")
    with Registry.open(f"sqlite:///{tmp_path / 'src.db'}") as registry:
        issue(store, registry, 1)
        backup(store, registry, tmp_path / "b.tar")
    data = bytearray((tmp_path / "b.tar").read_bytes())
    at = data.find(b"%PDF-1.7 document 1")
    data[at] ^= 0xFF
    (tmp_path / "bad.tar").write_bytes(bytes(data))

    with Registry.open(f"sqlite:///{tmp_path / 'dst.db'}") as target:
        with pytest.raises(BackupError, match="damaged"):
            restore(tmp_path / "bad.tar", LocalObjectStore(tmp_path / "dst"), target)
        with pytest.raises(BackupError):
            restore(tmp_path / "src.db", LocalObjectStore(tmp_path / "dst"), target)
