"""ETSI EN 319 102-1 validation of one PDF seal with pyHanko's AdES module, at a given time.

Private to :mod:`signing`: :mod:`signing.ltv` re-exports what callers need.
pyHanko's AdES code is marked incubating; this module holds every place where
we correct or steer it, each with the reason next to it.
"""

from __future__ import annotations

import importlib
import logging
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades.report import AdESFailure, AdESPassed
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from .trust import TrustPolicy, as_asn1

log = logging.getLogger(__name__)

Indication = Literal["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"]


@dataclass(frozen=True)
class AdesOutcome:
    """The ETSI EN 319 102-1 result for one seal, validated at one time."""

    indication: Indication
    sub_indication: str | None
    """E.g. ``OUT_OF_BOUNDS_NO_POE``; None when passed."""
    best_signature_time: datetime | None
    """The earliest time the seal is proven to have existed."""
    archive_time: datetime | None = None
    """Time of the oldest archive (document) timestamp over the seal, if that chain validated."""
    failure: str | None = None
    """pyHanko's own explanation (for logs and auditors)."""
    revoked_at: datetime | None = None
    """Revocation time of a certificate on the seal's path, if one was revoked."""
    revocation_reason: str | None = None
    """E.g. ``key_compromise``."""
    ca_revoked: bool = False
    """The revoked certificate is a CA's, not the seal's own."""
    expired: tuple[str, datetime] | None = None
    """(common name, expiry) of the first certificate on the path expired at validation time."""
    sealed_after: datetime | None = None
    """Time of the content timestamp: the seal was made after it."""
    timestamp_time: datetime | None = None
    """Time of the seal's own (signature) timestamp: the seal existed then."""
    status: PdfSignatureStatus | None = field(default=None, compare=False, repr=False)
    """pyHanko's status object, when validation got that far."""

    @property
    def label(self) -> str:
        """``TOTAL_PASSED`` or ``INDICATION/SUB_INDICATION``."""
        if self.sub_indication is None:
            return self.indication
        return f"{self.indication}/{self.sub_indication}"


# pyHanko's long-term validation takes "now" from the wall clock in two places: the
# proof-of-existence registry (an object first seen is proven to exist "now") and
# the start of the time-sliding algorithm. Validating "at" another time must move
# both, or a verifier "in 2040" would be credited with proofs it holds today.
# The clock reads a context variable, so concurrent validations at different
# times (threads, asyncio tasks) never see each other's "now".
# Patch: replaces the ``datetime`` name inside pyhanko_certvalidator.ltv.poe and
# .ades_past (installed by ``edoc.compat.install()``, never on import). Why: a
# correctness bug, tests/signing/test_compat_patches.py shows the wrong answer
# without it. Upstream: POEManager takes ``current_dt_override``, but the
# time-sliding algorithm and the AdES entry points do not pass one through; no
# issue filed yet.
_VALIDATION_NOW: ContextVar[datetime | None] = ContextVar("edoc_validation_now", default=None)


class _ValidationClock(datetime):
    """A ``datetime`` whose ``now()`` is the validation time while one is set."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        fixed = _VALIDATION_NOW.get()
        if fixed is None:
            return datetime.now(tz)
        return fixed.astimezone(tz) if tz is not None else fixed


#: distribution whose internals the clock changes, and the versions it was tested with
TESTED = ("pyhanko-certvalidator", "0.33")
_CLOCKED = ("poe", "ades_past")  # modules of pyhanko_certvalidator.ltv that read datetime.now()


class ClockNotInstalled(RuntimeError):
    """Validation at another time was asked for, but pyHanko still reads the wall clock."""


def _clocked_modules() -> list:
    return [importlib.import_module(f"pyhanko_certvalidator.ltv.{name}") for name in _CLOCKED]


def install() -> None:
    """Give pyHanko's long-term validation the validation clock (idempotent).

    A correctness patch, not a speed-up: without it a validation "at" another
    time credits proofs of existence made now. Raises ``RuntimeError`` when
    pyhanko_certvalidator no longer reads ``datetime`` where we expect it.
    """
    modules = _clocked_modules()
    for module in modules:
        current = getattr(module, "datetime", None)
        if current is not datetime and current is not _ValidationClock:
            raise RuntimeError(
                f"pyhanko_certvalidator changed: {module.__name__}.datetime is {current!r}, "
                "not datetime.datetime; validation at another time would use the wall clock"
            )
    for module in modules:
        module.datetime = _ValidationClock


def uninstall() -> None:
    """pyHanko's own wall clock again (idempotent)."""
    for module in _clocked_modules():
        if getattr(module, "datetime", None) is _ValidationClock:
            module.datetime = datetime


