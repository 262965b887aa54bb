"""Verification of documents: signatures, trust and the registry's word together.

>>> verifier = Verifier.for_home(home)  # doctest: +SKIP
>>> verifier.verify(pdf_bytes, name="certificate.pdf").verdict  # doctest: +SKIP
'valid'
"""

from __future__ import annotations

from datetime import datetime

from signing import _pdfread
from signing.report import RegistryStatus, VerificationReport
from signing.validate import TrustPolicy, verify_pdf

# a seal's /Contents is ~25,000 hex digits: pyHanko's byte-at-a-time reader took
# half of a verification's CPU time (same results, see signing/_pdfread.py)
_pdfread.install()


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

    def verify(
        self, data: bytes, *, name: str | None = None, at: datetime | None = None
    ) -> VerificationReport:
        """The full verification report for one file; never raises for bad input."""
        report = verify_pdf(data, policy=self._policy, name=name, at=at)
        if self._registry is None or not report.signatures:
            return report
        return report.with_registry(self.registry_status(report.sha256))

    def registry_status(self, sha256: str) -> RegistryStatus:
        """What the registry records for the document with this exact file digest."""
        record = self._registry.find_by_sha256(sha256)
        if record is None:
            return RegistryStatus(status="unknown")
        return RegistryStatus(
            status=record.status,
            document_id=record.id,
            issuing_agency=record.agency,
            document_type=record.title,
            issued_at=record.issued_at,
            holder=record.holder_masked,
            revoked_at=record.revoked_at,
            revocation_reason=record.revocation_reason,
        )
