"""Verification of documents: signatures, trust and the registry's word together.

>>> verifier = Verifier.for_home(home)  # doctest: +SKIP
>>> verifier.verify(pdf_bytes, name="certificate.pdf").verdict  # doctest: +SKIP
'valid'
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from signing import _names, _pdfread
from signing.report import RegistryStatus, VerificationReport
from signing.validate import TrustPolicy, verify_pdf

# a seal's /Contents is ~25,000 hex digits: pyHanko's byte-at-a-time reader took
# half of a verification's CPU time; the Thai metadata is octal-escaped literal
# strings (same results, see signing/_pdfread.py)
_pdfread.install()
# the same few CA, seal and TSA names compared and string-prepared again and again:
# ~40% of a verification's CPU (same answers, see signing/_names.py)
_names.install()


class Verifier:
    """Checks uploaded files against a trust policy and, when given, the registry."""

    def __init__(self, *, policy: TrustPolicy, registry=None):
        self._policy = policy
        self._registry = registry

    @classmethod
    def for_home(cls, home) -> Verifier:
        """A verifier trusting the home's anchors and consulting its registry if present."""
        registry = None
        opener = getattr(home, "registry", None)
        if callable(opener):
            registry = opener()
        return cls(policy=home.trust_policy(), registry=registry)

    def trusting(self, anchors) -> Verifier:
        """This verifier with a relying party's own trust anchors added (``--trust``)."""
        return Verifier(policy=self._policy.trusting(*anchors), registry=self._registry)

    def verify(
        self,
        data: bytes,
        *,
        name: str | None = None,
        at: datetime | None = None,
        password: str | None = None,
    ) -> VerificationReport:
        """The full verification report for one file; never raises for bad input."""
        report = verify_pdf(data, policy=self._policy, name=name, at=at, password=password)
        if self._registry is None or not report.signatures:
            return report
        status = self.registry_status(report.sha256)
        if status.status == "unknown":
            claimed = claimed_document_id(data)
            if claimed is not None:
                return self._not_the_registered_file(report, claimed)
        return report.with_registry(status)

    def _not_the_registered_file(self, report: VerificationReport, doc_id: str) -> VerificationReport:
        """A file naming a registered document while its bytes are none of its versions."""
        from storage.errors import DocumentNotFound

        try:
            record = self._registry.get(doc_id)
        except DocumentNotFound:
            return report.with_registry(RegistryStatus(status="unknown"))
        if record.status == "revoked":
            return report.with_registry(self._status(record))
        reasons = (
            *report.reasons,
            f"This file says it is document {doc_id}, but it is not the file on record for it.",
        )
        return replace(
            report, verdict="invalid", reasons=reasons, registry=RegistryStatus(status="unknown")
        )

    def registry_status(self, sha256: str) -> RegistryStatus:
        """What the registry records for the document with this exact file digest."""
        record = self._registry.find_by_sha256(sha256)
        if record is None:
            return RegistryStatus(status="unknown")
        return self._status(record)

    @staticmethod
    def _status(record) -> RegistryStatus:
        return RegistryStatus(
            status=record.status,
            document_id=record.id,
            issuing_agency=record.agency,
            document_type=record.title,
            issued_at=record.issued_at,
            holder=record.holder_masked,
            revoked_at=record.revoked_at,
            revocation_reason=record.revocation_reason,
            template=record.template,
        )


def claimed_document_id(data: bytes) -> str | None:
    """The document id a PDF carries in its /Keywords (set by our renderer), if any."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    from .render import DOCUMENT_ID_KEYWORD

    try:
        info = PdfFileReader(BytesIO(data), strict=False).trailer_view["/Info"]
        keywords = str(info.get("/Keywords", ""))
    except Exception:  # no Info dictionary, or unreadable: no claim
        return None
    for word in keywords.split():
        if word.startswith(DOCUMENT_ID_KEYWORD):
            return word[len(DOCUMENT_ID_KEYWORD):] or None
    return None
