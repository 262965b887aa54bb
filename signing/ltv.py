"""Long-term validity: validation data for B-LT sealing, archive renewal, AdES indications.

An official document must still verify in 30 years, long after its seal and
TSA certificates expired. Three tools for that:

* :class:`ValidationData` gives the sealer (and renewal) a validation context
  already holding the built-in CA's OCSP answers and CRL, so B-LT/B-LTA
  documents carry their revocation data in the DSS, with no network.
* :func:`renew_pdf` adds fresh validation data and a new document (archive)
  timestamp as an incremental update; :func:`renewal_reasons` says whether a
  document needs that before a given date.
* :func:`ades_validate` gives the ETSI EN 319 102-1 indication of one seal at a
  given time, and :func:`explain` says why in plain words.

>>> data = ValidationData(revocation=home.revocation(), policy=home.trust_policy())  # doctest: +SKIP
>>> renewed = renew_pdf(sealed, timestamper=ts, validation_context=data())  # doctest: +SKIP
>>> ades_validate(reader.embedded_signatures[0], spec=validation_spec(policy)).label  # doctest: +SKIP
'TOTAL_PASSED'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec
from pyhanko_certvalidator import ValidationContext

from ._ades import AdesOutcome, async_ades_validate, timing, validation_spec
from ._aio import run_sync
from .errors import SealError, TimestampError
from .trust import TrustPolicy, as_asn1

if TYPE_CHECKING:
    from certs.revocation import RevocationService


log = logging.getLogger(__name__)


# -- validation data for sealing and renewal ----------------------------------------


class ValidationData:
    """Validation contexts holding the built-in CA's revocation data, with no network.

    Called with no argument it is what the :class:`~signing.seal.Sealer` wants
    for B-LT/B-LTA: a context at ``clock()`` whose OCSP answers and CRL are
    exactly what the DSS should carry (pyHanko embeds all of them). The
    revocation mode is ``require``, so sealing with a revoked key is refused.
    ``certificates`` limits the OCSP answers (the seal and the TSA); by default
    every certificate of the CA valid at that time gets one (for renewal).
    """

    def __init__(
        self,
        *,
        revocation: RevocationService,
        policy: TrustPolicy,
        certificates: Callable[[], list[x509.Certificate]] | None = None,
        clock: Callable[[], datetime] | None = None,
        allow_fetching: bool = False,
    ):
        self._revocation = revocation
        self._policy = policy
        self._certificates = certificates
        self._clock = clock
        self._allow_fetching = allow_fetching

    def __call__(self) -> ValidationContext:
        return self.validation_context()

    def validation_context(self, *, at: datetime | None = None) -> ValidationContext:
        """A context at ``at`` (default ``clock()``, else now) holding fresh revocation data."""
        when = at or (self._clock() if self._clock is not None else None)
        certs = self._certificates() if self._certificates is not None else None
        evidence = self._revocation.evidence(at=when, certificates=certs)
        return ValidationContext(
            trust_roots=[as_asn1(c) for c in self._policy.trust_anchors],
            other_certs=[as_asn1(c) for c in self._policy.other_certs],
            ocsps=list(evidence.ocsps),
            crls=list(evidence.crls),
            allow_fetching=self._allow_fetching,
            # an external TSA's status must come from the network; ours never does
            revocation_mode="soft-fail" if self._allow_fetching else "require",
            moment=when,  # None: now
        )


# -- archive renewal --------------------------------------------------------------------


@dataclass(frozen=True)
class AlgorithmSchedule:
    """When digest algorithms stop protecting documents (a national crypto policy)."""

    retire: Mapping[str, datetime] = field(default_factory=dict)
    """Digest name (``sha256``) → the date from which it no longer protects a document."""

    def retires_before(self, algorithm: str, when: datetime) -> datetime | None:
        """The retirement date of ``algorithm`` if it comes before ``when``."""
        date = self.retire.get(algorithm.lower())
        return date if date is not None and date <= when else None

    def digest_for(self, preferred: str, when: datetime) -> str:
        """``preferred`` unless it retires before ``when``, else the strongest that does not."""
        for name in (preferred, "sha512", "sha384", "sha256"):
            if self.retires_before(name, when) is None:
                return name
        raise ValueError(f"every digest algorithm retires before {when:%Y-%m-%d}")


@dataclass(frozen=True)
class LastTimestamp:
    """The newest timestamp protecting a document."""

    time: datetime
    tsa_not_after: datetime
    """When the certificate of the authority that made it expires."""
    digest_algorithm: str
    """Digest of the timestamp's message imprint."""
    archive: bool
    """True for a document (archive) timestamp, False for the seal's own timestamp."""


