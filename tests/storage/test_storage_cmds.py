"""``edoc doctor / backup / restore / audit`` on a real home: exit codes and what people read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from storage.registry import DocumentRecord


@pytest.fixture
def cli(run_edoc):
    return run_edoc


def store_document(home, n: int = 1) -> DocumentRecord:
    stored = home.store().put(f"%PDF-1.7 document {n}".encode())
    record = DocumentRecord(
        id=f"DOC-{n}", agency="test-agency", template="t", title="t", lang="th",
        sha256=stored.key, size=stored.size, level="B-T", holder_masked="x",
        issued_at=datetime.now(UTC),
    )
    home.registry().record_issued(record)
    home.registry().audit.append("document.issued", actor="test", subject=record.id)
    return record


# These documents are stand-ins, not sealed PDFs: the trust sample (tests/cli/test_restore_drill.py)
# would rightly flag them, so these store/registry checks skip it.
NO_TRUST = ("--trust-sample", "0")


def test_doctor_says_ok_then_names_an_orphan(home, cli):
    store_document(home)
    assert cli(home, "doctor", *NO_TRUST)[0] == 0

    orphan = home.store().put(b"%PDF left by a crash").key
    code, out, _ = cli(home, "doctor", *NO_TRUST)

    assert code == 1
    assert f"orphan object (no document refers to it): {orphan}" in out
    code, out, _ = cli(home, "doctor", "--json", *NO_TRUST)
    assert code == 1 and json.loads(out)["orphans"] == [orphan]


def test_backup_and_restore_into_a_new_home(make_home, cli, tmp_path):
    source = make_home()
    record = store_document(source)
    archive = tmp_path / "edoc.tar"

    code, out, _ = cli(source, "backup", str(archive))
    assert code == 0 and "1 objects" in out

    target = make_home()
    code, out, _ = cli(target, "restore", str(archive))
    assert code == 0, out
    assert target.registry().get(record.id) == record
    assert target.store().get(record.sha256).startswith(b"%PDF")

    code, _, err = cli(target, "restore", str(archive))
    assert code == 1 and "empty" in err


def test_audit_verify_and_export(home, cli, tmp_path):
    store_document(home)
    assert cli(home, "audit", "verify")[0] == 0

    code, _, _ = cli(home, "audit", "export", "--out", str(tmp_path / "audit.jsonl"))
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert code == 0 and json.loads(lines[1])["event"] == "document.issued"

    with home.registry().engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_entries SET actor = 'someone else'")
    code, out, _ = cli(home, "audit", "verify")
    assert code == 1 and "broken at entry 1" in out
