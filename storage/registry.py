"""The registry: which documents were issued, their versions, their status, and API keys.

>>> registry = Registry.open("sqlite:///edoc.db")                # doctest: +SKIP
>>> doc, created = registry.record_issued(DocumentRecord(
...     id="MOI-2026-000001", agency="moi", template="residence-cert",
...     title="หนังสือรับรองถิ่นที่อยู่", lang="th", sha256=stored.key,
...     size=stored.size, level="B-T", holder_masked="x-xxxx-xxxxx-12-3",
...     issued_at=datetime.now(UTC), idempotency_key="req-42"))   # doctest: +SKIP
>>> registry.revoke(doc.id, reason="issued in error").status    # doctest: +SKIP
'revoked'

Works on ``sqlite:///path`` (one machine; WAL, busy timeout) and
``postgresql+psycopg://...`` (several processes or machines). Every rule that
must hold across processes is a database constraint, never an in-process lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage import _apikeys, _bindings
from storage._apikeys import AGENCY_ROLES, PLATFORM_AGENCY, ROLES, ApiKey
from storage._base import check_key
from storage._bindings import BoundSeal, SealBinding
from storage._db import create_engine, read_tx, upgrade, write_tx
from storage.audit import AuditEvent, AuditLog, append_in
from storage.errors import ApiKeyNotFound, Conflict, DocumentNotFound
from storage.models import document_versions, documents, idempotency_claims

__all__ = [
    "AGENCY_ROLES", "PLATFORM_AGENCY", "ROLES", "ApiKey", "BoundSeal", "DocumentRecord",
    "DocumentVersion", "IdempotencyClaim", "Registry", "SealBinding",
]

Status = Literal["issued", "revoked"]
VersionKind = Literal["issued", "archive-renewal"]
_KINDS = ("issued", "archive-renewal")
_INSERT_DOCUMENT = documents.insert()
_INSERT_VERSION = document_versions.insert()


@dataclass(frozen=True)
class DocumentRecord:
    """One issued document as the registry keeps it (the PDF itself is in the object store)."""

    id: str
    """Document number chosen by the issuer, unique across agencies."""
    agency: str
    """Code of the issuing agency."""
    template: str
    """Template the document was rendered from."""
    title: str
    """Human title, in the document's language."""
    lang: str
    """Language tag of the document, e.g. ``th``."""
    sha256: str
    """Digest of the current version's PDF: its key in the object store."""
    size: int
    """Size in bytes of the current version's PDF."""
    level: str
    """PAdES level of the current version, e.g. ``B-T`` or ``B-LTA``."""
    holder_masked: str
    """The holder's identity with most characters masked, safe to show to verifiers."""
    issued_at: datetime
    """When it was issued (timezone-aware; stored and returned in UTC)."""
    status: Status = "issued"
    """``issued`` or ``revoked``."""
    revoked_at: datetime | None = None
    """When it was first revoked."""
    revocation_reason: str | None = None
    """Why it was first revoked (the officer's words: for the agency only)."""
    revocation_category: str | None = None
    """The fixed category of that reason, what the public is shown (None before 0006)."""
    holder_token_hash: str | None = None
    """Hash of the holder's access token, if the holder may fetch the document."""
    idempotency_key: str | None = None
    """The issuer's key for this request; unique per agency."""
    request_hash: str | None = None
    """Digest of the issuing request, to tell a retry from a different request reusing a key."""


@dataclass(frozen=True)
class IdempotencyClaim:
    """Who issues under an idempotency key (see :meth:`Registry.claim_idempotency`)."""

    agency: str
    key: str
    request_hash: str
    """Digest of the claiming request (a retry must match it)."""
    doc_id: str
    """The id the claimant issues as."""
    claimed_at: datetime
    mine: bool
    """True when the caller holds the claim and should issue."""


