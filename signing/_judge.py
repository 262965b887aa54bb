"""The judgement of one signature field, as a :class:`~signing.report.SignatureReport`.

Each field is judged on its own: an exception while validating one signature
becomes that signature's verdict (with its cause, see :mod:`signing._causes`),
never the file's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from . import ltv
from ._causes import Cause, cause_of, no_certificate
from ._fields import Field
from .report import SignatureReport, TimestampReport

log = logging.getLogger(__name__)

Kind = Literal["signature", "document-timestamp"]

# Changes a later incremental update may make, when the revision analysis is not available.
_ALLOWED_MODIFICATIONS = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)
_COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire-file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire-revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "partial",
}
DOCMDP = {
    MDPPerm.NO_CHANGES: "no-changes",
    MDPPerm.FILL_FORMS: "fill-forms",
    MDPPerm.ANNOTATE: "annotate",
}


class _AsDocTimestamp(EmbeddedPdfSignature):
    """An RFC 3161 timestamp filed under ``/Type /Sig``: judged as the timestamp it is."""

    @property
    def sig_object_type(self):  # type: ignore[override]
        from pyhanko.pdf_utils.generic import NameObject

        return NameObject("/DocTimeStamp")


def as_doc_timestamp(sig: EmbeddedPdfSignature) -> EmbeddedPdfSignature:
    """The same signature object, seen as a document timestamp."""
    sig.__class__ = _AsDocTimestamp
    return sig


def from_cause(found: Field, cause: Cause, kind: Kind) -> SignatureReport:
    """The report of a signature that could not be validated, with its cause."""
    return SignatureReport(
        field_name=found.name,
        kind=kind,
        signer=None,
        signer_certificate_sha256=None,
        intact=False,
        valid=False,
        trusted=False,
        certification=None,
        signing_time=None,
        timestamp=None,
        coverage=None,
        modifications=None,
        changes_permitted=None,
        problems=(cause.sentence(found.name),),
        ades_indication=cause.label,
        sub_filter=_name(found.sub_filter),
        revision=found.revision + 1 if found.revision is not None else None,
        reason_code=cause.code,
        detail=cause.detail,
    )


def judge(found: Field, context: Callable[[], ValidationContext], spec, at) -> SignatureReport:
    """One filled signature field, validated on its own."""
    is_doc_ts = found.sig_type == "/DocTimeStamp" or found.as_timestamp
    kind: Kind = "document-timestamp" if is_doc_ts else "signature"
    if found.problem is not None or found.sig is None:
        return from_cause(found, found.problem or Cause.unsupported_type(found.sig_type), kind)
    sig = as_doc_timestamp(found.sig) if found.as_timestamp else found.sig
    outcome = None
    status: Any
    try:
        if is_doc_ts:
            status = validate_pdf_timestamp(sig, validation_context=context())
        else:
            # the AdES process gives the indication (and archive timestamps their due);
            # its status object carries the integrity facts the report shows
            outcome = ltv.ades_validate(sig, spec=spec, at=at)
            status = outcome.status
            if status is None:
                if outcome.indication != "TOTAL_PASSED" and outcome.failure:
                    cause = _outcome_cause(outcome)
                    if cause is not None:
                        return from_cause(found, cause, kind)
                vc = context()
                status = validate_pdf_signature(
                    sig, signer_validation_context=vc, ts_validation_context=vc
                )
    except Exception as exc:  # garbage CMS, broken byte range, unsupported algorithm...
        log.debug("validation error", exc_info=True)
        log.info("signature %s could not be validated: %r", found.name, exc)
        return from_cause(found, cause_of(exc, parsing=False), kind)
    report = from_status(sig, status, found.name, kind, outcome)
    from dataclasses import replace

    return replace(
        report,
        sub_filter=_name(found.sub_filter),
        revision=found.revision + 1 if found.revision is not None else None,
        reason_code=report.reason_code or _code(report.ades_indication),
        detail=outcome.failure if outcome is not None and outcome.indication != "TOTAL_PASSED"
        else None,
    )


def _outcome_cause(outcome) -> Cause | None:
    """A cause for an AdES result with no status object (validation stopped early)."""
    if outcome.sub_indication == "NO_SIGNING_CERTIFICATE_FOUND":
        return no_certificate(outcome.failure)
    return None


def _code(indication: str | None) -> str | None:
    if not indication or indication == "TOTAL_PASSED":
        return None
    return indication.split("/")[-1].lower().replace("_", "-")


def _name(value: str | None) -> str | None:
    return value.lstrip("/") if value else None


def from_status(sig, status, field_name: str, kind: Kind, outcome=None) -> SignatureReport:
    """The report from pyHanko's status object (and the AdES outcome of a seal)."""
    cert = status.signing_cert
    signer = common_name(cert) if cert is not None else None
    problems: list[str] = []
    notes: list[str] = []
    indication = "TOTAL_PASSED"
    if not status.intact:
        problems.append("The document was changed after it was sealed: the seal no longer matches.")
        indication = "TOTAL_FAILED/HASH_FAILURE"
    elif not status.valid:
        problems.append("The seal's cryptographic signature is not valid.")
        indication = "TOTAL_FAILED/SIG_CRYPTO_FAILURE"
    revoked = bool(getattr(status, "revoked", False))
    if outcome is not None and status.intact and status.valid:
        indication = outcome.label
        revoked = outcome.revoked_at is not None
        problems, notes = ltv.explain(outcome, signer=signer)
    elif kind == "document-timestamp" and status.intact and status.valid:
        # an archive timestamp whose authority expired or is unknown here is judged
        # through the seal's long-term validation, not on its own
        if not status.trusted:
            indic = getattr(status, "trust_problem_indic", None)
            indication = f"INDETERMINATE/{indic.name if indic else 'NO_CERTIFICATE_CHAIN_FOUND'}"
    elif revoked:
        problems.append(f"The certificate of {signer} has been revoked.")
        indication = "INDETERMINATE/REVOKED_NO_POE"
    elif not status.trusted and status.intact and status.valid:
        problems.append(f"The seal was made by {signer}, who is not a trusted issuer.")
        indic = getattr(status, "trust_problem_indic", None)
        indication = f"INDETERMINATE/{indic.name if indic else 'NO_CERTIFICATE_CHAIN_FOUND'}"

    ts_report = None
    ts_status = status if kind == "document-timestamp" else status.timestamp_validity
    if ts_status is not None:
        ts_cert = ts_status.signing_cert
        ts_report = TimestampReport(
            time=ts_status.timestamp,
            tsa=common_name(ts_cert) if ts_cert is not None else "unknown",
            intact=ts_status.intact,
            valid=ts_status.valid,
            trusted=ts_status.trusted,
        )
        if outcome is None and kind == "signature" and not (ts_status.intact and ts_status.valid):
            problems.append("The timestamp on the seal is not valid.")
        elif outcome is None and kind == "signature" and not ts_status.trusted:
            problems.append("The timestamp on the seal comes from an untrusted authority.")

    coverage = _COVERAGE.get(status.coverage) if status.coverage is not None else None
    modification = status.modification_level
    docmdp_ok = status.docmdp_ok
    permitted = None
    if modification is not None:
        permitted = bool(docmdp_ok is not False and modification in _ALLOWED_MODIFICATIONS)
    if coverage == "partial" and status.intact:
        problems.append("The seal does not cover the whole document.")
    certification = None
    docmdp = getattr(sig, "docmdp_level", None)
    if docmdp is not None:
        certification = DOCMDP.get(docmdp, str(docmdp))
    return SignatureReport(
        field_name=field_name,
        kind=kind,
        signer=signer,
        signer_certificate_sha256=cert.sha256.hex() if cert is not None else None,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        certification=certification,
        signing_time=getattr(status, "signer_reported_dt", None),
        timestamp=ts_report,
        coverage=coverage,
        modifications=modification.name.lower().replace("_", "-") if modification else None,
        changes_permitted=permitted,
        revoked=revoked,
        problems=tuple(problems),
        ades_indication=indication,
        best_signature_time=outcome.best_signature_time if outcome else None,
        archive_timestamp=outcome.archive_time if outcome else None,
        revoked_at=outcome.revoked_at if outcome else None,
        revocation_reason=outcome.revocation_reason if outcome else None,
        notes=tuple(notes),
    )


def common_name(cert) -> str:
    """The subject's common name (what people recognise), or the whole name if it has none."""
    cn = cert.subject.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[0]
    return cn or cert.subject.human_friendly
