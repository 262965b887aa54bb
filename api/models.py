"""Request and response bodies of the JSON API, as ``XCreate`` / ``XPublic`` pairs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edoc.revocation_reasons import Category as RevocationCategory

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
Role = Literal["issuer", "auditor", "admin", "metrics"]

#: what a document id looks like; anything else is answered as "not found"
DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
AGENCY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
#: the largest sequence number a query may name: a signed 64-bit column holds up to 2^63 - 1,
#: and a larger value (2^63, 25 digits) used to reach the database and answer 500
MAX_SEQ = 2**62


class _In(BaseModel):
    # a misspelt field is an error that names it, not something silently ignored
    model_config = ConfigDict(extra="forbid")


# -- documents ----------------------------------------------------------------------------


class DocumentCreate(_In):
    """What an agency sends to issue a document."""

    template: str = Field(min_length=1, max_length=128, examples=["certificate"],
                          description="Template name (`edoc templates list`).")
    data: dict[str, Any] = Field(description="The document's data, as the template's schema asks.")
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$", examples=["th"],
                             description="Document language (default: the template's first).")
    level: Level | None = Field(default=None, description="PAdES level (default: template/agency).")


class DocumentPublic(BaseModel):
    """A document as its issuing agency and auditors see it."""

    id: str
    agency: str
    template: str
    title: str
    lang: str
    level: str
    sha256: str = Field(description="SHA-256 of the signed PDF (hex).")
    size: int
    status: Literal["issued", "revoked"]
    issued_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = Field(default=None, description="The officer's words (agency only).")
    revocation_category: RevocationCategory | None = Field(
        default=None, description="What citizens are shown (null: revoked before categories).")
    holder_masked: str
    download_url: str = Field(description="The signed PDF (needs an API key of the agency).")
    verify_url: str = Field(description="Public verification page (what the QR code encodes).")


class DocumentIssued(DocumentPublic):
    """The answer to an issuance: the document plus the holder's download link."""

    holder_token: str = Field(description="Secret giving the holder access to the PDF; hand it to them.")
    holder_download_url: str = Field(description="`download_url` with the holder token.")


class DocumentPage(BaseModel):
    """One page of an agency's documents, newest first."""

    items: list[DocumentPublic]
    next_after: str | None = Field(description="Pass as `after` for the next page; null at the end.")


class RevocationCreate(_In):
    """Why a document is revoked: the agency's own words, and the category citizens see."""

    reason: str = Field(min_length=1, max_length=500, examples=["issued in error"],
                        description="Free text kept for the agency (its API and audit trail) only.")
    category: RevocationCategory | None = Field(
        default=None, examples=["issued-in-error"],
        description="Shown to citizens (Thai and English label) instead of the reason.")


# -- public verification ------------------------------------------------------------------


class DocumentStatusPublic(BaseModel):
    """What anyone may learn about a document from its id: status, issuer, type, date, masked holder."""

    id: str
    status: Literal["issued", "revoked"]
    agency: str
    document_type: str
    issued_at: datetime
    holder: str = Field(description="The holder's name, masked.")
    revoked_at: datetime | None = None


# -- API keys -----------------------------------------------------------------------------


class ApiKeyCreate(_In):
    """A key to create."""

    agency: str = Field(pattern=AGENCY_PATTERN, examples=["example-agency"])
    roles: list[Role] = Field(min_length=1, examples=[["issuer"]])
    label: str = Field(default="", max_length=200, description="Who holds it, for people.")


class ApiKeyPublic(BaseModel):
    """A key as the registry knows it (never its secret)."""

    id: str
    agency: str
    roles: list[str]
    label: str
    created_at: datetime
    revoked_at: datetime | None = None
    active: bool


class ApiKeyCreated(ApiKeyPublic):
    """A new key with its secret, shown this once."""

    secret: str = Field(description="Send as `Authorization: Bearer <secret>`; it is not stored.")


# -- audit --------------------------------------------------------------------------------


class AuditEntryPublic(BaseModel):
    """One entry of the hash-chained audit trail."""

    seq: int
    at: datetime
    event: str
    actor: str
    agency: str | None
    subject: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """Entries in chain order."""

    entries: list[AuditEntryPublic]
    next_after_seq: int | None = Field(description="Pass as `after_seq` for the next page; null at the end.")


class AuditChainPublic(BaseModel):
    """Whether the audit chain is intact."""

    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int
    head_hash: str
    agency: str | None = Field(default=None, description="The agency whose own chain this is "
                               "(sequence numbers count that agency's entries); None: the platform chain.")
    checkpoint: str | None = Field(default=None, description="The newest TSA-timestamped platform "
                                   "checkpoint the head agrees with.")


# -- errors (for the OpenAPI description) --------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, served as ``application/problem+json``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer these problem statuses."""
    return {
        s: {"model": Problem, "content": {"application/problem+json": {}}} for s in statuses
    }
