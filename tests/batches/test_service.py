"""The batch service on a real home: dry runs, all-or-nothing, exactly once, cancel, webhook, pool."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from edoc.batches import BatchOptions, run_chunk
from edoc.batches.embedded import EmbeddedExecutor
from edoc.batches.runtime import WorkerContext, service_for
from edoc.batches.service import wait_for
from edoc.batches.webhook import verify_signature
from storage.maintenance import doctor

from .conftest import cert_rows, write_csv

OPTS = BatchOptions(template="certificate", key_column="exam_id")


def _drain(home, service, batch_id):
    ctx = WorkerContext(home)
    for lo, hi in service.batches.queued_ranges(batch_id, 4):
        ctx.run(batch_id, lo, hi)


def _documents(home) -> list[str]:
    return [r.id for r in home.registry().list_documents(agency="test-agency", limit=500)]


def test_dry_run_reports_every_problem_and_stores_nothing(home, tmp_path):
    rows = cert_rows(5)
    rows[1][2] = "1234567890123"  # bad check digit
    rows[3][5] = "32/13/2569"
    rows[4][0] = rows[0][0]  # key repeats row 2
    path = write_csv(tmp_path / "b.csv", rows, encoding="cp874")
    service = service_for(home)
    report = service.check(path, OPTS)
    assert (report.total, report.valid) == (5, 2)
    got = {(p.row, p.column) for p in report.problems}
    assert got == {(3, "holder.national_id"), (5, "completed_on"), (6, "exam_id")}
    assert all(p.th and p.en and p.th != p.en for p in report.problems)
    assert service.batches.list_batches(agency="test-agency") == [] and _documents(home) == []


def test_good_rows_issued_bad_rows_reported(home, tmp_path):
    rows = cert_rows(6)
    rows[2][1] = ""
    path = write_csv(tmp_path / "b.csv", rows)
    service = service_for(home)
    batch = service.submit(path, OPTS, source_name="b.csv", actor="t")
    assert batch.total == 6 and batch.counts["queued"] == 5 and batch.counts["invalid"] == 1
    _drain(home, service, batch.id)
    done = service.get(batch.id)
    assert done.state == "done" and done.counts["issued"] == 5
    results = list(service.results(batch.id, lang="en"))
    assert [r.row for r in results] == [2, 3, 4, 5, 6, 7]
    bad = results[2]
    assert bad.document_id is None and "holder.name: is required" in bad.error
    assert len({r.document_id for r in results if r.document_id}) == 5
    assert all(r.verify_url.endswith(r.document_id) for r in results if r.document_id)
    # the data was personal: nothing of it stays in the batch rows
    assert all(r.data is None for r in service.batches.iter_rows(batch.id))


def test_all_or_nothing_issues_nothing(home, tmp_path):
    rows = cert_rows(4)
    rows[3][2] = "12"
    path = write_csv(tmp_path / "b.csv", rows)
    service = service_for(home)
    batch = service.submit(path, BatchOptions(template="certificate", key_column="exam_id", all_or_nothing=True),
                           source_name="b.csv", actor="t")
    assert batch.state == "rejected" and batch.counts["cancelled"] == 3
    assert batch.counts["invalid"] == 1 and _documents(home) == []


def test_header_problem_refuses_the_file(home, tmp_path):
    from edoc.errors import DataInvalid

    path = write_csv(tmp_path / "b.csv", cert_rows(2), header=["exam_id", "holder.nmae", *([""] * 6)])
    with pytest.raises(DataInvalid, match="holder.nmae"):
        service_for(home).submit(path, OPTS, source_name="b.csv", actor="t")


def test_redelivered_chunks_and_resubmission_issue_nothing_twice(home, tmp_path):
    path = write_csv(tmp_path / "b.csv", cert_rows(6))
    service = service_for(home)
    batch = service.submit(path, OPTS, source_name="b.csv", actor="t")
    ctx = WorkerContext(home)
    # the same range delivered three times (redelivery after a lost ack), overlapping ranges too
    for lo, hi in [(2, 7), (2, 7), (4, 5), (2, 7)]:
        run_chunk(ctx.batches, ctx.issuer, batch.id, lo, hi)
    first = {r.row: r.document_id for r in service.results(batch.id)}
    assert len(set(first.values())) == 6 and len(_documents(home)) == 6
    # the same file with the same keys again: a new batch, the same documents
    again = service.submit(path, OPTS, source_name="b.csv", actor="t")
    _drain(home, service, again.id)
    second = {r.row: r.document_id for r in service.results(again.id)}
    assert second == first and len(_documents(home)) == 6
    assert service.get(again.id).counts["issued"] == 6
    report = doctor(home.store(), home.registry())
    assert report.ok and report.objects_checked == 6


def test_row_issued_but_not_marked_is_found_again(home, tmp_path):
    """A worker that died between registering the document and marking its row."""
    path = write_csv(tmp_path / "b.csv", cert_rows(2))
    service = service_for(home)
    batch = service.submit(path, OPTS, source_name="b.csv", actor="t")
    row = service.batches.rows(batch.id)[0]
    doc = home.issuer().issue("certificate", row.data, idempotency_key=row.key)
    _drain(home, service, batch.id)
    results = list(service.results(batch.id))
    assert results[0].document_id == doc.id and len(_documents(home)) == 2


def test_cancel_stops_queued_rows(home, tmp_path):
    path = write_csv(tmp_path / "b.csv", cert_rows(5))
    service = service_for(home)
    batch = service.submit(path, OPTS, source_name="b.csv", actor="t")
    ctx = WorkerContext(home)
    run_chunk(ctx.batches, ctx.issuer, batch.id, 2, 3)
    cancelled = service.cancel(batch.id)
    assert cancelled.state == "cancelled" and cancelled.counts == {**cancelled.counts, "issued": 2, "cancelled": 3}
    assert run_chunk(ctx.batches, ctx.issuer, batch.id, 2, 6) == 0
    assert len(_documents(home)) == 2
    assert [r.error for r in service.results(batch.id, lang="en")][2:] == ["cancelled: not issued"] * 3


def test_another_agencys_batch_is_not_found(home, tmp_path):
    from edoc.errors import NotFound

    service = service_for(home)
    batch = service.submit(write_csv(tmp_path / "b.csv", cert_rows(1)), OPTS, source_name="b", actor="t")
    with pytest.raises(NotFound):
        service.get(batch.id, agency="other-agency")
    with pytest.raises(NotFound):
        list(service.results(batch.id, agency="other-agency"))


class _Hook:
    def __init__(self, fail_first: int):
        self.bodies: list[tuple[dict, bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append((dict(self.headers), body))
                self.send_response(500 if len(hook.bodies) <= fail_first else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_completion_webhook_is_signed_and_retried(home, tmp_path):
    hook = _Hook(fail_first=2)
    try:
        service = service_for(home)
        opts = BatchOptions(template="certificate", key_column="exam_id", webhook_url=hook.url,
                            webhook_secret="s3cret")
        batch = service.submit(write_csv(tmp_path / "b.csv", cert_rows(2)), opts, source_name="b", actor="t")
        _drain(home, service, batch.id)
        assert len(hook.bodies) == 3  # two 500s, then delivered
        headers, body = hook.bodies[-1]
        assert verify_signature("s3cret", headers["X-Edoc-Timestamp"], body, headers["X-Edoc-Signature"])
        assert not verify_signature("other", headers["X-Edoc-Timestamp"], body, headers["X-Edoc-Signature"])
        assert not verify_signature("s3cret", str(int(headers["X-Edoc-Timestamp"]) - 3600), body,
                                    headers["X-Edoc-Signature"])
        payload = json.loads(body)
        assert payload == {**payload, "id": batch.id, "state": "done", "issued": 2, "failed": 0}
        assert service.get(batch.id).webhook_state == "delivered"
    finally:
        hook.server.shutdown()


def test_embedded_pool_runs_a_batch(home, tmp_path):
    executor = EmbeddedExecutor(home.settings, workers=2, mp_context="spawn")
    try:
        service = service_for(home, executor)
        batch = service.submit(write_csv(tmp_path / "b.csv", cert_rows(12)), OPTS, source_name="b", actor="t")
        done = wait_for(service, batch.id, timeout=180)
        assert done.state == "done" and done.counts["issued"] == 12
        view = service.progress(done)
        assert view["eta_seconds"] == 0.0 and view["rate"] > 0
        assert len(_documents(home)) == 12
    finally:
        executor.close()


def test_doctor_fix_removes_old_orphans_only(home, run_edoc):
    orphan = home.store().put(b"%PDF-1.7 stored, never registered (a worker died)").sha256
    code, out, err = run_edoc(home, "doctor", "--fix")
    assert code == 1 and "kept orphan younger than 900 s" in err and orphan in out
    code, out, err = run_edoc(home, "doctor", "--fix", "--grace", "0")
    assert code == 0 and f"removed orphan object: {orphan}" in err and out.strip().endswith("ok")
    assert not home.store().exists(orphan)
