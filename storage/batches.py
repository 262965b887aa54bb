"""Batch and row state in the registry database: the source of truth for batch issuance.

A batch is one submitted file; each of its records is a row with an idempotency
key unique within the batch. Workers (a local pool or Celery workers on other
machines) move rows from ``queued`` to ``issued`` or ``failed`` with conditional
updates, so a redelivered task finds its rows done and changes nothing. The
document itself is issued under the row's key through the registry's
``(agency, idempotency_key)`` constraint: a row never becomes two documents.

>>> store = BatchStore(registry.engine)                                  # doctest: +SKIP
>>> store.create(BatchRecord(id="b1", agency="moe", template="certificate", ...))  # doctest: +SKIP
>>> store.add_rows("b1", [NewRow(2, "b1:2", "queued", {"holder": {...}}, None)])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage._db import read_tx, write_tx
from storage.errors import Conflict
from storage.models import batch_rows, batches

__all__ = ["ACTIVE", "BatchRecord", "BatchRow", "BatchStore", "NewRow", "ROW_STATES"]

ROW_STATES = ("queued", "issued", "failed", "invalid", "cancelled")
#: batch states in which rows may still be issued
ACTIVE = ("queued", "running")
_INSERT_ROW = batch_rows.insert()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BatchRecord:
    """One submitted batch as the registry keeps it."""

    id: str
    agency: str
    template: str
    state: str
    """``queued``, ``running``, ``done``, ``rejected`` (all-or-nothing with bad rows), ``cancelled``."""
    total: int
    options: dict[str, Any]
    """What was asked (lang, level, key column, all-or-nothing...), as JSON."""
    source_name: str
    created_by: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_state: str | None = None
    counts: dict[str, int] = field(default_factory=dict, compare=False)
    """Rows per state (filled by :meth:`BatchStore.get`)."""


@dataclass(frozen=True)
class NewRow:
    """A row to add: its number in the file, key, first state, data, or why it is invalid."""

    row: int
    key: str
    state: str
    data: dict[str, Any] | None
    error: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class BatchRow:
    """One row of a batch."""

    batch_id: str
    row: int
    key: str
    state: str
    data: dict[str, Any] | None
    doc_id: str | None
    sha256: str | None
    error: list[dict[str, str]] | None
    attempts: int
    updated_at: datetime


def _row(r) -> BatchRow:
    return BatchRow(
        batch_id=r.batch_id, row=r.row, key=r.key, state=r.state,
        data=json.loads(r.data) if r.data is not None else None,
        doc_id=r.doc_id, sha256=r.sha256,
        error=json.loads(r.error) if r.error is not None else None,
        attempts=r.attempts, updated_at=r.updated_at,
    )


def _batch(r, counts: dict[str, int] | None = None) -> BatchRecord:
    return BatchRecord(
        id=r.id, agency=r.agency, template=r.template, state=r.state, total=r.total,
        options=json.loads(r.options), source_name=r.source_name, created_by=r.created_by,
        created_at=r.created_at, started_at=r.started_at, finished_at=r.finished_at,
        webhook_url=r.webhook_url, webhook_secret=r.webhook_secret, webhook_state=r.webhook_state,
        counts=counts or {},
    )


class BatchStore:
    """Batches and their rows in the registry's database."""

    def __init__(self, engine: Engine):
        self._engine = engine

    # -- batches ---------------------------------------------------------------------

    def create(self, batch: BatchRecord) -> None:
        """Record a new batch (its rows follow with :meth:`add_rows`)."""
        with write_tx(self._engine) as conn:
            conn.execute(batches.insert().values(
                id=batch.id, agency=batch.agency, template=batch.template, state=batch.state,
                total=batch.total, options=json.dumps(batch.options, sort_keys=True),
                source_name=batch.source_name, created_by=batch.created_by,
                created_at=batch.created_at, webhook_url=batch.webhook_url,
                webhook_secret=batch.webhook_secret,
            ))

    def get(self, batch_id: str, *, agency: str | None = None, counts: bool = True) -> BatchRecord | None:
        """A batch with its row counts (``counts``); None if missing (or another agency's)."""
        with read_tx(self._engine) as conn:
            r = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
            if r is None or (agency is not None and r.agency != agency):
                return None
            if not counts:
                return _batch(r)
            tally = dict.fromkeys(ROW_STATES, 0)
            for state, n in conn.execute(
                sa.select(batch_rows.c.state, sa.func.count())
                .where(batch_rows.c.batch_id == batch_id)
                .group_by(batch_rows.c.state)
            ):
                tally[state] = n
        return _batch(r, tally)

    def state(self, batch_id: str) -> str | None:
        """Just the batch's state (a worker looks before each row: cancelled?)."""
        with read_tx(self._engine) as conn:
            return conn.execute(sa.select(batches.c.state).where(batches.c.id == batch_id)).scalar()

    def list_batches(self, *, agency: str, limit: int = 50, before: datetime | None = None) -> list[BatchRecord]:
        """The agency's batches, newest first (``before``: created before this time)."""
        q = sa.select(batches).where(batches.c.agency == agency)
        if before is not None:
            q = q.where(batches.c.created_at < before)
        q = q.order_by(batches.c.created_at.desc(), batches.c.id.desc()).limit(limit)
        with read_tx(self._engine) as conn:
            rows = conn.execute(q).all()
        return [b for b in (self.get(r.id) for r in rows) if b is not None]

    def set_total(self, batch_id: str, total: int) -> None:
        with write_tx(self._engine) as conn:
            conn.execute(batches.update().where(batches.c.id == batch_id).values(total=total))

    def transition(self, batch_id: str, to: str, *, when: Iterable[str]) -> bool:
        """Move the batch to ``to`` if it is in one of ``when``; True if this call did it."""
        values: dict[str, Any] = {"state": to}
        if to == "running":
            values["started_at"] = _now()
        if to in ("done", "rejected", "cancelled"):
            values["finished_at"] = _now()
        with write_tx(self._engine) as conn:
            n = conn.execute(
                batches.update()
                .where(batches.c.id == batch_id, batches.c.state.in_(list(when)))
                .values(**values)
            ).rowcount
        return n == 1

    def finish_if_complete(self, batch_id: str) -> bool:
        """``done`` once no row is queued; True only for the one caller that finished it."""
        queued = (
            sa.select(batch_rows.c.row)
            .where(batch_rows.c.batch_id == batch_id, batch_rows.c.state == "queued")
            .exists()
        )
        with write_tx(self._engine) as conn:
            n = conn.execute(
                batches.update()
                .where(batches.c.id == batch_id, batches.c.state.in_(ACTIVE), ~queued)
                .values(state="done", finished_at=_now())
            ).rowcount
        return n == 1

    def set_webhook_state(self, batch_id: str, state: str) -> None:
        with write_tx(self._engine) as conn:
            conn.execute(batches.update().where(batches.c.id == batch_id).values(webhook_state=state))

    # -- rows ------------------------------------------------------------------------

    def add_rows(self, batch_id: str, rows: list[NewRow]) -> None:
        """Insert rows in one transaction; :class:`Conflict` when a key repeats in the batch."""
        if not rows:
            return
        now = _now()
        values = [
            {
                "batch_id": batch_id, "row": r.row, "key": r.key, "state": r.state,
                "data": json.dumps(r.data, ensure_ascii=False) if r.data is not None else None,
                "doc_id": None, "sha256": None,
                "error": json.dumps(r.error, ensure_ascii=False) if r.error else None,
                "attempts": 0, "updated_at": now,
            }
            for r in rows
        ]
        try:
            with write_tx(self._engine) as conn:
                conn.execute(_INSERT_ROW, values)
        except IntegrityError as exc:
            raise Conflict(f"batch {batch_id}: a row number or key repeats") from exc

    def rows(
        self, batch_id: str, *, lo: int = 0, hi: int | None = None, states: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[BatchRow]:
        """Rows with ``lo <= row <= hi`` (in those ``states``), in row order."""
        q = sa.select(batch_rows).where(batch_rows.c.batch_id == batch_id, batch_rows.c.row >= lo)
        if hi is not None:
            q = q.where(batch_rows.c.row <= hi)
        if states is not None:
            q = q.where(batch_rows.c.state.in_(list(states)))
        q = q.order_by(batch_rows.c.row)
        if limit is not None:
            q = q.limit(limit)
        with read_tx(self._engine) as conn:
            return [_row(r) for r in conn.execute(q)]

    def iter_rows(self, batch_id: str, *, page: int = 1000) -> Iterator[BatchRow]:
        """Every row in order, read a page at a time (memory stays flat for big batches)."""
        lo = 0
        while True:
            chunk = self.rows(batch_id, lo=lo, limit=page)
            yield from chunk
            if len(chunk) < page:
                return
            lo = chunk[-1].row + 1

    def queued_ranges(self, batch_id: str, chunk_rows: int) -> list[tuple[int, int]]:
        """The queued rows as ``(first, last)`` ranges of at most ``chunk_rows`` rows each."""
        ranges: list[tuple[int, int]] = []
        with read_tx(self._engine) as conn:
            numbers = conn.execute(
                sa.select(batch_rows.c.row)
                .where(batch_rows.c.batch_id == batch_id, batch_rows.c.state == "queued")
                .order_by(batch_rows.c.row)
            ).scalars()
            current: list[int] = []
            for n in numbers:
                current.append(n)
                if len(current) == chunk_rows:
                    ranges.append((current[0], current[-1]))
                    current = []
            if current:
                ranges.append((current[0], current[-1]))
        return ranges

    def mark_issued(self, batch_id: str, row: int, *, doc_id: str, sha256: str) -> bool:
        """Record a row's document (and forget its data); False if it was already recorded.

        A row cancelled while its document was being issued is recorded as issued: the
        document exists, and the results must say so.
        """
        with write_tx(self._engine) as conn:
            n = conn.execute(
                batch_rows.update()
                .where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row,
                       batch_rows.c.state.in_(("queued", "cancelled")))
                .values(state="issued", doc_id=doc_id, sha256=sha256, data=None, updated_at=_now(),
                        attempts=batch_rows.c.attempts + 1)
            ).rowcount
        return n == 1

    def mark_issued_many(self, batch_id: str, issued: list[tuple[int, str, str]]) -> int:
        """:meth:`mark_issued` for ``(row, doc_id, sha256)`` items in one transaction; how many."""
        if not issued:
            return 0
        n = 0
        with write_tx(self._engine) as conn:
            for row, doc_id, sha256 in issued:
                n += conn.execute(
                    batch_rows.update()
                    .where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row,
                           batch_rows.c.state.in_(("queued", "cancelled")))
                    .values(state="issued", doc_id=doc_id, sha256=sha256, data=None,
                            updated_at=_now(), attempts=batch_rows.c.attempts + 1)
                ).rowcount
        return n

    def mark_failed(self, batch_id: str, row: int, error: list[dict[str, str]]) -> bool:
        """A queued row that cannot be issued (the data was refused while rendering)."""
        with write_tx(self._engine) as conn:
            n = conn.execute(
                batch_rows.update()
                .where(batch_rows.c.batch_id == batch_id, batch_rows.c.row == row,
                       batch_rows.c.state == "queued")
                .values(state="failed", error=json.dumps(error, ensure_ascii=False), data=None,
                        updated_at=_now(), attempts=batch_rows.c.attempts + 1)
            ).rowcount
        return n == 1

    def cancel_rows(self, batch_id: str, *, state: str = "cancelled") -> int:
        """Every still-queued row becomes ``state`` (cancelled); how many did."""
        with write_tx(self._engine) as conn:
            return conn.execute(
                batch_rows.update()
                .where(batch_rows.c.batch_id == batch_id, batch_rows.c.state == "queued")
                .values(state=state, data=None, updated_at=_now())
            ).rowcount

    def clear_data(self, batch_id: str) -> None:
        """Forget every row's document data (the batch ended: the data is personal)."""
        with write_tx(self._engine) as conn:
            conn.execute(
                batch_rows.update()
                .where(batch_rows.c.batch_id == batch_id, batch_rows.c.data.is_not(None))
                .values(data=None)
            )

    def issued_counts_since(self, batch_id: str, since: datetime) -> int:
        """Rows issued at or after ``since`` (for the recent rate)."""
        with read_tx(self._engine) as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(
                    batch_rows.c.batch_id == batch_id, batch_rows.c.state == "issued",
                    batch_rows.c.updated_at >= since,
                )
            ).scalar_one()

    def active_batches(self) -> list[str]:
        """Ids of batches that still have work (to resume after a restart)."""
        with read_tx(self._engine) as conn:
            return list(conn.execute(
                sa.select(batches.c.id).where(batches.c.state.in_(ACTIVE)).order_by(batches.c.created_at)
            ).scalars())
