"""The registry contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage._db import VERSION_TABLE
from storage.errors import (
    ApiKeyNotFound,
    Conflict,
    DocumentNotFound,
    StorageError,
    StorageUnavailable,
)
from storage.models import metadata
from storage.registry import DocumentRecord, Registry
from tests.storage import _workers

T0 = datetime(2026, 11, 25, 9, 30, 0, 123456, tzinfo=UTC)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_record(n: int = 1, **changes) -> DocumentRecord:
    record = DocumentRecord(
        id=f"MOI-2026-{n:06d}",
        agency="moi",
        template="residence-cert",
        title="หนังสือรับรองถิ่นที่อยู่",
        lang="th",
        sha256=digest(f"pdf {n}"),
        size=1000 + n,
        level="B-T",
        holder_masked="x-xxxx-xxxxx-12-3",
        issued_at=T0 + timedelta(minutes=n),
        holder_token_hash=digest(f"token {n}"),
        idempotency_key=f"req-{n}",
        request_hash=digest(f"request {n}"),
    )
    return dataclasses.replace(record, **changes)


def test_record_issued_then_get_returns_the_same_record(registry):
    record = make_record()

    stored, created = registry.record_issued(record)

    assert created
    assert stored == record
    assert registry.get(record.id) == record
    assert registry.get(record.id).issued_at.tzinfo is not None
    assert registry.count() == 1


def test_issued_at_in_another_timezone_is_kept_as_utc(registry):
    bangkok = timezone(timedelta(hours=7))
    registry.record_issued(make_record(issued_at=datetime(2026, 11, 25, 16, 30, tzinfo=bangkok)))

    assert registry.get(make_record().id).issued_at == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_same_idempotency_key_returns_the_first_document(registry):
    first, _ = registry.record_issued(make_record(1, idempotency_key="abc"))

    again, created = registry.record_issued(make_record(2, idempotency_key="abc"))

    assert not created
    assert again == first
    assert registry.count() == 1
    assert registry.find_idempotent("moi", "abc") == first
    assert registry.find_idempotent("moi", "other") is None


def test_idempotency_keys_are_per_agency(registry):
    registry.record_issued(make_record(1, idempotency_key="abc"))

    _, created = registry.record_issued(make_record(2, agency="dopa", idempotency_key="abc"))

    assert created
    assert registry.count() == 2


def test_documents_without_idempotency_key_never_clash(registry):
    for n in range(3):
        assert registry.record_issued(make_record(n, idempotency_key=None))[1]
    assert registry.count() == 3


def test_reusing_a_document_id_is_a_conflict(registry):
    registry.record_issued(make_record(1))

    with pytest.raises(Conflict, match="already registered"):
        registry.record_issued(make_record(2, id=make_record(1).id))


def test_naive_issued_at_is_refused(registry):
    with pytest.raises(ValueError, match="timezone-aware"):
        registry.record_issued(make_record(issued_at=datetime(2026, 1, 1)))


def test_unknown_document_is_not_found(registry):
    with pytest.raises(DocumentNotFound) as err:
        registry.get("nope")
    assert err.value.http_status == 404
    with pytest.raises(DocumentNotFound):
        registry.revoke("nope", reason="x")
    with pytest.raises(DocumentNotFound):
        registry.versions("nope")
    assert registry.find_by_sha256(digest("nope")) is None


def test_revoke_marks_revoked_and_keeps_the_first_revocation(registry):
    registry.record_issued(make_record())
    first_at = T0 + timedelta(days=1)

    revoked = registry.revoke(make_record().id, reason="issued in error", at=first_at)
    again = registry.revoke(make_record().id, reason="second thoughts", at=first_at + timedelta(days=1))

    assert revoked.status == again.status == "revoked"
    assert again.revoked_at == first_at
    assert again.revocation_reason == "issued in error"
    assert registry.count() == 1  # never deleted


def test_list_documents_filters_and_pages_newest_first(registry):
    for n in range(1, 8):
        registry.record_issued(make_record(n, agency="moi" if n % 2 else "dopa"))
    registry.revoke(make_record(3).id, reason="x")

    moi = registry.list_documents(agency="moi")
    assert [d.id for d in moi] == [make_record(n).id for n in (7, 5, 3, 1)]
    assert [d.id for d in registry.list_documents(status="revoked")] == [make_record(3).id]

    pages, after = [], None
    while page := registry.list_documents(limit=3, after=after):
        pages.append([d.id for d in page])
        after = page[-1].id
    assert pages == [[make_record(n).id for n in chunk] for chunk in ((7, 6, 5), (4, 3, 2), (1,))]
    assert registry.count(agency="dopa") == 3
    assert registry.count(status="revoked") == 1


def test_versions_append_and_move_the_current_digest(registry):
    record = make_record()
    registry.record_issued(record)

    v2 = registry.add_version(record.id, sha256=digest("renewed"), size=2222)

    assert v2.seq == 2 and v2.kind == "archive-renewal"
    assert [(v.seq, v.sha256, v.kind) for v in registry.versions(record.id)] == [
        (1, record.sha256, "issued"),
        (2, digest("renewed"), "archive-renewal"),
    ]
    current = registry.get(record.id)
    assert (current.sha256, current.size) == (digest("renewed"), 2222)


def test_find_by_sha256_finds_every_version(registry):
    record = make_record()
    registry.record_issued(record)
    registry.add_version(record.id, sha256=digest("renewed"), size=1)

    assert registry.find_by_sha256(record.sha256).id == record.id
    assert registry.find_by_sha256(digest("renewed")).id == record.id
    assert registry.find_version(record.sha256).seq == 1


def test_a_digest_belongs_to_one_version_only(registry):
    registry.record_issued(make_record(1))
    registry.record_issued(make_record(2))

    with pytest.raises(Conflict):
        registry.add_version(make_record(2).id, sha256=make_record(1).sha256, size=1)
    with pytest.raises(DocumentNotFound):
        registry.add_version("nope", sha256=digest("x"), size=1)


def test_iter_versions_lists_every_version(registry):
    for n in range(5):
        registry.record_issued(make_record(n))
    registry.add_version(make_record(0).id, sha256=digest("renewed"), size=1)

    versions = list(registry.iter_versions(batch=2))

    assert len(versions) == 6
    assert {v.sha256 for v in versions} == {make_record(n).sha256 for n in range(5)} | {digest("renewed")}


# -- API keys ------------------------------------------------------------------------------


def test_api_key_secret_authenticates_until_revoked(registry):
    key, secret = registry.create_api_key(agency="moi", roles={"issuer"}, label="issuing server")

    assert secret.startswith("edoc_")
    assert registry.authenticate(secret) == key
    assert key.roles == frozenset({"issuer"})

    revoked = registry.revoke_api_key(key.id)

    assert revoked.revoked_at is not None and not revoked.active
    assert registry.authenticate(secret) is None
    assert registry.list_api_keys("moi") == [revoked]


def test_wrong_or_malformed_secrets_do_not_authenticate(registry):
    _, secret = registry.create_api_key(agency="moi", roles={"auditor"}, label="x")

    assert registry.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert registry.authenticate(secret[:10]) is None
    assert registry.authenticate("") is None


def test_api_key_secret_is_not_stored(registry):
    _, secret = registry.create_api_key(agency="moi", roles={"admin", "issuer"}, label="x")

    with registry.engine.connect() as conn:
        dump = repr(conn.exec_driver_sql("SELECT * FROM api_keys").all())
    assert secret not in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump


def test_api_keys_are_listed_per_agency(registry):
    a, _ = registry.create_api_key(agency="moi", roles={"issuer"}, label="a")
    b, _ = registry.create_api_key(agency="dopa", roles={"auditor"}, label="b")

    assert registry.list_api_keys("moi") == [a]
    assert {k.id for k in registry.list_api_keys()} == {a.id, b.id}


def test_api_key_roles_are_checked(registry):
    with pytest.raises(ValueError, match="unknown roles"):
        registry.create_api_key(agency="moi", roles={"superuser"}, label="x")
    with pytest.raises(ValueError, match="at least one role"):
        registry.create_api_key(agency="moi", roles=set(), label="x")
    with pytest.raises(ApiKeyNotFound):
        registry.revoke_api_key("ak_nope")


# -- schema and processes ------------------------------------------------------------------


def test_migrations_build_exactly_the_declared_tables(registry):
    with registry.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(ctx, metadata) == []


def test_opening_twice_keeps_the_data(database_url):
    with Registry.open(database_url) as reg:
        reg.record_issued(make_record())
    with Registry.open(database_url) as reg:
        assert reg.count() == 1


def test_several_processes_opening_a_new_database_at_once_all_succeed(database_url):
    counts = _workers.run_parallel(_workers.open_registry, [(database_url,)] * 4)

    assert counts == [0, 0, 0, 0]


def test_concurrent_issues_with_one_idempotency_key_make_one_document(database_url):
    Registry.open(database_url).close()

    results = _workers.run_parallel(_workers.issue_with_key, [(database_url, w, "same-key") for w in range(4)])

    winners = {doc_id for doc_id, _ in results}
    assert len(winners) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    with Registry.open(database_url) as reg:
        assert reg.count() == 1
        assert [d.id for d in reg.list_documents()] == list(winners)


def test_unusable_database_urls_are_storage_errors(tmp_path):
    with pytest.raises(StorageError, match="unsupported database"):
        Registry.open("mysql://localhost/edoc")
    with pytest.raises(StorageUnavailable):
        Registry.open(f"sqlite:///{tmp_path}/no/such/dir/registry.db")
    with pytest.raises(StorageUnavailable):
        Registry.open("postgresql+psycopg://nobody@127.0.0.1:9/edoc?connect_timeout=2")


def test_add_version_with_audit_commits_both_and_checks_the_current_version(registry):
    from storage.audit import AuditEvent
    from storage.errors import Conflict

    record, _ = registry.record_issued(make_record(1))
    event = AuditEvent("document.archive-renewed", actor="test", subject=record.id)
    version = registry.add_version(
        record.id, sha256=digest("v2"), size=10, expected_sha256=record.sha256, audit=event
    )
    assert version.seq == 2 and registry.get(record.id).sha256 == digest("v2")
    (entry,) = [e for e in registry.audit.entries() if e.event == "document.archive-renewed"]
    assert entry.details["version"] == 2
    # a renewal based on the old version lost the race: nothing is written
    with pytest.raises(Conflict):
        registry.add_version(
            record.id, sha256=digest("v3"), size=10, expected_sha256=record.sha256, audit=event
        )
    assert [v.seq for v in registry.versions(record.id)] == [1, 2]
    assert len([e for e in registry.audit.entries() if e.event == "document.archive-renewed"]) == 1
    assert registry.audit.verify().ok


def test_idempotency_claim_is_held_once_taken_over_when_stale_and_released(registry):
    from datetime import timedelta

    fresh = timedelta(minutes=5)
    first = registry.claim_idempotency("moe", "k1", doc_id="doc-a", request_hash="h", stale_after=fresh)
    second = registry.claim_idempotency("moe", "k1", doc_id="doc-b", request_hash="h", stale_after=fresh)
    assert first.mine and not second.mine and second.doc_id == "doc-a"
    # another agency's key of the same name is its own
    assert registry.claim_idempotency("moi", "k1", doc_id="x", request_hash="h", stale_after=fresh).mine
    # the holder died: after stale_after, the next caller takes over with its own id
    taken = registry.claim_idempotency("moe", "k1", doc_id="doc-c", request_hash="h",
                                       stale_after=timedelta(0))
    assert taken.mine and taken.doc_id == "doc-c"
    # releasing only works for the current holder
    registry.release_idempotency("moe", "k1", doc_id="doc-a")
    assert not registry.claim_idempotency("moe", "k1", doc_id="d", request_hash="h", stale_after=fresh).mine
    registry.release_idempotency("moe", "k1", doc_id="doc-c")
    assert registry.claim_idempotency("moe", "k1", doc_id="doc-e", request_hash="h", stale_after=fresh).mine


def test_stale_claim_is_not_taken_over_once_its_document_exists(registry):
    from datetime import timedelta

    registry.claim_idempotency("moi", "key-1", doc_id="d1", request_hash="h", stale_after=timedelta(0))
    registry.record_issued(make_record(1, idempotency_key="key-1"))
    late = registry.claim_idempotency(
        "moi", "key-1", doc_id="d2", request_hash="h", stale_after=timedelta(0)
    )
    assert not late.mine
