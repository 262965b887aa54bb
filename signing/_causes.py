"""Why a signature could not be judged: each cause its own words and ETSI indication.

A pyHanko exception says little to a citizen ("ValueError") and nothing to an
auditor's tool. :func:`cause_of` turns one into a :class:`Cause`: a stable code,
the ETSI EN 319 102-1 indication and sub-indication, and one plain sentence.

The choices follow EN 319 102-1 (and pyHanko's own mapping where it has one):

* an algorithm the verifier cannot compute (e.g. BSI TR-03111 plain ECDSA) is
  INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE, as pyHanko says for an algorithm it
  does not allow at all (``_NO_POE`` is for one that was allowed until a time
  the signature is not proven to predate); SIG_CRYPTO_FAILURE is a TOTAL_FAILED
  for a signature value that was computed and does not match;
* a CMS without the signer's certificate is INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND;
* bytes that are not a CMS at all are TOTAL_FAILED/FORMAT_FAILURE;
* a format the verifier does not handle (a SubFilter such as ``adbe.pkcs7.sha1``,
  several signers in one signature) is INDETERMINATE/SIG_CONSTRAINTS_FAILURE: the
  signature may be sound, this verifier's constraints do not cover it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed


@dataclass(frozen=True)
class Cause:
    """One reason a signature is not (fully) valid."""

    code: str
    """Stable identifier, e.g. ``unsupported-subfilter`` (see docs/verify-report.md)."""
    indication: str
    """``TOTAL_FAILED`` or ``INDETERMINATE``."""
    sub_indication: str
    words: str
    """One sentence for a citizen ({field} is the signature field's name)."""
    detail: str | None = None
    """The library's own message, for auditors."""

    @property
    def label(self) -> str:
        """``INDICATION/SUB_INDICATION``."""
        return f"{self.indication}/{self.sub_indication}"

    def sentence(self, field: str) -> str:
        """The sentence with the field's name filled in."""
        return self.words.format(field=field)

    @classmethod
    def unsupported_subfilter(cls, sub_filter: str | None) -> Cause:
        name = (sub_filter or "none").lstrip("/")
        return cls(
            "unsupported-subfilter",
            "INDETERMINATE",
            "SIG_CONSTRAINTS_FAILURE",
            f"The signature in field {{field}} uses a format this verifier does not support "
            f"({name}), so it could not be checked.",
            detail=f"SubFilter {sub_filter}",
        )

    @classmethod
    def unsupported_algorithm(cls, oid: str) -> Cause:
        return cls(
            "unsupported-algorithm",
            "INDETERMINATE",
            "CRYPTO_CONSTRAINTS_FAILURE",
            "The signature in field {field} uses an algorithm this verifier does not support, "
            "so it could not be checked.",
            detail=f"signature algorithm {oid}",
        )

    @classmethod
    def unsupported_type(cls, sig_type: str) -> Cause:
        return cls(
            "unsupported-type",
            "INDETERMINATE",
            "SIG_CONSTRAINTS_FAILURE",
            "The signature in field {field} is of a kind this verifier does not support, "
            "so it could not be checked.",
            detail=f"/Type {sig_type}",
        )


def cause_of(exc: BaseException, *, parsing: bool = True) -> Cause:
    """The cause behind a pyHanko (or asn1crypto) exception raised for one signature.

    ``parsing``: raised while taking the signature apart (bad bytes are a format
    failure); otherwise while validating a signature that was read (an error
    there that names no cause leaves the signature undecided, not broken).
    """
    detail = f"{type(exc).__name__}: {exc}"
    text = str(exc).lower()
    sub = getattr(exc, "ades_subindication", None)
    if "signer_infos should contain exactly one" in text:
        return Cause(
            "several-signers",
            "INDETERMINATE",
            "SIG_CONSTRAINTS_FAILURE",
            "The signature in field {field} holds several signers in one signature, which "
            "PDF does not allow and this verifier cannot check.",
            detail,
        )
    if "certificate" in text and ("not found" in text or "not included" in text or "no cert" in text):
        return _no_certificate(detail)
    if sub is not None and not isinstance(sub, AdESPassed) and sub not in (
        AdESIndeterminate.GENERIC,
    ):
        return _from_subindication(sub, detail)
    if _unsupported_algorithm(exc, text):
        return Cause(
            "unsupported-algorithm",
            "INDETERMINATE",
            "CRYPTO_CONSTRAINTS_FAILURE",
            "The signature in field {field} uses an algorithm this verifier does not support, "
            "so it could not be checked.",
            detail,
        )
    if "byterange" in text or "byte range" in text or "/contents" in text:
        return Cause(
            "bad-byte-range",
            "TOTAL_FAILED",
            "FORMAT_FAILURE",
            "The signature in field {field} does not say properly which bytes it covers, "
            "so it cannot be checked.",
            detail,
        )
    if not parsing and not isinstance(exc, ValueError):
        return Cause(
            "not-validated",
            "INDETERMINATE",
            "GENERIC",
            "The signature in field {field} could not be validated here.",
            detail,
        )
    return Cause(
        "bad-encoding",
        "TOTAL_FAILED",
        "FORMAT_FAILURE",
        "The signature in field {field} is damaged (it is not a correctly encoded "
        "signature) and cannot be checked.",
        detail,
    )


def no_certificate(detail: str | None) -> Cause:
    """The signer's certificate is not in the signature."""
    return _no_certificate(detail)


def _no_certificate(detail: str | None) -> Cause:
    return Cause(
        "no-signing-certificate",
        "INDETERMINATE",
        "NO_SIGNING_CERTIFICATE_FOUND",
        "The signature in field {field} does not include the signer's certificate, "
        "so who made it cannot be checked.",
        detail,
    )


def _from_subindication(sub, detail: str) -> Cause:
    if sub is AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND:
        return _no_certificate(detail)
    if sub in (
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
        AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    ):
        return Cause(
            "weak-algorithm",
            "INDETERMINATE",
            sub.name,
            "The signature in field {field} relies on an algorithm that is not accepted as "
            "secure.",
            detail,
        )
    if sub is AdESFailure.HASH_FAILURE:
        return Cause(
            "hash-failure",
            "TOTAL_FAILED",
            sub.name,
            "The document was changed after the signature in field {field} was made.",
            detail,
        )
    if sub is AdESFailure.SIG_CRYPTO_FAILURE:
        return Cause(
            "signature-mismatch",
            "TOTAL_FAILED",
            sub.name,
            "The cryptographic signature in field {field} is not valid.",
            detail,
        )
    indication = "TOTAL_FAILED" if isinstance(sub, AdESFailure) else "INDETERMINATE"
    return Cause(
        "not-validated",
        indication,
        sub.name,
        "The signature in field {field} could not be validated.",
        detail,
    )


def _unsupported_algorithm(exc: BaseException, text: str) -> bool:
    if isinstance(exc, NotImplementedError):
        return True
    markers = ("unsupported", "not supported", "unknown algorithm", "unable to determine",
               "no signature mechanism", "is not a recognized", "algorithm")
    return any(m in text for m in markers) and "format" not in text and "does not match" not in text
