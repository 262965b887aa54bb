"""An append-only, hash-chained audit log kept in the registry's database.

Each entry's ``hash`` is the SHA-256 of a canonical JSON encoding of its fields
and the previous entry's hash, so editing, deleting or reordering rows breaks
the chain at a place :meth:`AuditLog.verify` names. Anchors are timestamp tokens
over the head hash (made by a callable edoc injects): they pin the whole chain
up to that point, even against someone who rewrites every later row.

>>> log = registry.audit                                          # doctest: +SKIP
>>> log.append("document.issued", actor="ak_12", agency="moi",
...            subject="MOI-2026-000001", details={"level": "B-T"})  # doctest: +SKIP
>>> log.verify().ok                                                # doctest: +SKIP
True
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage import agency_audit
from storage._db import read_tx, write_tx
from storage.models import audit_anchors, audit_entries, audit_head

log = logging.getLogger(__name__)

#: the ``prev_hash`` of the first entry
GENESIS = "0" * 64
EXPORT_FORMAT = "edoc-audit-export/1"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    """Position in the chain, 1 for the first entry, without gaps."""
    at: datetime
    """When it happened (UTC): when appended, or when submitted for a batched event."""
    event: str
    """What happened, e.g. ``document.issued``."""
    actor: str
    """Who did it: an API key id, ``cli:<user>``, ``system``."""
    agency: str | None
    """The agency concerned, if any."""
    subject: str | None
    """What it happened to, e.g. a document id."""
    details: Mapping[str, Any] = field(hash=False)
    """Extra facts, JSON-serialisable."""
    prev_hash: str
    """``hash`` of the previous entry (:data:`GENESIS` for the first)."""
    hash: str
    """SHA-256 hex over the canonical encoding of every field above."""

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (what :meth:`AuditLog.export` writes)."""
        return {
            "seq": self.seq,
            "at": _ts(self.at),
            "event": self.event,
            "actor": self.actor,
            "agency": self.agency,
            "subject": self.subject,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditAnchor:
    """A timestamp token over the chain's head hash at one moment."""

    id: str
    """Random identifier."""
    seq: int
    """Seq of the head entry the token covers (0 for an empty log)."""
    head_hash: str
    """That entry's hash; the token was made over its 32 raw bytes."""
    at: datetime
    """When the anchor was stored (UTC); the token carries the trusted time."""
    token: bytes
    """The opaque token (an RFC 3161 TimeStampToken when edoc makes it)."""


@dataclass(frozen=True)
class ChainReport:
    """The verdict of :meth:`AuditLog.verify`: a value, not an exception."""

    ok: bool
    """True if every entry, the head and every anchor agree."""
    checked: int
    """How many entries were checked."""
    first_broken_seq: int | None = None
    """Seq of the first entry where the chain breaks."""
    reason: str | None = None
    """What is wrong there, for people."""
    head_seq: int = 0
    """Seq of the newest entry that was checked."""
    head_hash: str = GENESIS
    """Hash of that entry."""


def canonical_json(value: Any) -> str:
    """The one JSON text for ``value``: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    event: str,
    actor: str,
    agency: str | None,
    subject: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The hash an entry with these fields must carry."""
    body = {
        "seq": seq,
        "at": _ts(at),
        "event": event,
        "actor": actor,
        "agency": agency,
        "subject": subject,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _ts(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry(row) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        event=row.event,
        actor=row.actor,
        agency=row.agency,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _anchor(row) -> AuditAnchor:
    return AuditAnchor(id=row.id, seq=row.seq, head_hash=row.head_hash, at=row.at, token=bytes(row.token))


@dataclass(frozen=True)
class AuditEvent:
    """An entry to append, not yet chained (used to append in the same transaction as a change)."""

    event: str
    """What happened, e.g. ``document.issued``."""
    actor: str
    """Who did it (API key id, ``cli``, ``system``)."""
    agency: str | None = None
    """The agency it concerns."""
    subject: str | None = None
    """What it concerns, e.g. a document id."""
    details: Mapping[str, Any] | None = None
    """Extra facts (JSON-serialisable)."""
    at: datetime | None = None
    """When it happened, if not now (an event appended later, in a batch)."""


def append_in(conn, record: AuditEvent) -> AuditEntry:
    """Append ``record`` inside the caller's write transaction ``conn``.

    The change and its audit entry then commit together or not at all, so a crash
    can never leave a registered document without its ``document.issued`` entry.
    """
    return append_all_in(conn, [record])[0]


def append_all_in(conn, records: list[AuditEvent]) -> list[AuditEntry]:
    """Append ``records``, in order, inside the caller's write transaction ``conn``.

    The head is read and moved once, and the rows go in as one batch.
    """
    for record in records:
        if not record.event or not record.actor:
            raise ValueError("an audit entry needs an event and an actor")
    if not records:
        return []
    # Locking the head row serialises appenders across processes
    # (SQLite: the write transaction does), so the chain never forks.
    head = conn.execute(_LOCK_HEAD).one()
    seq, prev_hash = head.seq, head.hash
    entries, rows = [], []
    for record in records:
        details_text = canonical_json(dict(record.details or {}))
        seq += 1
        fields = dict(
            seq=seq,
            at=record.at or datetime.now(UTC),
            event=record.event,
            actor=record.actor,
            agency=record.agency,
            subject=record.subject,
            details=json.loads(details_text),
            prev_hash=prev_hash,
        )
        entry = AuditEntry(**fields, hash=entry_hash(**fields))
        entries.append(entry)
        rows.append({**fields, "details": details_text, "hash": entry.hash})
        prev_hash = entry.hash
    conn.execute(_INSERT_ENTRY, rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev_hash})
    agency_audit.link_in(conn, entries)  # each agency's own chain, in the same transaction
    return entries


# Built once: statements whose values come as parameters are compiled once per
# engine, instead of coercing and cache-keying every value of every append.
_LOCK_HEAD = sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()
_INSERT_ENTRY = audit_entries.insert()
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == 1)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


class AuditLog:
    """The audit log in a registry's database (normally reached as ``registry.audit``)."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def append(
        self,
        event: str,
        *,
        actor: str,
        agency: str | None = None,
        subject: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Add an entry at the head of the chain; safe from many processes at once."""
        record = AuditEvent(event, actor=actor, agency=agency, subject=subject, details=details)
        with write_tx(self._engine) as conn:
            return append_in(conn, record)

    def append_many(self, records: Iterable[AuditEvent]) -> list[AuditEntry]:
        """Add several entries, in order, in one transaction (all or none)."""
        with write_tx(self._engine) as conn:
            return append_all_in(conn, list(records))

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        agency: str | None = None,
        event: str | None = None,
        limit: int = 1000,
        after_seq: int = 0,
    ) -> list[AuditEntry]:
        """Entries in chain order; page with ``after_seq`` = the last seq seen."""
        query = sa.select(audit_entries).where(audit_entries.c.seq > after_seq)
        if since is not None:
            query = query.where(audit_entries.c.at >= since)
        if until is not None:
            query = query.where(audit_entries.c.at < until)
        if agency is not None:
            query = query.where(audit_entries.c.agency == agency)
        if event is not None:
            query = query.where(audit_entries.c.event == event)
        with read_tx(self._engine) as conn:
            rows = conn.execute(query.order_by(audit_entries.c.seq).limit(limit)).all()
        return [_entry(row) for row in rows]

    def head(self) -> tuple[int, str]:
        """Seq and hash of the newest entry (0 and :data:`GENESIS` when empty)."""
        with read_tx(self._engine) as conn:
            row = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).one()
        return row.seq, row.hash

    def verify(self) -> ChainReport:
        """Recompute the chain and name the first broken link, if any."""
        head_seq, head_hash = self.head()
        return check_chain(self._iter_entries(head_seq), head=(head_seq, head_hash), anchors=self.anchors())

    def anchor(self, timestamp: Callable[[bytes], bytes]) -> AuditAnchor:
        """Have ``timestamp`` sign the head hash's 32 raw bytes and store the token it returns."""
        seq, head_hash = self.head()
        token = timestamp(bytes.fromhex(head_hash))  # may be slow: no lock is held
        if not isinstance(token, bytes | bytearray) or not token:
            raise ValueError("the timestamp callable must return the token as non-empty bytes")
        anchor = AuditAnchor(
            id=secrets.token_hex(8), seq=seq, head_hash=head_hash, at=datetime.now(UTC), token=bytes(token)
        )
        with write_tx(self._engine) as conn:
            conn.execute(audit_anchors.insert().values(**anchor.__dict__))
        return anchor

    def anchors(self) -> list[AuditAnchor]:
        """Every anchor, oldest head first."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                sa.select(audit_anchors).order_by(audit_anchors.c.seq, audit_anchors.c.at)
            ).all()
        return [_anchor(row) for row in rows]

    def export(self, fp: IO[str] | IO[bytes]) -> int:
        """Write a header, every entry and every anchor as JSON lines; returns the entry count.

        Only entries up to the head read at the start are written, so the
        export is one consistent chain even while others append.
        """
        head_seq, head_hash = self.head()
        binary = isinstance(fp, io.RawIOBase | io.BufferedIOBase) or "b" in getattr(fp, "mode", "")

        def write(obj: dict[str, Any]) -> None:
            line = canonical_json(obj) + "\n"
            fp.write(line.encode("utf-8") if binary else line)  # type: ignore[arg-type]

        write({"type": "header", "format": EXPORT_FORMAT, "head_seq": head_seq, "head_hash": head_hash,
               "exported_at": _ts(datetime.now(UTC))})
        count = 0
        for entry in self._iter_entries(head_seq):
            write({"type": "entry", **entry.to_json()})
            count += 1
        for anchor in self.anchors():
            if anchor.seq <= head_seq:
                write({"type": "anchor", "id": anchor.id, "seq": anchor.seq, "head_hash": anchor.head_hash,
                       "at": _ts(anchor.at), "token": base64.b64encode(anchor.token).decode("ascii")})
        return count

    def _iter_entries(self, up_to: int, batch: int = 1000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            with read_tx(self._engine) as conn:
                rows = conn.execute(
                    sa.select(audit_entries)
                    .where(audit_entries.c.seq > after, audit_entries.c.seq <= up_to)
                    .order_by(audit_entries.c.seq)
                    .limit(batch)
                ).all()
            yield from (_entry(row) for row in rows)
            if len(rows) < batch:
                return
            after = rows[-1].seq


class AuditBatcher:
    """Appends frequent, low-stakes events in batches, from a background thread.

    Made for public lookups (``document.verified``): thousands a second, each
    worth a line in the trail but not a write transaction of its own. Events
    keep the time they were submitted and are appended, in order, at most
    ``max_delay`` seconds later, or sooner when ``max_batch`` are waiting.
    A process that dies loses at most that window of events; the chain itself
    is never affected. Accountable actions (issuance, downloads, revocations,
    keys) do not come here: they are appended in the transaction of their change.

    >>> batcher = AuditBatcher(registry.audit)                       # doctest: +SKIP
    >>> batcher.submit(AuditEvent("document.verified", actor="public"))  # doctest: +SKIP
    >>> batcher.close()  # appends what is waiting                   # doctest: +SKIP
    """

    def __init__(
        self, log: AuditLog, *, max_delay: float = 0.25, max_batch: int = 500, max_pending: int = 100_000
    ):
        self._log = log
        self._max_delay = max_delay
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._pending: list[AuditEvent] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._write_lock = threading.Lock()  # one batch at a time, in submission order
        self._thread: threading.Thread | None = None
        self._closed = False
        self.dropped = 0
        """Events dropped because the database stayed unavailable with ``max_pending`` waiting."""

    def submit(self, record: AuditEvent) -> None:
        """Queue one event (stamped now unless it carries its own time); never blocks on the database."""
        if record.at is None:
            record = replace(record, at=datetime.now(UTC))
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit batcher is closed")
            if len(self._pending) >= self._max_pending:
                self.dropped += 1
                return
            self._pending.append(record)
            full = len(self._pending) >= self._max_batch
            if self._thread is None:  # started on first use: a forked worker gets its own
                self._thread = threading.Thread(target=self._run, name="audit-batcher", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Append everything queued so far, now; returns how many were appended."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self._log.append_many(batch)
            except Exception:
                with self._lock:  # keep them for the next try, oldest first
                    self._pending[:0] = batch
                    excess = len(self._pending) - self._max_pending
                    if excess > 0:
                        del self._pending[:excess]
                        self.dropped += excess
                raise
            return len(batch)

    def close(self) -> None:
        """Stop the thread and append what is waiting (errors are logged, not raised)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()
        try:
            self.flush()
        except Exception:
            log.exception("could not append %d queued audit events", len(self._pending))

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._max_delay)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("audit batch not appended yet; retrying")


