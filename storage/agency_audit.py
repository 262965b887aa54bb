"""Each agency's own audit chain, and platform-wide checkpoints that anchor them all.

The platform's audit log is one hash chain (:mod:`storage.audit`); an agency's
auditors see only their agency's entries, so they cannot recompute it. Every
entry of an agency therefore also gets a *link* in that agency's chain:
``hash = SHA-256(agency, aseq, seq, entry_hash, prev_hash)``. With its entries
and links alone, an auditor finds any entry of theirs changed, removed or
reordered. A *checkpoint* pins the global head and every agency's head at one
moment under a TSA token: an agency's history cannot be cut or rewritten
behind the newest checkpoint without detection.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage._db import read_tx, write_tx
from storage.models import agency_audit_links, audit_checkpoints, audit_entries, audit_head

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(*, agency: str, aseq: int, seq: int, entry_hash: str, prev_hash: str) -> str:
    """The hash an agency chain link with these fields must carry."""
    body = {"agency": agency, "aseq": aseq, "seq": seq, "entry_hash": entry_hash, "prev_hash": prev_hash}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def _heads_in(conn, wanted: Iterable[str]) -> dict[str, tuple[int, str]]:
    heads: dict[str, tuple[int, str]] = {}
    for agency in set(wanted):
        row = conn.execute(
            sa.select(agency_audit_links.c.aseq, agency_audit_links.c.hash)
            .where(agency_audit_links.c.agency == agency)
            .order_by(agency_audit_links.c.aseq.desc()).limit(1)
        ).first()
        heads[agency] = (row.aseq, row.hash) if row else (0, GENESIS)
    return heads


def link_in(conn, entries) -> None:
    """Add the agency links of freshly appended ``entries`` (inside the append's transaction).

    The append holds the global head's lock, so the agency chains never fork either.
    """
    mine = [e for e in entries if e.agency]
    if not mine:
        return
    heads = _heads_in(conn, (e.agency for e in mine))
    rows = []
    for e in mine:
        aseq, prev = heads[e.agency]
        aseq += 1
        h = link_hash(agency=e.agency, aseq=aseq, seq=e.seq, entry_hash=e.hash, prev_hash=prev)
        rows.append(dict(agency=e.agency, aseq=aseq, seq=e.seq, entry_hash=e.hash, prev_hash=prev, hash=h))
        heads[e.agency] = (aseq, h)
    conn.execute(agency_audit_links.insert(), rows)


def backfill(engine: Engine, batch: int = 1000) -> int:
    """Link every entry that has no link yet, in chain order (upgrading a home); returns how many."""
    from storage.audit import _entry

    done = 0
    with write_tx(engine) as conn:
        conn.execute(sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
        linked = sa.select(agency_audit_links.c.seq)
        after = 0
        while True:
            rows = conn.execute(
                sa.select(audit_entries)
                .where(audit_entries.c.seq > after, audit_entries.c.agency.is_not(None),
                       audit_entries.c.seq.not_in(linked))
                .order_by(audit_entries.c.seq).limit(batch)
            ).all()
            if not rows:
                return done
            link_in(conn, [_entry(r) for r in rows])
            done += len(rows)
            after = rows[-1].seq


@dataclass(frozen=True)
class AgencyChainReport:
    """The outcome of checking one agency's chain."""

    agency: str
    ok: bool
    checked: int
    first_broken: int | None
    """The agency sequence number (aseq) of the first broken link."""
    reason: str | None
    head_aseq: int
    head_hash: str
    checkpoint: str | None = None
    """The newest checkpoint the head was compared with."""


@dataclass(frozen=True)
class Checkpoint:
    """A TSA-timestamped statement of every chain's head at one moment."""

    id: str
    seq: int
    body: dict[str, Any]
    """``{"seq", "head_hash", "agencies": {id: [aseq, hash]}}``"""
    at: datetime
    token: bytes

    @property
    def canonical_body(self) -> bytes:
        """The body's canonical JSON (UTF-8): what the token's imprint is a digest of."""
        return _canonical(self.body).encode()

    @property
    def digest(self) -> bytes:
        """What the TSA token timestamps: SHA-256 of the body's canonical JSON."""
        return hashlib.sha256(self.canonical_body).digest()


def _checkpoint(row) -> Checkpoint:
    return Checkpoint(id=row.id, seq=row.seq, body=json.loads(row.body), at=row.at, token=bytes(row.token))


class AgencyAudit:
    """Agency chains and checkpoints in a registry's database (``registry.agency_audit``)."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def heads(self) -> dict[str, tuple[int, str]]:
        """Every agency's chain head: ``{agency: (aseq, hash)}``."""
        with read_tx(self._engine) as conn:
            agencies = [r[0] for r in conn.execute(sa.select(agency_audit_links.c.agency).distinct())]
            return _heads_in(conn, agencies)

    def checkpoint(self, timestamp: Callable[[bytes], bytes]) -> Checkpoint:
        """Timestamp the global head and every agency head together; store and return it."""
        with read_tx(self._engine) as conn:
            head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).one()
            agencies = [r[0] for r in conn.execute(sa.select(agency_audit_links.c.agency).distinct())]
            heads = _heads_in(conn, agencies)
        body = {"seq": head.seq, "head_hash": head.hash,
                "agencies": {a: [s, h] for a, (s, h) in sorted(heads.items())}}
        cp = Checkpoint(id=secrets.token_hex(8), seq=head.seq, body=body, at=datetime.now(UTC), token=b"")
        token = timestamp(cp.digest)
        if not isinstance(token, bytes | bytearray) or not token:
            raise ValueError("the timestamp callable must return the token as non-empty bytes")
        cp = Checkpoint(cp.id, cp.seq, body, cp.at, bytes(token))
        with write_tx(self._engine) as conn:
            conn.execute(audit_checkpoints.insert().values(
                id=cp.id, seq=cp.seq, body=_canonical(body), at=cp.at, token=cp.token))
        return cp

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq, audit_checkpoints.c.at)
            ).all()
        return [_checkpoint(r) for r in rows]

    def verify(self, agency: str, *, check_token: Callable[[Checkpoint], None] | None = None) -> AgencyChainReport:
        """Check ``agency``'s entries against its links, and its head against the newest checkpoint.

        ``check_token`` raises when a checkpoint's TSA token does not timestamp its digest.
        """
        from storage.audit import _entry, entry_hash

        with read_tx(self._engine) as conn:
            links = conn.execute(
                sa.select(agency_audit_links).where(agency_audit_links.c.agency == agency)
                .order_by(agency_audit_links.c.aseq)
            ).all()
            entries = {r.seq: _entry(r) for r in conn.execute(
                sa.select(audit_entries).where(audit_entries.c.agency == agency))}
        prev, checked, hashes = GENESIS, 0, {0: GENESIS}

        def broken(aseq: int, reason: str) -> AgencyChainReport:
            return AgencyChainReport(agency, False, checked, aseq, reason, checked, prev)

        for expected, link in enumerate(links, start=1):
            if link.aseq != expected:
                return broken(expected, f"link {expected} of agency {agency} is missing (deleted)")
            if link.prev_hash != prev or link.hash != link_hash(
                agency=agency, aseq=link.aseq, seq=link.seq, entry_hash=link.entry_hash, prev_hash=link.prev_hash
            ):
                return broken(link.aseq, f"link {link.aseq} was changed or does not follow link {link.aseq - 1}")
            entry = entries.pop(link.seq, None)
            if entry is None:
                return broken(link.aseq, f"audit entry {link.seq} (link {link.aseq}) was removed")
            recomputed = entry_hash(seq=entry.seq, at=entry.at, event=entry.event, actor=entry.actor,
                                    agency=entry.agency, subject=entry.subject, details=entry.details,
                                    prev_hash=entry.prev_hash)
            if recomputed != entry.hash or entry.hash != link.entry_hash:
                return broken(link.aseq, f"audit entry {entry.seq} (link {link.aseq}) was changed after it was written")
            checked += 1
            prev = link.hash
            hashes[link.aseq] = link.hash
        if entries:
            seq = min(entries)
            return broken(checked + 1, f"audit entry {seq} of agency {agency} is not in its chain (inserted later)")
        newest = None
        for cp in self.checkpoints():
            head = cp.body.get("agencies", {}).get(agency)
            if head is None:
                continue
            if check_token is not None:
                check_token(cp)
            aseq, h = int(head[0]), head[1]
            if aseq > checked:
                return broken(checked + 1, f"checkpoint {cp.id} covers link {aseq}, which is missing (the tail was cut)")
            if hashes.get(aseq) != h:
                return broken(aseq, f"link {aseq} differs from what checkpoint {cp.id} timestamped (rewritten)")
            newest = cp.id
        return AgencyChainReport(agency, True, checked, None, None, checked, prev, newest)
