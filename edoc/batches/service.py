"""The batch service: check a file, record its rows, hand them to an executor, report.

One code path for every executor: :meth:`BatchService.submit` validates each row
and records it in the registry (``storage.batches``); an executor (a local process
pool, or Celery workers over RabbitMQ) runs :func:`run_chunk` on ranges of rows.
``run_chunk`` issues each still-queued row through the :class:`~edoc.issuance.Issuer`
under the row's idempotency key, then marks it issued with a conditional update.
Whatever dies when (a worker, the broker), running a range again issues nothing
twice: the registry's ``(agency, idempotency_key)`` constraint and the claim
protocol of the issuer make a row one document; a row whose claim is held by a
dead worker is taken over once the claim goes stale.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from storage.batches import ACTIVE, BatchRecord, BatchStore, NewRow

from ..errors import DataInvalid, EdocError, FieldError, NotFound
from ..templates import TemplateLibrary
from .readers import Format, Limits, read_records
from .validate import Problem, RowConverter

__all__ = [
    "BatchOptions", "BatchService", "CheckReport", "Executor", "ResultRow", "batch_view", "new_batch_id",
    "run_chunk",
]

_INSERT_EVERY = 500


def new_batch_id() -> str:
    """A random batch id (80 bits, base32, lowercase, 16 characters)."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


@dataclass(frozen=True)
class BatchOptions:
    """How to read and issue a batch file."""

    template: str
    format: Format | None = None
    encoding: str | None = None
    key_column: str | None = None
    lang: str | None = None
    level: str | None = None
    all_or_nothing: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)

    def stored(self) -> dict[str, Any]:
        """What the batch row keeps (never the webhook secret)."""
        return {"format": self.format, "encoding": self.encoding, "key_column": self.key_column,
                "lang": self.lang, "level": self.level, "all_or_nothing": self.all_or_nothing}


@dataclass
class CheckReport:
    """What a dry run found: how many rows, how many good, and every problem."""

    total: int = 0
    valid: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "valid": self.valid, "invalid": self.total - self.valid,
                "problems": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class ResultRow:
    """One row of the results: its document, or why there is none."""

    row: int
    key: str
    state: str
    document_id: str | None
    number: str | None
    verify_url: str | None
    sha256: str | None
    error: str | None


class Executor(Protocol):
    """Carries ranges of rows to whatever runs :func:`run_chunk` on them."""

    name: str

    def dispatch(self, batch_id: str, ranges: list[tuple[int, int]]) -> None: ...

    def close(self) -> None: ...