@dataclass(frozen=True)
class DocumentVersion:
    """One PDF of a document: the issued one, or a later archive renewal (new timestamp)."""

    doc_id: str
    """The document this version belongs to."""
    seq: int
    """1 for the issued PDF, then 2, 3... for each renewal."""
    sha256: str
    """Digest of this version's PDF (its object key); unique across all documents."""
    size: int
    """Size in bytes."""
    kind: VersionKind
    """``issued`` or ``archive-renewal``."""
    created_at: datetime
    """When this version was recorded (UTC)."""


def _record(row) -> DocumentRecord:
    return DocumentRecord(**{f.name: getattr(row, f.name) for f in dataclasses.fields(DocumentRecord)})


def _version(row) -> DocumentVersion:
    return DocumentVersion(
        doc_id=row.doc_id,
        seq=row.seq,
        sha256=row.sha256,
        size=row.size,
        kind=row.kind,
        created_at=row.created_at,
    )


class Registry:
    """Documents, their versions and API keys in one SQL database; see :meth:`open`."""

    def __init__(self, engine: Engine):
        self._engine = engine

    @classmethod
    def open(cls, database_url: str, *, migrate: bool = True) -> Registry:
        """Connect to ``database_url`` and bring its schema up to date."""
        engine = create_engine(database_url)
        if migrate:
            try:
                upgrade(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for maintenance tools in this package)."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self._engine.url.render_as_string(hide_password=True)!r})"

    @cached_property
    def audit(self) -> AuditLog:
        """The hash-chained audit log kept in the same database."""
        return AuditLog(self._engine)

    @cached_property
    def agencies(self):
        """The agencies this registry serves (:class:`storage.agencies.Agencies`)."""
        from storage.agencies import Agencies

        return Agencies(self._engine)

    @cached_property
    def agency_audit(self):
        """Each agency's audit chain and the platform checkpoints (:mod:`storage.agency_audit`)."""
        from storage.agency_audit import AgencyAudit

        return AgencyAudit(self._engine)

    # -- documents -------------------------------------------------------------------

    def record_issued(
        self,
        record: DocumentRecord,
        *,
        audit: AuditEvent | None = None,
        bindings: tuple[SealBinding, ...] = (),
    ) -> tuple[DocumentRecord, bool]:
        """Register a new document and its version 1 (and ``audit``, in the same transaction).

        ``bindings`` are the digests of what the PDF's seals sign (see
        :meth:`find_bound`); they commit with the row.

        Returns ``(record, True)``, or ``(existing, False)`` when the agency already
        used ``record.idempotency_key``: the earlier document wins, whichever process
        asked first. Compare ``existing.request_hash`` to spot a reused key.
        """
        record = _checked(record)
        try:
            with write_tx(self._engine) as conn:
                # values as parameters: the statements compile once, not per document
                # its fields as they are (all immutable): asdict() would deep-copy each
                conn.execute(_INSERT_DOCUMENT, dict(vars(record)))
                conn.execute(
                    _INSERT_VERSION,
                    {
                        "doc_id": record.id,
                        "seq": 1,
                        "sha256": record.sha256,
                        "size": record.size,
                        "kind": "issued",
                        "created_at": record.issued_at,
                    },
                )
                _bindings.insert_in(conn, record.id, 1, bindings)
                if audit is not None:
                    append_in(conn, audit)
        except IntegrityError as exc:
            if record.idempotency_key is not None:
                existing = self.find_idempotent(record.agency, record.idempotency_key)
                if existing is not None:
                    return existing, False
            if self._exists(record.id):
                raise Conflict(f"document {record.id!r} is already registered") from exc
            if self.find_by_sha256(record.sha256) is not None:
                raise Conflict(f"a document with digest {record.sha256} is already registered") from exc
            raise Conflict(f"document {record.id!r} clashes with the registry") from exc
        return record, True

    def claim_idempotency(
        self,
        agency: str,
        key: str,
        *,
        doc_id: str,
        request_hash: str,
        stale_after: timedelta,
    ) -> IdempotencyClaim:
        """Claim the right to issue under ``key``, or learn who holds it.

        The first caller gets ``mine=True`` and issues as ``doc_id``. Others get the
        holder's claim and should wait for its document. A claim older than
        ``stale_after`` whose document never appeared (its process died) is taken over.
        The primary key decides between processes; no in-process lock is involved.
        """
        now = datetime.now(UTC)
        mine = IdempotencyClaim(agency, key, request_hash, doc_id, now, mine=True)
        try:
            with write_tx(self._engine) as conn:
                conn.execute(
                    idempotency_claims.insert().values(
                        agency=agency, key=key, request_hash=request_hash, doc_id=doc_id,
                        claimed_at=now,
                    )
                )
            return mine
        except IntegrityError:
            pass
        with write_tx(self._engine) as conn:
            row = conn.execute(
                sa.select(idempotency_claims)
                .where(idempotency_claims.c.agency == agency, idempotency_claims.c.key == key)
                .with_for_update()
            ).one()
            issued = conn.execute(
                sa.select(documents.c.id).where(
                    documents.c.agency == agency, documents.c.idempotency_key == key
                )
            ).first()
            if issued is None and row.claimed_at < now - stale_after:
                conn.execute(
                    idempotency_claims.update()
                    .where(idempotency_claims.c.agency == agency, idempotency_claims.c.key == key)
                    .values(request_hash=request_hash, doc_id=doc_id, claimed_at=now)
                )
                return mine
        return IdempotencyClaim(
            agency, key, row.request_hash, row.doc_id, row.claimed_at, mine=False
        )

    def release_idempotency(self, agency: str, key: str, *, doc_id: str) -> None:
        """Give up a claim that issued nothing (only if ``doc_id`` still holds it)."""
        with write_tx(self._engine) as conn:
            conn.execute(
                idempotency_claims.delete().where(
                    idempotency_claims.c.agency == agency,
                    idempotency_claims.c.key == key,
                    idempotency_claims.c.doc_id == doc_id,
                )
            )

    def find_idempotent(self, agency: str, key: str) -> DocumentRecord | None:
        """The document the agency issued with this idempotency key, if any."""
        return self._one(
            sa.select(documents).where(
                documents.c.agency == agency, documents.c.idempotency_key == key
            )
        )

    def get(self, doc_id: str) -> DocumentRecord:
        """The document with this id; raises DocumentNotFound."""
        found = self._one(sa.select(documents).where(documents.c.id == doc_id))
        if found is None:
            raise DocumentNotFound(doc_id)
        return found

    def find_by_sha256(self, sha256: str) -> DocumentRecord | None:
        """The document that has a version (current or older) with this digest."""
        version = self.find_version(sha256)
        return None if version is None else self.get(version.doc_id)

    def find_versions(self, sha256s) -> list[DocumentVersion]:
        """The versions among these digests (unknown ones are left out), in one query."""
        wanted = sorted({d for d in sha256s if isinstance(d, str) and len(d) == 64})
        if not wanted:
            return []
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                sa.select(document_versions).where(document_versions.c.sha256.in_(wanted))
            ).all()
        return [_version(row) for row in rows]

    def find_version(self, sha256: str) -> DocumentVersion | None:
        """The version with this digest, whichever document it belongs to."""
        with read_tx(self._engine) as conn:
            row = conn.execute(
                sa.select(document_versions).where(document_versions.c.sha256 == sha256)
            ).first()
        return None if row is None else _version(row)

    def list_documents(
        self,
        *,
        agency: str | None = None,
        status: Status | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[DocumentRecord]:
        """Documents newest first; pass the last id of a page as ``after`` for the next."""
        if not 1 <= limit <= 10_000:
            raise ValueError("limit must be between 1 and 10000")
        query = sa.select(documents)
        if agency is not None:
            query = query.where(documents.c.agency == agency)
        if status is not None:
            query = query.where(documents.c.status == status)
        if after is not None:
            cursor = self.get(after)
            query = query.where(
                sa.or_(
                    documents.c.issued_at < cursor.issued_at,
                    sa.and_(documents.c.issued_at == cursor.issued_at, documents.c.id < after),
                )
            )
        query = query.order_by(documents.c.issued_at.desc(), documents.c.id.desc()).limit(limit)
        with read_tx(self._engine) as conn:
            return [_record(row) for row in conn.execute(query)]

    def count(self, *, agency: str | None = None, status: Status | None = None) -> int:
        """How many documents are registered (optionally of one agency / status)."""
        query = sa.select(sa.func.count()).select_from(documents)
        if agency is not None:
            query = query.where(documents.c.agency == agency)
        if status is not None:
            query = query.where(documents.c.status == status)
        with read_tx(self._engine) as conn:
            return int(conn.execute(query).scalar_one())

    def revoke(
        self,
        doc_id: str,
        *,
        reason: str,
        at: datetime | None = None,
        audit: AuditEvent | None = None,
        category: str | None = None,
    ) -> DocumentRecord:
        """Mark the document revoked; revoking again keeps the first time, reason and category.

        ``audit`` is appended in the same transaction, and only by the revocation
        that took effect.
        """
        if not reason or not reason.strip():
            raise ValueError("a revocation needs a reason")
        at = _aware(at or datetime.now(UTC), "at")
        with write_tx(self._engine) as conn:
            changed = conn.execute(
                documents.update()
                .where(documents.c.id == doc_id, documents.c.status == "issued")
                .values(status="revoked", revoked_at=at, revocation_reason=reason,
                        revocation_category=category)
            ).rowcount
            if changed and audit is not None:
                append_in(conn, audit)
            row = conn.execute(sa.select(documents).where(documents.c.id == doc_id)).first()
        if row is None:
            raise DocumentNotFound(doc_id)
        return _record(row)

    # -- versions --------------------------------------------------------------------

    def add_version(
        self,
        doc_id: str,
        *,
        sha256: str,
        size: int,
        kind: VersionKind = "archive-renewal",
        at: datetime | None = None,
        expected_sha256: str | None = None,
        audit: AuditEvent | None = None,
        bindings: tuple[SealBinding, ...] = (),
    ) -> DocumentVersion:
        """Append the next version and make it the document's current PDF.

        With ``expected_sha256`` the version is added only if that is still the current
        one (else :class:`Conflict`: someone else renewed it first). ``audit`` is appended
        in the same transaction; its details gain the new version number.
        """
        check_key(sha256)
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
        at = _aware(at or datetime.now(UTC), "at")
        try:
            with write_tx(self._engine) as conn:
                # the row lock serialises appenders of one document on PostgreSQL
                locked = conn.execute(
                    sa.select(documents.c.id).where(documents.c.id == doc_id).with_for_update()
                ).first()
                if locked is None:
                    raise DocumentNotFound(doc_id)
                if expected_sha256 is not None:
                    current = conn.execute(
                        sa.select(documents.c.sha256).where(documents.c.id == doc_id)
                    ).scalar_one()
                    if current != expected_sha256:
                        raise Conflict(f"document {doc_id} changed meanwhile (now {current})")
                last = conn.execute(
                    sa.select(sa.func.max(document_versions.c.seq)).where(
                        document_versions.c.doc_id == doc_id
                    )
                ).scalar_one()
                version = DocumentVersion(
                    doc_id=doc_id, seq=(last or 0) + 1, sha256=sha256, size=size, kind=kind, created_at=at
                )
                conn.execute(document_versions.insert().values(**dataclasses.asdict(version)))
                _bindings.insert_in(conn, doc_id, version.seq, bindings)
                conn.execute(
                    documents.update().where(documents.c.id == doc_id).values(sha256=sha256, size=size)
                )
                if audit is not None:
                    details = {**(audit.details or {}), "version": version.seq}
                    append_in(conn, dataclasses.replace(audit, details=details))
        except IntegrityError as exc:
            raise Conflict(f"a version with digest {sha256} is already registered") from exc
        return version

    # -- seal bindings -----------------------------------------------------------------

    def find_bound(self, signed_sha256s) -> list[BoundSeal]:
        """The recorded seals among these digests of signed bytes (see ``storage._bindings``)."""
        return _bindings.find(self._engine, signed_sha256s)

    def bind_seals(self, doc_id: str, seq: int, bindings: tuple[SealBinding, ...]) -> int:
        """Record the bindings of an existing version (the backfill of older homes)."""
        with write_tx(self._engine) as conn:
            return _bindings.insert_in(conn, doc_id, seq, bindings)

    def unbound_versions(self, *, limit: int = 1000) -> list[tuple[str, int, str]]:
        """Versions without any binding: ``(doc_id, seq, sha256)``, oldest homes' documents."""
        return _bindings.unbound_versions(self._engine, limit=limit)

    def versions(self, doc_id: str) -> list[DocumentVersion]:
        """Every version of the document, oldest first; raises DocumentNotFound."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(
                sa.select(document_versions)
                .where(document_versions.c.doc_id == doc_id)
                .order_by(document_versions.c.seq)
            ).all()
        if not rows:
            self.get(doc_id)  # raises DocumentNotFound; a document always has version 1
        return [_version(row) for row in rows]

    def iter_versions(self, *, batch: int = 1000) -> Iterator[DocumentVersion]:
        """Every version of every document, in a stable order, fetched in batches."""
        after: tuple[str, int] | None = None
        while True:
            query = sa.select(document_versions).order_by(
                document_versions.c.doc_id, document_versions.c.seq
            )
            if after is not None:
                query = query.where(
                    sa.tuple_(document_versions.c.doc_id, document_versions.c.seq) > sa.tuple_(*after)
                )
            with read_tx(self._engine) as conn:
                rows = conn.execute(query.limit(batch)).all()
            yield from (_version(row) for row in rows)
            if len(rows) < batch:
                return
            after = (rows[-1].doc_id, rows[-1].seq)

    # -- API keys --------------------------------------------------------------------

    def create_api_key(self, *, agency: str, roles: set[str], label: str) -> tuple[ApiKey, str]:
        """Create a key; returns it and its secret, which is shown this once and never stored."""
        return _apikeys.create(self._engine, agency=agency, roles=roles, label=label)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key this secret belongs to, or None."""
        return _apikeys.authenticate(self._engine, secret)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke the key for good (revoking twice keeps the first time)."""
        key = _apikeys.revoke(self._engine, key_id)
        if key is None:
            raise ApiKeyNotFound(key_id)
        return key

    def list_api_keys(self, agency: str | None = None) -> list[ApiKey]:
        """Keys (active and revoked), oldest first; secrets are not included."""
        return _apikeys.listing(self._engine, agency)

    # -- helpers ---------------------------------------------------------------------

    def _one(self, query) -> DocumentRecord | None:
        with read_tx(self._engine) as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def _exists(self, doc_id: str) -> bool:
        with read_tx(self._engine) as conn:
            return conn.execute(
                sa.select(documents.c.id).where(documents.c.id == doc_id)
            ).first() is not None


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, e.g. datetime.now(UTC)")
    return value.astimezone(UTC)


def _checked(record: DocumentRecord) -> DocumentRecord:
    if not record.id:
        raise ValueError("a document needs an id")
    check_key(record.sha256)
    if record.status != "issued":
        raise ValueError("record_issued records an issued document; revoke it afterwards")
    if record.size < 0:
        raise ValueError("size cannot be negative")
    return dataclasses.replace(record, issued_at=_aware(record.issued_at, "issued_at"))
