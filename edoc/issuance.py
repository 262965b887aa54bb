"""Issuance: template + data → rendered, sealed, stored and registered document.

The order of the steps is what makes issuance crash-safe: the sealed PDF is
written to the object store *before* its registry row, so a crash can leave
an orphan object (found by ``edoc doctor``) but never a registered document
without its file. Retries with the same idempotency key return the first
document and never issue twice.

>>> issuer = home.issuer()  # doctest: +SKIP
>>> doc = issuer.issue("certificate", data, idempotency_key="exam-2569-000123")  # doctest: +SKIP
>>> doc.verify_url  # doctest: +SKIP
'https://edoc.example.go.th/verify/5x4w...'
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from signing.seal import Sealer
from storage.audit import AuditEvent
from storage.objects import ObjectStore
from storage.registry import DocumentRecord, Registry

from .errors import EdocError, NotFound
from .holder_links import HolderLinks, TokenState
from .render import Agency, render
from .revocation_reasons import checked
from .sealbindings import bindings_of
from .templates import TemplateLibrary

# sealing reads the rendered file's Thai title, subject and author (octal-escaped
# UTF-16) byte by byte unless edoc.compat.install() ran at start-up (see
# signing/_pdfread.py); importing this module installs nothing.


class IdempotencyConflict(EdocError):
    """An idempotency key was reused for a different request."""

    kind = "idempotency-conflict"
    http_status = 409


def new_document_id() -> str:
    """A random, unguessable document id: 128 bits, base32, lowercase (26 characters)."""
    return base64.b32encode(secrets.token_bytes(16)).decode().lower().rstrip("=")


def scoped_idempotency_key(scope: str, key: str) -> str:
    """The stored form of a client's idempotency key within ``scope`` (an API key id).

    A space separates them: clients' keys are printable ASCII without spaces, so a
    scoped key never equals one stored before scoping. Too long for the column
    (255), the client's part is replaced by its SHA-256.
    """
    scoped = f"{scope} {key}"
    if len(scoped) > 255:
        scoped = f"{scope} sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return scoped


def request_digest(template: str, data: dict[str, Any], lang: str | None, level: str | None) -> str:
    """A digest of what was asked, to tell a retry from a different request reusing a key."""
    canonical = json.dumps(
        {"template": template, "data": data, "lang": lang, "level": level},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedDocument:
    """The outcome of an issuance (or of a retry that found the earlier one)."""

    record: DocumentRecord
    verify_url: str
    holder_token: str
    """Secret that lets the holder download this document (``?token=``)."""
    created: bool
    """False when an idempotent retry returned the document issued before."""

    @property
    def id(self) -> str:
        """The document id."""
        return self.record.id


class Issuer:
    """Issues and revokes documents for one agency."""

    def __init__(
        self,
        *,
        agency_id: str,
        agency: Agency,
        templates: TemplateLibrary,
        sealer_for: Callable[[str | None], Sealer],
        store: ObjectStore,
        registry: Registry,
        public_base_url: str,
        holder_link_key: bytes,
        holder_link_lifetime: timedelta = timedelta(days=90),
        claim_timeout: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        check_active: Callable[[], None] | None = None,
    ):
        self.agency_id = agency_id
        self._agency = agency
        self._templates = templates
        self._sealer_for = sealer_for
        self._store = store
        self._registry = registry
        self._base = public_base_url.rstrip("/")
        self.holder_links = HolderLinks(holder_link_key, holder_link_lifetime)
        self._claim_timeout = claim_timeout
        self._clock = clock
        self._check_active = check_active

    def verify_url(self, doc_id: str) -> str:
        """The public verification page of a document (what its QR code encodes)."""
        return f"{self._base}/verify/{doc_id}"

    def holder_token(self, doc_id: str, issued_at: datetime | None = None) -> str:
        """The holder's download secret: an HMAC of the id and its expiry, the holder-link
        lifetime after ``issued_at`` (the document's issue time; now if not given), so a
        retry hands out the very same token."""
        return self.holder_links.token(doc_id, now=issued_at or self._clock())

    def holder_token_state(self, doc_id: str, token: str, *, issued_at: datetime | None = None) -> TokenState:
        """Whether ``token`` opens ``doc_id`` now: ``valid``, ``expired`` or ``wrong``."""
        return self.holder_links.check(doc_id, token, issued_at=issued_at, now=self._clock())

    def check_holder_token(self, doc_id: str, token: str) -> bool:
        """Whether ``token`` is a current holder secret of ``doc_id`` (constant time)."""
        return self.holder_token_state(doc_id, token) == "valid"

    def issue(
        self,
        template: str,
        data: dict[str, Any],
        *,
        lang: str | None = None,
        level: str | None = None,
        idempotency_key: str | None = None,
        actor: str = "system",
        idempotency_scope: str | None = None,
    ) -> IssuedDocument:
        """Render, seal, store and register one document.

        ``idempotency_scope`` (the API key's id) gives each scope its own
        idempotency keys: another key of the agency reusing one issues its own
        document, and learns nothing about the first (no conflict, no replay).
        """
        if self._check_active is not None:
            self._check_active()  # a disabled agency issues nothing
        req_hash = request_digest(template, data, lang, level)
        tpl = self._templates.get(template)
        tpl.validate(data)  # bad data never takes a claim
        doc_id = new_document_id()
        if idempotency_key is not None and idempotency_scope is not None:
            # a retry of a request first made before keys were scoped finds its document
            legacy = self._registry.find_idempotent(self.agency_id, idempotency_key)
            if legacy is not None and legacy.request_hash == req_hash:
                return self._retry(legacy, req_hash)
            idempotency_key = scoped_idempotency_key(idempotency_scope, idempotency_key)
        if idempotency_key is not None:
            earlier = self._claim(idempotency_key, doc_id, req_hash)
            if earlier is not None:
                return self._retry(earlier, req_hash)
        try:
            return self._issue(tpl, data, doc_id, lang, level, idempotency_key, req_hash, actor)
        except BaseException:
            if idempotency_key is not None:  # let a corrected retry claim the key at once
                self._registry.release_idempotency(self.agency_id, idempotency_key, doc_id=doc_id)
            raise

    def _claim(self, key: str, doc_id: str, req_hash: str) -> DocumentRecord | None:
        """Take the key's claim (None), or wait for whoever holds it and return their document."""
        pause = 0.02
        while True:
            earlier = self._registry.find_idempotent(self.agency_id, key)
            if earlier is not None:
                return earlier
            claim = self._registry.claim_idempotency(
                self.agency_id, key, doc_id=doc_id, request_hash=req_hash,
                stale_after=self._claim_timeout,
            )
            if claim.mine:
                return None
            if claim.request_hash != req_hash:
                raise IdempotencyConflict(
                    "this Idempotency-Key is being used for a different request; "
                    "use a new key for a new document"
                )
            # the same request is being issued by another worker: wait for its document
            # (or for its claim to go stale if that worker died)
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _issue(
        self, tpl, data, doc_id, lang, level, idempotency_key, req_hash, actor
    ) -> IssuedDocument:
        now = self._clock()
        url = self.verify_url(doc_id)
        rendered = render(
            tpl, data, doc_id=doc_id, verify_url=url, agency=self._agency, lang=lang,
            issued_at=now, validate=False,  # issue() validated before taking a claim
        )
        sealer = self._sealer_for(level or tpl.level)
        sealed = sealer.seal(rendered.pdf, stamp_box=rendered.stamp_box)
        if idempotency_key is not None:
            # A worker whose claim we took over as stale may have finished after all:
            # look again before writing, so that rare race rarely leaves an orphan object.
            earlier = self._registry.find_idempotent(self.agency_id, idempotency_key)
            if earlier is not None:
                return self._retry(earlier, req_hash)
        # The object first, always (the store applies the retention policy it was given).
        stored = self._store.put(sealed)
        record, created = self._registry.record_issued(
            DocumentRecord(
                id=doc_id,
                agency=self.agency_id,
                template=tpl.name,
                # the document type, never the rendered title: that one may carry the holder's name
                title=tpl.title_in(rendered.lang),
                lang=rendered.lang,
                sha256=stored.sha256,
                size=stored.size,
                level=sealer.settings.level,
                holder_masked=rendered.holder_masked,
                issued_at=now,
                idempotency_key=idempotency_key,
                request_hash=req_hash,
            ),
            # the row, what its seals sign and its audit entry commit together, or none does
            bindings=bindings_of(sealed),
            audit=AuditEvent(
                "document.issued",
                actor=actor,
                agency=self.agency_id,
                subject=doc_id,
                details={"template": tpl.name, "sha256": stored.sha256, "level": sealer.settings.level},
            ),
        )
        if not created:  # that worker won after all; ours stays an orphan object
            return self._retry(record, req_hash)
        return IssuedDocument(record, url, self.holder_token(doc_id, record.issued_at), True)

    def _retry(self, earlier: DocumentRecord, req_hash: str) -> IssuedDocument:
        if earlier.request_hash != req_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new document"
            )
        return IssuedDocument(
            earlier, self.verify_url(earlier.id), self.holder_token(earlier.id, earlier.issued_at), False
        )

    def get(self, doc_id: str, *, agency: str | None = None) -> DocumentRecord:
        """A document's record; with ``agency``, only if that agency issued it."""
        from storage.errors import DocumentNotFound

        try:
            record = self._registry.get(doc_id)
        except DocumentNotFound as exc:
            raise NotFound(f"no document {doc_id}") from exc
        if agency is not None and record.agency != agency:
            # Same answer as for a missing id: do not confirm other agencies' ids.
            raise NotFound(f"no document {doc_id}")
        return record

    def pdf(self, record: DocumentRecord) -> bytes:
        """The current signed PDF of a document (digest-checked by the store)."""
        return self._store.get(record.sha256)

    def pdf_stream(self, record: DocumentRecord, chunk_size: int = 1024 * 1024):
        """The PDF in chunks, for large files; the digest is checked as the last chunk is read."""
        return self._store.open_stream(record.sha256, chunk_size)

    def pdf_url(self, record: DocumentRecord, *, expires: timedelta) -> str | None:
        """A short-lived direct download URL where the store offers one (S3), else None."""
        return self._store.presigned_url(record.sha256, expires)

    def revoke(
        self, doc_id: str, *, reason: str, actor: str = "system", agency: str | None = None,
        category: str | None = None,
    ) -> DocumentRecord:
        """Mark a document revoked (never deleted); the first revocation stands.

        ``category`` (:data:`edoc.revocation_reasons.CATEGORIES`) is what citizens
        are shown; the free-text ``reason`` stays with the agency.
        """
        if not reason or not reason.strip():
            raise EdocError("a revocation needs a reason")
        if category is not None:
            checked(category)
        owner = self.get(doc_id, agency=agency).agency
        return self._registry.revoke(
            doc_id,
            reason=reason.strip(),
            category=category,
            at=self._clock(),
            audit=AuditEvent(
                "document.revoked",
                actor=actor,
                agency=owner,
                subject=doc_id,
                details={"reason": reason.strip(), "category": category},
            ),
        )