class BatchService:
    """Batches of one agency's issuer: submit, status, results, cancel."""

    def __init__(
        self,
        *,
        batches: BatchStore,
        templates: TemplateLibrary,
        agency: str,
        public_base_url: str,
        executor: Executor | None = None,
        chunk_rows: int = 20,
        limits: Limits | None = None,
    ):
        self.batches = batches
        self._templates = templates
        self.agency = agency
        self._base = public_base_url.rstrip("/")
        self.executor = executor
        self.chunk_rows = chunk_rows
        self.limits = limits or Limits()

    # -- reading ---------------------------------------------------------------------

    def _rows(self, path: Path, options: BatchOptions):
        tpl = self._templates.get(options.template)
        if options.lang is not None and options.lang not in tpl.languages:
            raise DataInvalid([FieldError("lang", f"template {tpl.name!r} renders "
                                          f"{', '.join(tpl.languages)}, not {options.lang!r}")])
        converter = RowConverter(tpl, key_column=options.key_column)
        header, records = read_records(path, options.format, encoding=options.encoding, limits=self.limits)
        return converter, converter.check_header(header), records

    def check(self, path: Path, options: BatchOptions) -> CheckReport:
        """A dry run: read and validate every row, issue nothing, store nothing."""
        converter, header_problems, records = self._rows(path, options)
        report = CheckReport(problems=list(header_problems))
        keys: dict[str, int] = {}
        for row, record in records:
            report.total += 1
            _data, key, problems = converter.convert(row, record)
            problems += _repeated(keys, key, row, options.key_column)
            report.problems.extend(problems)
            report.valid += not problems
        if header_problems:
            report.valid = 0
        return report

    # -- submitting ------------------------------------------------------------------

    def submit(self, path: Path, options: BatchOptions, *, source_name: str, actor: str) -> BatchRecord:
        """Record every row (good ones queued, bad ones invalid), then dispatch the good ones.

        A problem with the columns refuses the whole file (:class:`DataInvalid`) before
        anything is stored. With ``all_or_nothing`` a single bad row rejects the batch.
        """
        converter, header_problems, records = self._rows(path, options)
        if header_problems:
            raise DataInvalid([FieldError(f"columns.{p.column}", p.en) for p in header_problems])
        batch_id = new_batch_id()
        self.batches.create(BatchRecord(
            id=batch_id, agency=self.agency, template=options.template, state="queued", total=0,
            options=options.stored(), source_name=source_name[:200], created_by=actor,
            created_at=datetime.now(UTC), webhook_url=options.webhook_url,
            webhook_secret=options.webhook_secret,
        ))
        keys: dict[str, int] = {}
        pending: list[NewRow] = []
        total = invalid = 0
        try:
            for row, record in records:
                total += 1
                data, key, problems = converter.convert(row, record)
                problems += _repeated(keys, key, row, options.key_column)
                if key is None or options.key_column is None:
                    key = f"batch:{batch_id}:{row}"
                if problems:
                    invalid += 1
                    pending.append(NewRow(row, key, "invalid", None, [p.as_dict() for p in problems]))
                else:
                    pending.append(NewRow(row, key, "queued", data))
                if len(pending) >= _INSERT_EVERY:
                    self.batches.add_rows(batch_id, pending)
                    pending = []
            self.batches.add_rows(batch_id, pending)
        except BaseException:
            # a file that breaks off (encoding, a limit) leaves no half batch to run
            self.batches.cancel_rows(batch_id)
            self.batches.transition(batch_id, "rejected", when=ACTIVE)
            self.batches.clear_data(batch_id)
            raise
        self.batches.set_total(batch_id, total)
        if options.all_or_nothing and invalid:
            self.batches.cancel_rows(batch_id)
            self.batches.transition(batch_id, "rejected", when=ACTIVE)
        elif not self.batches.finish_if_complete(batch_id):
            self.dispatch(batch_id)
        return self.get(batch_id)

    def dispatch(self, batch_id: str) -> int:
        """Send the batch's queued rows to the executor again (safe to repeat); how many ranges."""
        if self.executor is None:
            return 0
        ranges = self.batches.queued_ranges(batch_id, self.chunk_rows)
        if ranges:
            self.executor.dispatch(batch_id, ranges)
        return len(ranges)

    def resume(self) -> list[str]:
        """Dispatch every unfinished batch again (after a restart of the embedded pool)."""
        active = [b for b in self.batches.active_batches()
                  if (rec := self.batches.get(b)) is not None and rec.agency == self.agency]
        for batch_id in active:
            self.dispatch(batch_id)
        return active

    # -- reading state ---------------------------------------------------------------

    def get(self, batch_id: str, *, agency: str | None = None) -> BatchRecord:
        """A batch with its counts; another agency's batch is :class:`NotFound` like a missing one."""
        batch = self.batches.get(batch_id, agency=agency)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        return batch

    def progress(self, batch: BatchRecord) -> dict[str, Any]:
        """Counts, rate (documents/s) and ETA (s) for the API and the progress bar."""
        c = batch.counts
        now = datetime.now(UTC)
        done = c.get("issued", 0) + c.get("failed", 0)
        rate = None
        if batch.started_at is not None:
            end = batch.finished_at or now
            if batch.finished_at is None:
                window = timedelta(seconds=30)
                since = max(batch.started_at, now - window)
                recent = self.batches.issued_counts_since(batch.id, since)
                span = (now - since).total_seconds()
                rate = recent / span if span > 1 else None
            if rate is None:
                span = (end - batch.started_at).total_seconds()
                rate = done / span if span > 0 else None
        queued = c.get("queued", 0)
        eta = queued / rate if rate and batch.state in ACTIVE else (0.0 if batch.state not in ACTIVE else None)
        return {"queued": queued, "issued": c.get("issued", 0), "failed": c.get("failed", 0),
                "invalid": c.get("invalid", 0), "cancelled": c.get("cancelled", 0),
                "rate": round(rate, 2) if rate is not None else None,
                "eta_seconds": round(eta, 1) if eta is not None else None}

    def results(self, batch_id: str, *, agency: str | None = None, lang: str = "th") -> Iterator[ResultRow]:
        """Every row's outcome in row order, read a page at a time."""
        self.get(batch_id, agency=agency)
        for r in self.batches.iter_rows(batch_id):
            error = None
            if r.error:
                error = "; ".join(
                    f"{e['column']}: {e.get(lang) or e['en']}" if e.get("column") else (e.get(lang) or e["en"])
                    for e in r.error
                )
            elif r.state == "cancelled":
                error = "ยกเลิกแล้ว ไม่ได้ออกเอกสาร" if lang == "th" else "cancelled: not issued"
            yield ResultRow(
                row=r.row, key=r.key, state=r.state, document_id=r.doc_id, number=r.doc_id,
                verify_url=f"{self._base}/verify/{r.doc_id}" if r.doc_id else None,
                sha256=r.sha256, error=error,
            )

    def cancel(self, batch_id: str, *, agency: str | None = None) -> BatchRecord:
        """Stop issuing: queued rows become cancelled; rows already issued stay issued."""
        batch = self.get(batch_id, agency=agency)
        if batch.state in ACTIVE:
            self.batches.transition(batch_id, "cancelled", when=ACTIVE)
            self.batches.cancel_rows(batch_id)
            self.batches.clear_data(batch_id)
        return self.get(batch_id)


