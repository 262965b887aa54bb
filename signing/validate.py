"""Verification of sealed PDFs, built on pyHanko's validation.

:func:`verify_pdf` never raises for bad input: a file that is not a PDF, is
truncated, unsigned, tampered with or sealed by someone we do not trust gets a
report with verdict ``invalid`` or ``indeterminate`` and reasons in plain words.

>>> policy = TrustPolicy(trust_anchors=(root_cert,))  # doctest: +SKIP
>>> report = verify_pdf(pdf_bytes, policy=policy)  # doctest: +SKIP
>>> report.verdict  # doctest: +SKIP
'valid'
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from . import ltv
from .report import SignatureReport, TimestampReport, Verdict, VerificationReport

log = logging.getLogger(__name__)

# Changes a later incremental update may make to one of our certified documents.
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
_DOCMDP = {
    MDPPerm.NO_CHANGES: "no-changes",
    MDPPerm.FILL_FORMS: "fill-forms",
    MDPPerm.ANNOTATE: "annotate",
}


@dataclass(frozen=True)
class TrustPolicy:
    """What a verifier trusts and how strictly it checks revocation."""

    trust_anchors: tuple[x509.Certificate, ...]
    """Root certificates whose chains we accept."""
    other_certs: tuple[x509.Certificate, ...] = ()
    """Intermediate certificates that help build paths (not trusted by themselves)."""
    revocation_mode: str = "soft-fail"
    """pyHanko revocation mode: ``soft-fail``, ``hard-fail`` or ``require``."""
    allow_fetching: bool = False
    """Fetch OCSP/CRL over the network (off: validation uses embedded data only)."""
    crls: tuple[bytes, ...] = ()
    """DER CRLs known to the verifier (e.g. our own CA's)."""
    ocsps: tuple[bytes, ...] = ()
    """DER OCSP responses known to the verifier."""
    revocation_evidence: (
        Callable[[datetime | None], tuple[tuple[bytes, ...], tuple[bytes, ...]]] | None
    ) = None
    """The verifier's own CA vouching for its certificates as of a time (None: now):
    (DER OCSP answers, DER CRLs). Lets a key-compromise revocation count offline."""

    def validation_context(self, *, at: datetime | None = None) -> ValidationContext:
        """A fresh pyHanko validation context for this policy (at ``at``, default now)."""
        return ValidationContext(
            moment=at,
            best_signature_time=at,
            trust_roots=[_asn1(c) for c in self.trust_anchors],
            other_certs=[_asn1(c) for c in self.other_certs],
            revocation_mode=self.revocation_mode,
            allow_fetching=self.allow_fetching,
            crls=list(self.crls),
            ocsps=list(self.ocsps),
        )


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _report(
    data: bytes,
    name: str | None,
    verdict: Verdict,
    reasons: list[str],
    sigs=(),
    at: datetime | None = None,
    **details,
) -> VerificationReport:
    return VerificationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        verdict=verdict,
        reasons=tuple(reasons),
        signatures=tuple(sigs),
        validated_at=(at or datetime.now(UTC)).astimezone(UTC),
        details=details,
    )


def verify_pdf(
    data: bytes,
    *,
    policy: TrustPolicy,
    name: str | None = None,
    at: datetime | None = None,
    context_factory: Callable[[], ValidationContext] | None = None,
) -> VerificationReport:
    """Verify every signature and document timestamp of a PDF; never raises for bad input.

    ``context_factory`` lets a long-running verifier reuse validation state
    across documents; by default a fresh context is made per document.
    """
    if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        return _report(data, name, "invalid", ["This file is not a PDF document."])
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # any parse failure of hostile input is a verdict
        log.info("unreadable PDF %s: %r", name, exc)
        return _report(
            data,
            name,
            "invalid",
            ["The file is damaged or truncated and cannot be read as a PDF."],
            error=f"{type(exc).__name__}: {exc}",
        )
    if not embedded:
        return _report(
            data, name, "invalid", ["The document carries no electronic seal or signature."]
        )

    def context() -> ValidationContext:
        return context_factory() if context_factory else policy.validation_context(at=at)

    spec = None
    if any(sig.sig_object_type != "/DocTimeStamp" for sig in embedded):
        spec = ltv.validation_spec(policy, at=at)
    sigs = [_check_one(sig, context, spec, at) for sig in embedded]
    verdict, reasons = _overall(sigs)
    return _report(data, name, verdict, reasons, sigs, at=at)


