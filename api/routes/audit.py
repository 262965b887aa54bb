"""``/v1/audit``: the hash-chained audit trail, for auditors and admins of one agency (their own).

``/v1/audit/verify`` checks the agency's own chain (its entries and links alone);
``/v1/platform/audit/verify`` checks the platform-wide chain and its checkpoints
(platform keys: hashes only, no entry is shown).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from edoc.errors import NotFound

from ..deps import AuditorKey, PlatformKey, RegistryDep, audit_scope
from ..models import MAX_SEQ, AuditChainPublic, AuditEntryPublic, AuditPage, problems

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _utc(value: datetime | None) -> datetime | None:
    # a time without zone is read as UTC, the zone the trail is kept in
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("", response_model=AuditPage, responses=problems(401, 403, 404, 422))
def audit_entries(
    key: AuditorKey,
    registry: RegistryDep,
    since: Annotated[datetime | None, Query(description="Entries at or after (ISO 8601; UTC if no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Entries before.")] = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    event: Annotated[str | None, Query(max_length=64, examples=["document.issued"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Last seq of the previous page.")] = 0,
) -> AuditPage:
    """Audit entries in chain order: issuance, downloads, verification, revocation, key events."""
    scope = audit_scope(key)
    if agency is not None and agency != scope:
        raise NotFound(f"no agency {agency!r}")  # another agency's trail is answered like a missing one
    agency = scope
    entries = registry.audit.entries(since=_utc(since), until=_utc(until), agency=agency, event=event,
                                     limit=limit, after_seq=after_seq)
    return AuditPage(
        entries=[AuditEntryPublic(**e.to_json()) for e in entries],
        next_after_seq=entries[-1].seq if len(entries) == limit else None,
    )


@router.get("/verify", response_model=AuditChainPublic, responses=problems(401, 403))
def audit_chain(key: AuditorKey, registry: RegistryDep) -> AuditChainPublic:
    """Recompute the agency's own chain: whether any of its entries was changed, removed or
    reordered, and whether its head agrees with the newest platform checkpoint."""
    report = registry.agency_audit.verify(audit_scope(key))
    return AuditChainPublic(
        ok=report.ok, checked=report.checked, first_broken_seq=report.first_broken,
        reason=report.reason, head_seq=report.head_aseq, head_hash=report.head_hash,
        agency=report.agency, checkpoint=report.checkpoint,
    )


platform_router = APIRouter(prefix="/v1/platform/audit", tags=["audit"])


@platform_router.get("/verify", response_model=AuditChainPublic, responses=problems(401, 403))
def platform_chain(key: PlatformKey, registry: RegistryDep) -> AuditChainPublic:
    """Recompute the platform-wide chain (every agency's entries) against its anchors."""
    report = registry.audit.verify()
    return AuditChainPublic(
        ok=report.ok, checked=report.checked, first_broken_seq=report.first_broken_seq,
        reason=report.reason, head_seq=report.head_seq, head_hash=report.head_hash,
    )