def _repeated(keys: dict[str, int], key: str | None, row: int, column: str | None) -> list[Problem]:
    if key is None or column is None:
        return []
    first = keys.setdefault(key, row)
    if first == row:
        return []
    return [Problem(row, column, f"the key {key!r} is already used by row {first}",
                    f"คีย์ {key!r} ซ้ำกับแถว {first}")]


# -- the worker side ----------------------------------------------------------------


def run_chunk(batches: BatchStore, issuer, batch_id: str, lo: int, hi: int, *, on_finished=None) -> int:
    """Issue the still-queued rows ``lo..hi`` of a batch; how many this call issued.

    Raises on trouble that a retry may cure (database or store unavailable): the
    executor runs the range again later, and rows already done are skipped.
    """
    batch = batches.get(batch_id, counts=False)
    if batch is None or batch.state not in ACTIVE:
        return 0
    if batch.agency != issuer.agency_id:
        raise EdocError(f"batch {batch_id} belongs to agency {batch.agency!r}; this worker issues "
                        f"for {issuer.agency_id!r}")
    batches.transition(batch_id, "running", when=("queued",))
    opts = batch.options
    # Rows are marked issued together at the end of the range (failures at once): one
    # write for the range instead of one per row. A worker that dies
    # before that leaves its documents registered under the rows' keys, so the range
    # run again finds them (no render, no seal) and marks them then.
    done: list[tuple[int, str, str]] = []
    try:
        for row in batches.rows(batch_id, lo=lo, hi=hi, states=("queued",)):
            if batches.state(batch_id) not in ACTIVE:
                break  # cancelled meanwhile: the rest stays cancelled
            doc = _issue_row(batches, issuer, batch, opts, row)
            if doc is not None:
                done.append((row.row, doc.id, doc.record.sha256))
    finally:
        issued = batches.mark_issued_many(batch_id, done)
    if batches.finish_if_complete(batch_id):
        batches.clear_data(batch_id)
        if on_finished is not None:
            on_finished(batch_id)
    return issued


def _issue_row(batches: BatchStore, issuer, batch, opts, row):
    """The row's document, or None when the row failed (recorded as such)."""
    try:
        return issuer.issue(batch.template, row.data, lang=opts.get("lang"), level=opts.get("level"),
                            idempotency_key=row.key, actor=f"batch:{batch.id}")
    except DataInvalid as exc:
        error = [_field_problem(e) for e in exc.errors]
    except FieldError as exc:  # e.g. a name too long for the space the page gives it
        error = [_field_problem(exc)]
    except EdocError as exc:
        if getattr(exc, "kind", "") not in ("idempotency-conflict", "not-found"):
            raise
        error = [{"column": "", "en": str(exc), "th": _TH_FAIL}]
    batches.mark_failed(batch.id, row.row, error)
    return None


_TH_FAIL = "ออกเอกสารไม่ได้"


def _field_problem(e: FieldError) -> dict[str, str]:
    return {"column": "" if e.field == "(document)" else e.field, "en": e.message,
            "th": f"ออกเอกสารไม่ได้: {e.message}"}


def batch_view(service, batch) -> dict[str, Any]:
    """A batch as ``GET /v1/batches/{id}`` shows it."""
    return {
        "id": batch.id, "state": batch.state, "template": batch.template, "total": batch.total,
        **service.progress(batch),
        "source_name": batch.source_name, "options": batch.options,
        "created_at": batch.created_at.isoformat(),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "webhook_state": batch.webhook_state,
    }


def wait_for(service: BatchService, batch_id: str, *, poll: float = 0.5, on_progress=None,
             timeout: float | None = None) -> BatchRecord:
    """Poll until the batch ends; ``on_progress(batch)`` after every look."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        batch = service.get(batch_id)
        if on_progress is not None:
            on_progress(batch)
        if batch.state not in ACTIVE:
            return batch
        if deadline is not None and time.monotonic() > deadline:
            return batch
        time.sleep(poll)
