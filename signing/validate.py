"""Verification of signed PDFs, built on pyHanko's validation.

:func:`verify_pdf` never raises for bad input: a file that is not a PDF, is
truncated, unsigned, tampered with or sealed by someone we do not trust gets a
report with verdict ``invalid`` or ``indeterminate`` and reasons in plain words.
Each signature is judged on its own (:mod:`signing._judge`), each later
revision classified (:mod:`signing.revisions`).

>>> policy = TrustPolicy(trust_anchors=(root_cert,))  # doctest: +SKIP
>>> report = verify_pdf(pdf_bytes, policy=policy)  # doctest: +SKIP
>>> report.verdict  # doctest: +SKIP
'valid'
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from pyhanko.sign.fields import MDPPerm
from pyhanko_certvalidator import ValidationContext

from . import ltv, revisions
from ._fields import Field, PasswordRequired, open_pdf, signature_fields
from ._judge import judge
from .report import RevisionReport, SignatureReport, Verdict, VerificationReport
from .trust import TrustPolicy

log = logging.getLogger(__name__)

NOT_A_PDF = "This file is not a PDF document."
DAMAGED = "The file is damaged or truncated and cannot be read as a PDF."


def _report(
    data: bytes,
    name: str | None,
    verdict: Verdict,
    reasons: list[str],
    sigs=(),
    at: datetime | None = None,
    **extra,
) -> VerificationReport:
    details = extra.pop("details", {})
    return VerificationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        verdict=verdict,
        reasons=tuple(reasons),
        signatures=tuple(sigs),
        validated_at=(at or datetime.now(UTC)).astimezone(UTC),
        details=details,
        **extra,
    )


def verify_pdf(
    data: bytes,
    *,
    policy: TrustPolicy,
    name: str | None = None,
    at: datetime | None = None,
    context_factory: Callable[[], ValidationContext] | None = None,
    password: str | None = None,
) -> VerificationReport:
    """Verify every signature and document timestamp of a PDF; never raises for bad input.

    ``context_factory`` lets a long-running verifier reuse validation state
    across documents; by default a fresh context is made per document. An
    encrypted PDF is opened with ``password``, or with the empty user password.
    """
    if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        return _report(data, name, "invalid", [NOT_A_PDF], details={"code": "not-pdf"})
    try:
        reader, encrypted = open_pdf(data, password=password)
        filled, empty = signature_fields(reader)
    except PasswordRequired as exc:
        words = (
            "The file is encrypted and the password given does not open it."
            if password
            else "The file is encrypted with a password; give the password to check it."
        )
        return _report(data, name, "indeterminate", [words], encrypted=True,
                       details={"code": "password-required", "error": str(exc)})
    except Exception as exc:  # any parse failure of hostile input is a verdict
        log.info("unreadable PDF %s: %r", name, exc)
        return _report(data, name, "invalid", [DAMAGED],
                       details={"code": "damaged", "error": f"{type(exc).__name__}: {exc}"})
    if not filled:
        return _report(data, name, "invalid",
                       ["The document carries no electronic seal or signature."],
                       unsigned_fields=tuple(empty), encrypted=encrypted,
                       details={"code": "unsigned"})

    def context() -> ValidationContext:
        return context_factory() if context_factory else policy.validation_context(at=at)

    spec = None
    if any(f.sig_type != "/DocTimeStamp" and not f.as_timestamp for f in filled):
        spec = ltv.validation_spec(policy, at=at)
    sigs = [judge(f, context, spec, at) for f in filled]
    history = _history(reader, filled)
    sigs = [_with_permissions(s, history) for s in sigs]
    verdict, reasons = _overall(sigs, history)
    return _report(data, name, verdict, reasons, sigs, at=at, unsigned_fields=tuple(empty),
                   revisions=tuple(history), encrypted=encrypted)


def _history(reader, filled: list[Field]) -> list[RevisionReport]:
    signed = []
    for f in filled:
        if f.revision is None:
            continue
        docmdp = lock = None
        if f.sig is not None:
            try:
                docmdp = f.sig.docmdp_level
                lock = f.sig.fieldmdp
            except Exception:
                log.debug("permissions of %s unreadable", f.name, exc_info=True)
        kind = "document-timestamp" if f.sig_type == "/DocTimeStamp" or f.as_timestamp else "signature"
        signed.append(revisions.Signed(f.name, f.revision, kind, docmdp, lock))
    try:
        return revisions.judge(reader, signed)
    except Exception:  # the analysis is extra evidence; pyHanko's own check still stands
        log.info("revision analysis failed", exc_info=True)
        return []


def _with_permissions(sig: SignatureReport, history: list[RevisionReport]) -> SignatureReport:
    """The signature with later revisions judged against the document's permissions."""
    if sig.revision is None or not history or not (sig.intact and sig.valid):
        return _forbidden(sig, sig.changes_permitted, [_pyhanko_words(sig.modifications)])
    later = [r for r in history if r.number > sig.revision]
    if not later:
        return sig
    forbidden = [r for r in later if r.permitted is False]
    words = [revisions.WORDS[k] for r in forbidden for k in r.changes
             if k in ("content", "annotations", "form-filling", "signature")]
    return _forbidden(sig, not forbidden, list(dict.fromkeys(words)) or ["the file was modified"])


def _forbidden(sig: SignatureReport, permitted: bool | None, words: list[str]) -> SignatureReport:
    if permitted is not False:
        return replace(sig, changes_permitted=permitted if sig.changes_permitted is not None
                       or permitted is not None else None)
    problems = (*sig.problems, "Content was added or changed after the document was sealed "
                f"({', '.join(words)}).")
    indication = sig.ades_indication
    if indication == "TOTAL_PASSED":
        indication = "TOTAL_FAILED/HASH_FAILURE"
    return replace(sig, changes_permitted=False, problems=problems, ades_indication=indication,
                   reason_code=sig.reason_code or "forbidden-change")


def _pyhanko_words(level: str | None) -> str:
    return {
        "annotations": "annotations were added",
        "form-filling": "form fields were filled in",
        "other": "pages or content were modified",
    }.get(level or "", "the file was modified")


def _overall(sigs: list[SignatureReport], history: list[RevisionReport]) -> tuple[Verdict, list[str]]:
    reasons: list[str] = []
    failed = any(s.ades_indication and s.ades_indication.startswith("TOTAL_FAILED") for s in sigs)
    failed = failed or any(s.problems and not s.intact and s.reason_code is None for s in sigs)
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
    if first.revision is not None:
        for r in history:
            if r.number > first.revision and r.changes:
                reasons.append(f"Revision {r.number}, after the seal: {r.description} (allowed).")
    return "valid", reasons


__all__ = ["TrustPolicy", "verify_pdf", "replace", "MDPPerm"]