def installed() -> bool:
    """Whether pyHanko's long-term validation reads the validation clock."""
    return all(getattr(m, "datetime", None) is _ValidationClock for m in _clocked_modules())


def timing(at: datetime | None) -> ValidationTimingInfo:
    """Validation at ``at`` (a point-in-time validation), or now."""
    if at is None:
        return ValidationTimingInfo.now(UTC)
    at = at.astimezone(UTC)
    return ValidationTimingInfo(
        validation_time=at, best_signature_time=at, point_in_time_validation=True
    )


def validation_spec(policy: TrustPolicy, *, at: datetime | None = None) -> PdfSignatureValidationSpec:
    """The AdES validation spec for a trust policy, with its revocation evidence as of ``at``."""
    ocsps, crls = list(policy.ocsps), list(policy.crls)
    if policy.revocation_evidence is not None:
        extra_ocsps, extra_crls = policy.revocation_evidence(at)
        ocsps += extra_ocsps
        crls += extra_crls
    rule = (
        RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
        if policy.allow_fetching
        else RevinfoOnlineFetchingRule.LOCAL_ONLY
    )
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build([as_asn1(c) for c in policy.trust_anchors]),
                revinfo_policy=CertRevTrustPolicy(
                    RevocationCheckingPolicy.from_legacy(policy.revocation_mode)
                ),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=rule),
            local_knowledge=LocalKnowledge(
                known_crls=[CRLContainer(asn1_crl.CertificateList.load(c)) for c in crls],
                known_ocsps=[o for raw in ocsps for o in _ocsps(raw)],
                known_certs=[as_asn1(c) for c in policy.other_certs],
            ),
        )
    )


async def async_ades_validate(
    sig, *, spec: PdfSignatureValidationSpec, at: datetime | None = None
) -> AdesOutcome:
    """The AdES validation of one embedded seal at ``at`` (default now), using its DSS too.

    First the validation of a signature with time (EN 319 102-1 §5.5); when it
    passes, that is the answer. Otherwise the long-term process (§5.6.3) uses
    the archive timestamps as proofs of existence and validates in the past.
    """
    when = timing(at)
    if at is not None and not installed():
        raise ClockNotInstalled(
            "validation at another time needs signing._ades.install() "
            "(edoc.compat.install() at start-up)"
        )
    token = _VALIDATION_NOW.set(when.validation_time if at is not None else None)
    try:
        return await _validate_at(sig, spec, when)
    finally:
        _VALIDATION_NOW.reset(token)