def last_timestamp(pdf: bytes) -> LastTimestamp | None:
    """The newest document timestamp, else the seal's timestamp, else None."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    docts = reader.embedded_timestamp_signatures
    if docts:
        return _last(docts[-1].signed_data, archive=True)
    for sig in reversed(reader.embedded_regular_signatures):
        for tst_data in extract_tst_data_iter(sig.signer_info, signed=False):
            return _last(tst_data, archive=False)
    return None


def _last(tst_data, *, archive: bool) -> LastTimestamp:
    tst = tst_data["encap_content_info"]["content"].parsed
    cert: asn1_x509.Certificate = extract_certificate_info(tst_data).signer_cert
    return LastTimestamp(
        time=tst["gen_time"].native,
        tsa_not_after=cert["tbs_certificate"]["validity"]["not_after"].native,
        digest_algorithm=tst["message_imprint"]["hash_algorithm"]["algorithm"].native,
        archive=archive,
    )


def renewal_reasons(
    pdf: bytes, *, before: datetime, schedule: AlgorithmSchedule = AlgorithmSchedule()
) -> tuple[str, ...]:
    """Why ``pdf`` needs a new archive timestamp before ``before``; empty when it does not."""
    last = last_timestamp(pdf)
    if last is None:
        return ("No timestamp proves when the document existed.",)
    reasons: list[str] = []
    what = "last archive timestamp" if last.archive else "seal's timestamp"
    if last.tsa_not_after <= before:
        reasons.append(
            f"The certificate of the authority behind the {what} expires on "
            f"{last.tsa_not_after:%Y-%m-%d}."
        )
    retired = schedule.retires_before(last.digest_algorithm, before)
    if retired is not None:
        reasons.append(
            f"The {what} uses {last.digest_algorithm}, which is retired on {retired:%Y-%m-%d}."
        )
    if not last.archive:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        for sig in reader.embedded_regular_signatures:
            end = sig.signer_cert["tbs_certificate"]["validity"]["not_after"].native
            if end <= before:
                reasons.append(
                    f"The seal certificate expires on {end:%Y-%m-%d} and no archive "
                    "timestamp protects the document yet."
                )
                break
    return tuple(reasons)


def renew_pdf(
    pdf: bytes,
    *,
    timestamper: TimeStamper,
    validation_context: ValidationContext,
    digest_algorithm: str = "sha256",
) -> bytes:
    """``pdf`` plus fresh validation data and a new archive timestamp (synchronous)."""
    return run_sync(
        async_renew_pdf(
            pdf,
            timestamper=timestamper,
            validation_context=validation_context,
            digest_algorithm=digest_algorithm,
        )
    )


async def async_renew_pdf(
    pdf: bytes,
    *,
    timestamper: TimeStamper,
    validation_context: ValidationContext,
    digest_algorithm: str = "sha256",
) -> bytes:
    """``pdf`` plus fresh validation data and a new archive timestamp.

    The validation data (certificates, OCSP answers, CRL for every seal and
    timestamp whose chain still validates) goes into the DSS in the same
    incremental update as the new timestamp, so the timestamp covers it: that
    is what lets a verifier rely on it after those certificates expire. The
    earlier bytes are untouched, so every earlier signature stays intact.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # any parse failure of a stored file
        raise SealError(f"the stored document is not a readable PDF: {exc}") from exc
    if not embedded:
        raise SealError("the document carries no seal; there is nothing to renew")
    paths = []
    for sig in embedded:
        try:
            paths.extend(await collect_validation_info(sig, validation_context))
        except Exception as exc:  # an expired chain: its data went into the DSS earlier
            log.info("no fresh validation data for %s: %r", sig.field_name, exc)
    out = BytesIO(pdf)
    writer = IncrementalPdfFileWriter(out, strict=False)
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None, paths=paths, validation_context=validation_context
    )
    name = f"edoc-archive-{len(reader.embedded_timestamp_signatures) + 1}"
    try:
        await PdfTimeStamper(timestamper, field_name=name).async_timestamp_pdf(
            writer,
            digest_algorithm,
            validation_context=validation_context,
            in_place=True,
            # the data above is already in this revision; no VRI, no second update
            dss_settings=TimestampDSSContentSettings(include_vri=False, skip_if_unneeded=True),
        )
    except TimestampError:
        raise
    except Exception as exc:  # pyHanko raises many types for a refused timestamp
        raise TimestampError(f"could not add the archive timestamp: {exc}") from exc
    return out.getvalue()


