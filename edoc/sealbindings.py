"""Binding registered documents to what their seals sign, and filling it in for older homes.

Issuance and archive renewal record, with each version, the SHA-256 of the
bytes every seal and document timestamp of its PDF signs
(:func:`signing.bindings.signed_revisions`). Verification looks a file up by
those digests alone: whatever unsigned update was appended to a document, its
signed revision still names it, so a revoked document stays revoked.

Homes made before bindings existed (schema revision 0003) get theirs from the
stored objects by :func:`backfill`, which the home runs when it opens its
registry; a document not yet backfilled verifies as "sealed, not on record",
never as plainly valid.
"""

from __future__ import annotations

import logging

from signing.bindings import signed_revisions
from storage.registry import SealBinding

log = logging.getLogger(__name__)


def bindings_of(pdf: bytes) -> tuple[SealBinding, ...]:
    """The bindings to record for a sealed PDF (every signature whose range starts at byte 0)."""
    return tuple(
        SealBinding(signed_sha256=r.signed_sha256, kind=r.kind, field_name=r.field_name)
        for r in signed_revisions(pdf)
    )


def backfill(registry, store, *, batch: int = 500) -> int:
    """Record the bindings of every version that has none, from its stored PDF.

    Returns how many versions were bound. A version whose object cannot be read
    (or carries no readable seal) is logged and left for the next run; so are the
    rest of them when the store fails, never the registry's other work.
    """
    done = 0
    skipped: set[tuple[str, int]] = set()
    while True:
        pending = [v for v in registry.unbound_versions(limit=batch + len(skipped))
                   if (v[0], v[1]) not in skipped]
        if not pending:
            return done
        for doc_id, seq, sha256 in pending:
            try:
                found = bindings_of(store.get(sha256))
                if not found or not registry.bind_seals(doc_id, seq, found):
                    # nothing new to bind (a renewal with no new seal): nothing to do again
                    log.warning("version %s of %s carries no new seal to bind", seq, doc_id)
                    skipped.add((doc_id, seq))
                    continue
            except Exception as exc:  # store down, object missing: try again next time
                log.warning("could not bind the seals of %s version %s: %s", doc_id, seq, exc)
                skipped.add((doc_id, seq))
                continue
            done += 1
