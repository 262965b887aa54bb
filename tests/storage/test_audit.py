"""The hash-chained audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from storage.audit import GENESIS, AuditLog, verify_export
from storage.registry import Registry
from tests.storage import _workers


def fill(log, n: int = 5) -> list:
    return [
        log.append("document.issued", actor="ak_1", agency="moi", subject=f"DOC-{i}", details={"n": i, "ชื่อ": "ทดสอบ"})
        for i in range(1, n + 1)
    ]


def sql(registry, statement: str, **params) -> None:
    with registry.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_entries_chain_from_genesis(registry):
    entries = fill(registry.audit, 3)

    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS
    assert entries[1].prev_hash == entries[0].hash
    assert registry.audit.entries() == entries
    assert registry.audit.verify().ok


def test_a_second_log_object_sees_the_same_chain(registry):
    fill(registry.audit, 2)

    other = AuditLog(registry.engine)

    assert other.entries() == registry.audit.entries()
    assert other.append("x", actor="a").seq == 3


def test_empty_log_verifies(registry):
    report = registry.audit.verify()

    assert report.ok and report.checked == 0 and report.head_seq == 0


def test_entries_filter_and_page(registry):
    log = registry.audit
    fill(log, 4)
    log.append("document.revoked", actor="ak_2", agency="dopa", subject="DOC-9")

    assert [e.seq for e in log.entries(agency="dopa")] == [5]
    assert [e.seq for e in log.entries(event="document.issued", limit=2, after_seq=1)] == [2, 3]
    now = datetime.now(UTC)
    assert len(log.entries(since=now - timedelta(minutes=1), until=now + timedelta(minutes=1))) == 5
    assert log.entries(since=now + timedelta(minutes=1)) == []


def test_edited_row_is_found(registry):
    fill(registry.audit, 5)
    sql(registry, "UPDATE audit_entries SET subject = 'DOC-forged' WHERE seq = 3")

    report = registry.audit.verify()

    assert not report.ok
    assert report.first_broken_seq == 3
    assert "changed" in report.reason
    assert report.checked == 2


def test_edited_row_with_recomputed_hash_breaks_the_next_link(registry):
    entries = fill(registry.audit, 5)
    sql(registry, "UPDATE audit_entries SET hash = :h WHERE seq = 2", h=hashlib.sha256(b"x").hexdigest())

    report = registry.audit.verify()

    assert not report.ok and report.first_broken_seq in (2, 3)
    assert entries  # the chain that was written


def test_deleted_row_is_a_gap(registry):
    fill(registry.audit, 5)
    sql(registry, "DELETE FROM audit_entries WHERE seq = 2")

    report = registry.audit.verify()

    assert not report.ok
    assert report.first_broken_seq == 2
    assert "missing" in report.reason


def test_cut_tail_is_found(registry):
    fill(registry.audit, 5)
    sql(registry, "DELETE FROM audit_entries WHERE seq >= 4")

    report = registry.audit.verify()

    assert not report.ok
    assert report.first_broken_seq == 4
    assert "tail" in report.reason


def test_swapped_rows_are_found(registry):
    fill(registry.audit, 4)
    sql(registry, "UPDATE audit_entries SET seq = 100 WHERE seq = 2")
    sql(registry, "UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    sql(registry, "UPDATE audit_entries SET seq = 3 WHERE seq = 100")

    report = registry.audit.verify()

    assert not report.ok and report.first_broken_seq == 2


def test_anchor_timestamps_the_head_hash(registry):
    entries = fill(registry.audit, 3)
    seen = []

    def fake_tsa(message: bytes) -> bytes:
        seen.append(message)
        return b"token over " + message

    anchor = registry.audit.anchor(fake_tsa)

    assert seen == [bytes.fromhex(entries[-1].hash)]
    assert (anchor.seq, anchor.head_hash) == (3, entries[-1].hash)
    assert registry.audit.anchors() == [anchor]
    assert registry.audit.verify().ok


def test_anchor_catches_a_rewritten_chain(registry):
    fill(registry.audit, 3)
    registry.audit.anchor(lambda m: b"token")
    # an intruder rewrites entry 2 and rehashes everything after it, head included
    with registry.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_entries WHERE seq >= 2"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_entries WHERE seq = 1)"))
    registry.audit.append("document.issued", actor="intruder", subject="DOC-2")
    registry.audit.append("document.issued", actor="intruder", subject="DOC-3")

    report = registry.audit.verify()

    assert not report.ok
    assert "anchor" in report.reason


def test_anchor_refuses_an_empty_token(registry):
    with pytest.raises(ValueError, match="bytes"):
        registry.audit.anchor(lambda m: b"")


def test_export_writes_entries_and_anchors_as_json_lines(registry):
    entries = fill(registry.audit, 3)
    registry.audit.anchor(lambda m: b"\x00token")
    buf = io.StringIO()

    count = registry.audit.export(buf)

    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert count == 3
    assert [line["type"] for line in lines] == ["header", "entry", "entry", "entry", "anchor"]
    assert lines[1]["hash"] == entries[0].hash
    assert lines[1]["details"]["ชื่อ"] == "ทดสอบ"
    assert verify_export(io.StringIO(buf.getvalue())).ok


def test_tampered_export_fails_offline_verification(registry):
    fill(registry.audit, 3)
    buf = io.BytesIO()
    registry.audit.export(buf)

    forged = buf.getvalue().replace(b'"subject":"DOC-2"', b'"subject":"DOC-X"')

    report = verify_export(io.BytesIO(forged))
    assert not report.ok and report.first_broken_seq == 2


def test_concurrent_appends_from_processes_keep_one_chain(database_url):
    Registry.open(database_url).close()

    _workers.run_parallel(_workers.append_entries, [(database_url, w, 50) for w in range(4)])

    with Registry.open(database_url) as registry:
        report = registry.audit.verify()
        entries = registry.audit.entries(limit=1000)
    assert report.ok, report.reason
    assert report.checked == 200
    assert [e.seq for e in entries] == list(range(1, 201))
    per_worker = {f"worker-{w}": 0 for w in range(4)}
    for e in entries:
        per_worker[e.actor] += 1
    assert set(per_worker.values()) == {50}


def test_batcher_appends_in_submission_order_with_submission_times(registry):
    from storage.audit import AuditBatcher, AuditEvent

    batcher = AuditBatcher(registry.audit, max_delay=60)  # only close() appends here
    before = datetime.now(UTC)
    for i in range(5):
        batcher.submit(AuditEvent("document.verified", actor="public", agency="moi", subject=f"DOC-{i}"))
    submitted = datetime.now(UTC)
    assert registry.audit.entries() == []
    batcher.close()

    entries = registry.audit.entries()
    assert [e.subject for e in entries] == [f"DOC-{i}" for i in range(5)]
    assert all(before <= e.at <= submitted for e in entries)
    assert registry.audit.verify().ok
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(AuditEvent("document.verified", actor="public"))


def test_batcher_appends_in_the_background_and_early_when_a_batch_is_full(registry):
    import time

    from storage.audit import AuditBatcher, AuditEvent

    batcher = AuditBatcher(registry.audit, max_delay=60, max_batch=3)
    for i in range(3):  # a full batch wakes the thread long before max_delay
        batcher.submit(AuditEvent("document.verified", actor="public", subject=f"DOC-{i}"))
    deadline = time.monotonic() + 10
    while len(registry.audit.entries()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.subject for e in registry.audit.entries()] == ["DOC-0", "DOC-1", "DOC-2"]
    batcher.close()


def test_batcher_keeps_events_while_the_database_fails_and_caps_what_it_keeps(registry):
    from storage.audit import AuditBatcher, AuditEvent
    from storage.errors import StorageError

    batcher = AuditBatcher(registry.audit, max_delay=60, max_pending=3)
    sql(registry, "ALTER TABLE audit_entries RENAME TO audit_entries_away")
    try:
        for i in range(2):
            batcher.submit(AuditEvent("document.verified", actor="public", subject=f"DOC-{i}"))
        with pytest.raises(StorageError):
            batcher.flush()
        for i in range(2, 5):
            batcher.submit(AuditEvent("document.verified", actor="public", subject=f"DOC-{i}"))
    finally:
        sql(registry, "ALTER TABLE audit_entries_away RENAME TO audit_entries")
    assert batcher.dropped == 2  # at most max_pending wait; the newest ones are the ones refused
    assert batcher.flush() == 3
    assert [e.subject for e in registry.audit.entries()] == ["DOC-0", "DOC-1", "DOC-2"]
    assert registry.audit.verify().ok
    batcher.close()