# -- AdES validation and what it means -------------------------------------------------


def ades_validate(
    sig, *, spec: PdfSignatureValidationSpec, at: datetime | None = None
) -> AdesOutcome:
    """The AdES indication of one embedded seal at ``at`` (default now)."""
    return run_sync(async_ades_validate(sig, spec=spec, at=at))


_REASON_WORDS = {
    "key_compromise": "its key was compromised",
    "ca_compromise": "the CA's key was compromised",
    "affiliation_changed": "the agency's details changed",
    "superseded": "it was replaced",
    "cessation_of_operation": "the agency stopped using it",
    "privilege_withdrawn": "its privileges were withdrawn",
}


def _day(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else "an unknown time"


def explain(outcome: AdesOutcome, *, signer: str | None) -> tuple[list[str], list[str]]:
    """(problems, notes) in plain words: why the seal is not valid, or how it still is."""
    sub = outcome.sub_indication
    revoked = ""
    if outcome.revoked_at is not None:
        why = _REASON_WORDS.get(outcome.revocation_reason or "", "")
        whose = "A certificate in the seal's chain" if outcome.ca_revoked else "The seal certificate"
        revoked = f"{whose} was revoked on {_day(outcome.revoked_at)}" + (
            f" because {why}" if why else ""
        )
    sealed_at = outcome.timestamp_time or outcome.best_signature_time
    if outcome.indication == "TOTAL_PASSED":
        notes = []
        if revoked:
            notes.append(
                f"{revoked}, but a timestamp proves this document was sealed on "
                f"{_day(outcome.best_signature_time)}, before then."
            )
        if outcome.expired is not None:
            name, end = outcome.expired
            notes.append(
                f"The certificate of {name} expired on {_day(end)}; archive timestamps prove "
                f"the document was sealed on {_day(outcome.best_signature_time)}, while it "
                "was valid."
            )
        return [], notes
    if sub == "REVOKED" and revoked:
        after = outcome.sealed_after or sealed_at
        return [f"{revoked}, and this document was sealed after that ({_day(after)})."], []
    if sub in ("REVOKED_NO_POE", "REVOKED_CA_NO_POE", "REVOKED") and revoked:
        return [
            f"{revoked}; nothing proves this document was sealed before then "
            f"(its timestamp is dated {_day(sealed_at)})."
        ], []
    if sub in ("OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "EXPIRED") and outcome.expired:
        name, end = outcome.expired
        if outcome.archive_time is None:
            proof = "the document carries no valid archive timestamp proving it was sealed before then"
        else:
            proof = (
                f"its archive timestamp of {_day(outcome.archive_time)} came too late to prove "
                "it was sealed before then"
            )
        return [f"The certificate of {name} expired on {_day(end)}, and {proof}."], []
    if sub in ("NO_CERTIFICATE_CHAIN_FOUND", "CHAIN_CONSTRAINTS_FAILURE", "NO_SIGNING_CERTIFICATE_FOUND"):
        return [f"The seal was made by {signer}, who is not a trusted issuer."], []
    if sub in ("TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE", "CERTIFICATE_CHAIN_GENERAL_FAILURE"):
        return [
            "No up-to-date revocation information for the seal's certificates is available "
            "here, so it cannot be confirmed that they were not revoked."
        ], []
    if sub in ("CRYPTO_CONSTRAINTS_FAILURE", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"):
        return [
            "The seal relies on an algorithm that is no longer considered secure, and no "
            "archive timestamp protects it from before then."
        ], []
    if sub in ("NOT_YET_VALID",):
        return ["The seal certificate was not yet valid when the document was sealed."], []
    if sub == "NO_POE":
        return ["Nothing proves when this document was sealed."], []
    if sub == "HASH_FAILURE":
        return ["The document was changed after it was sealed: the seal no longer matches."], []
    if sub == "SIG_CRYPTO_FAILURE":
        return ["The seal's cryptographic signature is not valid."], []
    return [f"The seal could not be fully validated ({outcome.label})."], []


__all__ = [
    "AdesOutcome",
    "AlgorithmSchedule",
    "LastTimestamp",
    "ValidationData",
    "ades_validate",
    "async_ades_validate",
    "async_renew_pdf",
    "explain",
    "last_timestamp",
    "renew_pdf",
    "renewal_reasons",
    "timing",
    "validation_spec",
]