async def _validate_at(
    sig, spec: PdfSignatureValidationSpec, when: ValidationTimingInfo
) -> AdesOutcome:
    sig.compute_integrity_info(diff_policy=spec.diff_policy, skip_diff=spec.diff_policy is None)
    # a seal without a timestamp (B-B) gets the basic validation (§5.3): pyHanko's
    # validation with time would fail it for the missing timestamp alone
    timestamped = next(extract_tst_data_iter(sig.signer_info, signed=False), None) is not None
    sig_spec = _with_dss_knowledge(spec.signature_validation_spec, sig.reader)
    first: ades.AdESBasicValidationResult
    if timestamped:
        first = await ades.ades_with_time_validation(
            sig.signed_data,
            sig_spec,
            timing_info=when,
            raw_digest=sig.compute_digest(),
            extra_status_kwargs=sig.summarise_integrity_info(),
            status_cls=PdfSignatureStatus,
        )
    else:
        first = await ades.ades_basic_validation(
            sig.signed_data, sig_spec, timing_info=when, raw_digest=sig.compute_digest()
        )
        # pyHanko 0.38's basic validation ignores status_cls, so the PDF facts
        # (coverage, later modifications) are attached here
        if first.api_status is not None:
            first = replace(first, api_status=_pdf_status(first.api_status, sig))
    with_time = _outcome(first, when.validation_time)
    if with_time.indication == "TOTAL_FAILED":
        return with_time
    if with_time.indication == "TOTAL_PASSED":
        if with_time.expired is None:
            return with_time
        # pyHanko passes an expired certificate when the signature timestamp falls in
        # its validity; the standard (§5.5.4) says OUT_OF_BOUNDS_NO_POE: only
        # revocation data proven to exist before the expiry (by an archive
        # timestamp) shows the certificate was not revoked by then.
        with_time = replace(
            with_time, indication="INDETERMINATE", sub_indication="OUT_OF_BOUNDS_NO_POE"
        )
    lta = _outcome(
        await ades.ades_lta_validation(sig, spec, timing_info=when), when.validation_time
    )
    if lta.indication == "TOTAL_PASSED":
        if with_time.expired is not None:
            # pyHanko's past validation starts from its lenient pass (above), so its
            # pass only shows the path was valid at an earlier control time; the
            # standard also wants the proof (archive timestamp) to predate the expiry.
            if lta.archive_time is None or lta.archive_time > with_time.expired[1]:
                return replace(with_time, failure=lta.failure, archive_time=lta.archive_time)
        return replace(lta, failure=None, expired=with_time.expired)
    if lta.indication == "TOTAL_FAILED" or with_time.indication != "INDETERMINATE":
        return lta
    # Past validation did not improve the result: the standard (§5.6.2.4) then
    # answers with the result at the validation time, which names the real cause
    # (pyHanko reports the error of its last attempt, often just NO_POE).
    return replace(with_time, failure=lta.failure, archive_time=lta.archive_time)


def _outcome(result, moment: datetime) -> AdesOutcome:
    sub = result.ades_subindic
    if isinstance(sub, AdESPassed):
        indication: Indication = "TOTAL_PASSED"
        name = None
    else:
        indication = "TOTAL_FAILED" if isinstance(sub, AdESFailure) else "INDETERMINATE"
        name = sub.name
    status = result.api_status
    revocation = getattr(status, "revocation_details", None)
    return AdesOutcome(
        indication=indication,
        sub_indication=name,
        best_signature_time=getattr(result, "best_signature_time", None),
        archive_time=getattr(result, "oldest_evidence_record_timestamp", None),
        failure=result.failure_msg,
        revoked_at=revocation.revocation_date if revocation else None,
        revocation_reason=revocation.revocation_reason.native if revocation else None,
        ca_revoked=bool(revocation and revocation.ca_revoked),
        expired=_expired_on_path(status, moment),
        sealed_after=_ts_time(getattr(status, "content_timestamp_validity", None)),
        timestamp_time=_ts_time(getattr(status, "timestamp_validity", None)),
        status=status,
    )


def _pdf_status(status, sig) -> PdfSignatureStatus:
    values = {f.name: getattr(status, f.name) for f in fields(status) if f.init}
    return PdfSignatureStatus(**values, **sig.summarise_integrity_info())


def _ts_time(ts_status) -> datetime | None:
    return getattr(ts_status, "timestamp", None)


def _expired_on_path(status, moment: datetime) -> tuple[str, datetime] | None:
    path = getattr(status, "validation_path", None)
    if path is None:
        return None
    expired = [
        (cert.subject.native.get("common_name") or cert.subject.human_friendly,
         cert["tbs_certificate"]["validity"]["not_after"].native)
        for cert in path
        if isinstance(cert, asn1_x509.Certificate)
    ]
    expired = [item for item in expired if item[1] < moment]
    return min(expired, key=lambda item: item[1]) if expired else None


def _with_dss_knowledge(spec: SignatureValidationSpec, reader) -> SignatureValidationSpec:
    """``spec`` knowing the DSS's certificates and revocation data too (as the LTA process does)."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return spec
    known = spec.local_knowledge
    return replace(
        spec,
        local_knowledge=replace(
            known,
            known_ocsps=[
                *known.known_ocsps,
                *(o for ref in dss.ocsps for o in _ocsps(ref.get_object().data)),
            ],
            known_crls=[
                *known.known_crls,
                *(CRLContainer(asn1_crl.CertificateList.load(ref.get_object().data))
                  for ref in dss.crls),
            ],
            known_certs=[*known.known_certs, *dss.load_certs()],
        ),
    )


def _ocsps(der: bytes) -> list[OCSPContainer]:
    return list(OCSPContainer.load_multi(asn1_ocsp.OCSPResponse.load(der)))
