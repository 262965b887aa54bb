"""Seal bindings: which document a seal's signed bytes belong to (see ``models.seal_bindings``).

A binding is the SHA-256 of the bytes one signature of a document's PDF signs
(its ``/ByteRange``); the signing layer computes it, this module only keeps it.
A digest belongs to one document; a version records the bindings it added.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storage._base import check_key
from storage._db import read_tx
from storage.errors import Conflict
from storage.models import document_versions, seal_bindings

BindingKind = Literal["signature", "document-timestamp"]


@dataclass(frozen=True)
class SealBinding:
    """One signature of a document's PDF, by the digest of what it signs."""

    signed_sha256: str
    """SHA-256 (hex) of the bytes the signature's ``/ByteRange`` covers."""
    kind: BindingKind
    field_name: str


@dataclass(frozen=True)
class BoundSeal:
    """A binding as recorded: which document and version it came with."""

    signed_sha256: str
    doc_id: str
    seq: int
    kind: str
    field_name: str


def insert_in(conn: Connection, doc_id: str, seq: int, bindings: Iterable[SealBinding]) -> int:
    """Record ``bindings`` for version ``seq`` of ``doc_id`` in the caller's transaction.

    A digest already bound to this document is kept as it was (a renewal carries
    the earlier seals too); one bound to another document is a :class:`Conflict`.
    Returns how many rows were added.
    """
    added = 0
    for b in bindings:
        check_key(b.signed_sha256)
        owner = conn.execute(
            sa.select(seal_bindings.c.doc_id).where(seal_bindings.c.signed_sha256 == b.signed_sha256)
        ).scalar_one_or_none()
        if owner == doc_id:
            continue
        if owner is not None:
            raise Conflict(f"seal {b.signed_sha256} is already bound to another document")
        conn.execute(
            seal_bindings.insert().values(
                signed_sha256=b.signed_sha256, doc_id=doc_id, seq=seq, kind=b.kind,
                field_name=b.field_name[:1000],
            )
        )
        added += 1
    return added


def find(engine: Engine, digests: Iterable[str]) -> list[BoundSeal]:
    """The recorded bindings among ``digests`` (unknown ones are left out)."""
    wanted = sorted({d for d in digests if isinstance(d, str) and len(d) == 64})
    if not wanted:
        return []
    with read_tx(engine) as conn:
        rows = conn.execute(
            sa.select(seal_bindings).where(seal_bindings.c.signed_sha256.in_(wanted))
        ).all()
    return [BoundSeal(r.signed_sha256, r.doc_id, r.seq, r.kind, r.field_name) for r in rows]


def unbound_versions(engine: Engine, *, limit: int = 1000) -> list[tuple[str, int, str]]:
    """Versions with no binding recorded: ``(doc_id, seq, sha256)``, made before bindings existed."""
    bound = sa.select(seal_bindings.c.doc_id).where(
        seal_bindings.c.doc_id == document_versions.c.doc_id,
        seal_bindings.c.seq == document_versions.c.seq,
    )
    query = (
        sa.select(document_versions.c.doc_id, document_versions.c.seq, document_versions.c.sha256)
        .where(~bound.exists())
        .order_by(document_versions.c.doc_id, document_versions.c.seq)
        .limit(limit)
    )
    with read_tx(engine) as conn:
        return [(r.doc_id, r.seq, r.sha256) for r in conn.execute(query)]