def check_chain(
    entries: Iterable[AuditEntry],
    *,
    head: tuple[int, str] | None = None,
    anchors: Iterable[AuditAnchor] = (),
) -> ChainReport:
    """Check entries given in seq order against each other, the recorded head and the anchors."""
    expected, prev, checked = 1, GENESIS, 0
    hashes: dict[int, str] = {0: GENESIS}
    anchors = sorted(anchors, key=lambda a: a.seq)

    def broken(seq: int, reason: str) -> ChainReport:
        return ChainReport(False, checked, seq, reason, expected - 1, prev)

    for entry in entries:
        if entry.seq != expected:
            if entry.seq < expected:
                return broken(entry.seq, f"entry {entry.seq} appears out of order")
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            return broken(expected, f"entry {missing} is missing (deleted)")
        if entry.prev_hash != prev:
            return broken(entry.seq, f"entry {entry.seq} does not link to entry {entry.seq - 1} "
                                     "(an earlier entry was changed, or rows were reordered)")
        recomputed = entry_hash(
            seq=entry.seq, at=entry.at, event=entry.event, actor=entry.actor, agency=entry.agency,
            subject=entry.subject, details=entry.details, prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            return broken(entry.seq, f"entry {entry.seq} was changed after it was written")
        checked += 1
        prev = entry.hash
        hashes[entry.seq] = entry.hash
        expected += 1
    last = expected - 1
    if head is not None:
        head_seq, head_hash = head
        if head_seq > last:
            return broken(last + 1, f"entries {last + 1}-{head_seq} are missing (the tail was cut)")
        if head_seq != last or head_hash != prev:
            return broken(last, f"the recorded head ({head_seq}) does not match entry {last}")
    for anchor in anchors:
        if anchor.seq > last:
            return broken(last + 1, f"anchor {anchor.id} covers entry {anchor.seq}, which is missing")
        if hashes[anchor.seq] != anchor.head_hash:
            return broken(anchor.seq, f"entry {anchor.seq} differs from what anchor {anchor.id} "
                                      "timestamped (the chain was rewritten)")
    return ChainReport(True, checked, None, None, last, prev)


def read_export(fp: IO[str] | IO[bytes]) -> tuple[dict[str, Any], list[AuditEntry], list[AuditAnchor]]:
    """Parse what :meth:`AuditLog.export` wrote: header, entries, anchors."""
    header: dict[str, Any] = {}
    entries: list[AuditEntry] = []
    anchors: list[AuditAnchor] = []
    for raw in fp:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        obj = json.loads(line)
        kind = obj.pop("type", None)
        if kind == "header":
            header = obj
        elif kind == "entry":
            obj["at"] = datetime.fromisoformat(obj["at"])
            entries.append(AuditEntry(**obj))
        elif kind == "anchor":
            obj["at"] = datetime.fromisoformat(obj["at"])
            obj["token"] = base64.b64decode(obj["token"])
            anchors.append(AuditAnchor(**obj))
        else:
            raise ValueError(f"not an audit export line: {line[:80]!r}")
    if header.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not an {EXPORT_FORMAT} file")
    return header, entries, anchors


def verify_export(fp: IO[str] | IO[bytes]) -> ChainReport:
    """Check an exported log offline, without the database."""
    header, entries, anchors = read_export(fp)
    return check_chain(entries, head=(header["head_seq"], header["head_hash"]), anchors=anchors)