def _check_one(sig, context: Callable[[], ValidationContext], spec, at) -> SignatureReport:
    field_name = str(sig.field_name)
    is_doc_ts = sig.sig_object_type == "/DocTimeStamp"
    kind: Literal["signature", "document-timestamp"] = (
        "document-timestamp" if is_doc_ts else "signature"
    )
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
                vc = context()
                status = validate_pdf_signature(
                    sig, signer_validation_context=vc, ts_validation_context=vc
                )
    except Exception as exc:  # garbage CMS, broken byte range, unsupported algorithm...
        log.debug("validation error", exc_info=True)
        log.info("signature %s could not be validated: %r", field_name, exc)
        return SignatureReport(
            field_name=field_name,
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
            problems=(f"The seal is damaged and cannot be checked ({type(exc).__name__}).",),
            ades_indication="TOTAL_FAILED/FORMAT_FAILURE",
        )
    return _from_status(sig, status, field_name, kind, outcome)


def _from_status(sig, status, field_name: str, kind, outcome=None) -> SignatureReport:
    cert = status.signing_cert
    signer = _common_name(cert) if cert is not None else None
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
            tsa=_common_name(ts_cert) if ts_cert is not None else "unknown",
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
        if not permitted:
            problems.append(
                "Content was added or changed after the document was sealed "
                f"({_modification_words(modification)})."
            )
            if indication == "TOTAL_PASSED":
                indication = "TOTAL_FAILED/HASH_FAILURE"
    if coverage == "partial" and status.intact:
        problems.append("The seal does not cover the whole document.")
    certification = None
    docmdp = getattr(sig, "docmdp_level", None)
    if docmdp is not None:
        certification = _DOCMDP.get(docmdp, str(docmdp))
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


def _modification_words(level: ModificationLevel) -> str:
    return {
        ModificationLevel.ANNOTATIONS: "annotations were added",
        ModificationLevel.FORM_FILLING: "form fields were filled in",
        ModificationLevel.OTHER: "pages or content were modified",
    }.get(level, "the file was modified")


def _overall(sigs: list[SignatureReport]) -> tuple[Verdict, list[str]]:
    reasons: list[str] = []
    failed = any(s.ades_indication and s.ades_indication.startswith("TOTAL_FAILED") for s in sigs)
    failed = failed or any(s.problems and not s.intact for s in sigs)
    failed = failed or any(s.changes_permitted is False or s.coverage == "partial" for s in sigs)
    for s in sigs:
        reasons.extend(p for p in s.problems if p not in reasons)
    if failed:
        return "invalid", reasons
    seals = [s for s in sigs if s.kind == "signature"]
    # the plain verdict follows the AdES indication of the seals
    if any(s.problems for s in sigs) or any(
        s.ades_indication and s.ades_indication.startswith("INDETERMINATE") for s in seals
    ):
        return "indeterminate", reasons or ["The seal could not be fully validated."]
    if not seals:
        return "invalid", ["The document carries only timestamps, no seal."]
    first = seals[0]
    when = f" at {first.timestamp.time:%Y-%m-%d %H:%M UTC}" if first.timestamp else ""
    reasons.append(f"Sealed by {first.signer}{when}; the document has not been changed since.")
    for s in seals:
        reasons.extend(n for n in s.notes if n not in reasons)
    return "valid", reasons


__all__ = ["TrustPolicy", "verify_pdf", "replace"]


def _common_name(cert) -> str:
    """The subject's common name (what people recognise), or the whole name if it has none."""
    cn = cert.subject.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[0]
    return cn or cert.subject.human_friendly
