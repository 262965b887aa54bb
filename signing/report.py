"""The verification report: a frozen value, serialisable to JSON.

"Invalid" is a result, not an exception. A report always has a verdict and
reasons written for a citizen, plus per-signature detail for an auditor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

Verdict = Literal["valid", "invalid", "indeterminate"]

#: Version of the JSON form of :class:`VerificationReport` (docs/verify-report.md).
#: Adding a field is a minor change (1.x); renaming or removing one is a major one.
SCHEMA_VERSION = "2.0"


@dataclass(frozen=True)
class TimestampReport:
    """A timestamp: when, by whom, and whether it checks out."""

    time: datetime
    tsa: str
    intact: bool
    valid: bool
    trusted: bool


@dataclass(frozen=True)
class SignatureReport:
    """One signature or document timestamp of a PDF, as an auditor reads it."""

    field_name: str
    kind: Literal["signature", "document-timestamp"]
    signer: str | None
    """Subject of the signing certificate (RFC 4514)."""
    signer_certificate_sha256: str | None
    intact: bool
    """The signed bytes are unchanged."""
    valid: bool
    """The cryptographic signature is correct."""
    trusted: bool
    """The signer's chain reaches a configured trust anchor and is not revoked."""
    certification: str | None
    """DocMDP level for a certification signature (``no-changes``, ``fill-forms``, ``annotate``)."""
    signing_time: datetime | None
    """The time the signer claims (not proven)."""
    timestamp: TimestampReport | None
    """The signature timestamp (proves the signature existed at that time)."""
    coverage: str | None
    """``entire-file``, ``entire-revision`` (later updates exist) or ``partial``."""
    modifications: str | None
    """What later incremental updates did: ``none``, ``lta-updates``, ``form-filling``,
    ``annotations`` or ``other``."""
    changes_permitted: bool | None
    """Whether those later changes are allowed by the certification (DocMDP)."""
    revoked: bool = False
    problems: tuple[str, ...] = ()
    """Reasons this signature is not fully valid, in plain words."""
    ades_indication: str | None = None
    """ETSI EN 319 102-1 indication, e.g. ``TOTAL_PASSED`` or ``INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND``."""
    best_signature_time: datetime | None = None
    """The earliest time the seal is proven to have existed (by its timestamp or archive timestamps)."""
    archive_timestamp: datetime | None = None
    """Time of the oldest archive (document) timestamp over the seal that still validates."""
    revoked_at: datetime | None = None
    """When the seal certificate was revoked, if it was."""
    revocation_reason: str | None = None
    """Why, e.g. ``key_compromise``."""
    notes: tuple[str, ...] = ()
    """Facts about a valid seal worth telling, e.g. that an archive timestamp keeps it valid."""
    trust_anchor: str | None = None
    """Name of the trust-store anchor that made this signature trusted (see edoc/anchoring.py)."""
    sub_filter: str | None = None
    """The signature dictionary's ``/SubFilter``, e.g. ``ETSI.CAdES.detached``."""
    revision: int | None = None
    """The revision (1 = the original file) the signature was written in."""
    reason_code: str | None = None
    """Stable code of the main cause when not passed, e.g. ``no-signing-certificate``."""
    detail: str | None = None
    """The validating library's own message, for auditors."""

    @property
    def indication(self) -> str | None:
        """``TOTAL_PASSED``, ``INDETERMINATE`` or ``TOTAL_FAILED``."""
        return self.ades_indication.split("/")[0] if self.ades_indication else None

    @property
    def sub_indication(self) -> str | None:
        """E.g. ``NO_CERTIFICATE_CHAIN_FOUND``; None when passed."""
        if not self.ades_indication or "/" not in self.ades_indication:
            return None
        return self.ades_indication.split("/", 1)[1]


@dataclass(frozen=True)
class RevisionReport:
    """One revision of the file: what it changed, and whether earlier signatures allow that."""

    number: int
    """1 is the original file."""
    changes: tuple[str, ...]
    """``signature``, ``document-timestamp``, ``dss``, ``metadata``, ``form-filling``,
    ``annotations``, ``content``; empty for the original file."""
    fields: tuple[str, ...] = ()
    """Signature or form fields this revision filled in."""
    permitted: bool | None = None
    """None when no signature precedes this revision."""
    forbidden_by: str | None = None
    """Field name of the signature whose permissions this revision breaks."""
    description: str = ""
    """The changes in plain words."""
    objection: str | None = None
    """pyHanko's difference analysis' objection, for auditors."""


@dataclass(frozen=True)
class RegistryStatus:
    """What the issuing registry says about this document."""

    status: Literal["issued", "revoked", "unknown", "not-on-record"]
    """``not-on-record``: the registry was asked and has no record of what the seals sign."""
    document_id: str | None = None
    issuing_agency: str | None = None
    document_type: str | None = None
    issued_at: datetime | None = None
    holder: str | None = None
    """Masked holder name (data minimisation)."""
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    template: str | None = None
    """The template the document was rendered from (for a receiving agency's import)."""


@dataclass(frozen=True)
class VerificationReport:
    """The verdict on one file, with reasons a citizen can understand."""

    file: str | None
    sha256: str
    size: int
    verdict: Verdict
    reasons: tuple[str, ...]
    signatures: tuple[SignatureReport, ...] = ()
    registry: RegistryStatus | None = None
    validated_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    unsigned_fields: tuple[str, ...] = ()
    """Names of empty signature fields (nobody has signed there)."""
    revisions: tuple[RevisionReport, ...] = ()
    """Every revision of the file, oldest first."""
    encrypted: bool = False
    """The file is encrypted (it was opened with its user password)."""

    @property
    def valid(self) -> bool:
        """True only for verdict ``valid``."""
        return self.verdict == "valid"

    def with_registry(self, status: RegistryStatus) -> VerificationReport:
        """This report with the registry's word added; a revoked document is not valid."""
        verdict: Verdict = self.verdict
        reasons = list(self.reasons)
        if status.status == "revoked":
            verdict = "invalid"
            why = f": {status.revocation_reason}" if status.revocation_reason else ""
            reasons.append(f"The issuing agency revoked this document{why}.")
        elif status.status == "unknown":
            # A valid seal stays valid (e.g. a PDF sealed with `edoc sign`); the
            # registry simply has no record of this exact file, and we say so.
            reasons.append("This exact file is not on record in this registry.")
        elif status.status == "issued" and verdict == "valid":
            reasons.append("The document is on record in the issuing registry.")
        return replace(self, registry=status, verdict=verdict, reasons=tuple(reasons))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings), in the documented schema."""
        out = {"schema_version": SCHEMA_VERSION, **_jsonable(asdict(self))}
        for sig, entry in zip(self.signatures, out["signatures"], strict=True):
            entry["indication"] = sig.indication
            entry["sub_indication"] = sig.sub_indication
        return out

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
