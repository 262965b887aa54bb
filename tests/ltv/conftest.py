"""A movable world for long-term validation tests: a built-in PKI created in the past,
with one clock shared by the TSA, the CA's revocation services and the verifier.

Everything stays offline: OCSP answers and CRLs come from the in-process CA.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certs.pki import Pki, create_builtin_pki, issue_credential
from certs.revocation import RevocationService
from signing.keys import in_memory_signer
from signing.ltv import ValidationData, renew_pdf
from signing.report import VerificationReport
from signing.seal import Sealer, SealSettings
from signing.serials import SerialCounter
from signing.timestamps import InProcessTimeStamper
from signing.tsa import TimeStampAuthority
from signing.validate import TrustPolicy, verify_pdf
from tests.signing.conftest import plain_pdf

PASSPHRASE = b"ltv-test-passphrase"
BASE_URL = "http://127.0.0.1:8000"
YEAR = timedelta(days=365)
DAY = timedelta(days=1)


@dataclass
class Clock:
    """A clock the test moves."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


class World:
    """A built-in PKI made at ``start``; ``at(when)`` moves every clock to ``when``."""

    def __init__(self, directory: Path, start: datetime):
        self.dir = directory / "pki"
        self.clock = Clock(start)
        create_builtin_pki(
            self.dir, agency="Archive Agency", public_base_url=BASE_URL,
            key_type="ecdsa-p256", passphrase=PASSPHRASE, now=start,
        )
        self.revocation = RevocationService(self.dir, passphrase=PASSPHRASE, clock=self.clock)

    @property
    def pki(self) -> Pki:
        return Pki.load(self.dir)

    def at(self, when: datetime) -> World:
        """Move the clock; keep an OCSP responder certificate valid then (they last a year)."""
        self.clock.now = when
        if self.pki.ocsp.cert.not_valid_after_utc < when + 30 * DAY:
            self.rollover("ocsp")
        return self

    def rollover(self, role: str):
        """A new key and certificate for ``role`` from now on (the old one is retired)."""
        return issue_credential(
            self.pki, role, passphrase=PASSPHRASE, key_type="ecdsa-p256",
            public_base_url=BASE_URL, agency="Archive Agency", now=self.clock.now,
        )

    def _signer(self, role: str):
        cred = getattr(self.pki, role)
        return in_memory_signer(cred.cert, cred.load_key(PASSPHRASE), list(cred.chain))

    def timestamper(self) -> InProcessTimeStamper:
        """The current TSA, on the world's clock."""
        tsa = TimeStampAuthority(
            signer=self._signer("tsa"), serials=SerialCounter(self.dir / "tsa-serial"),
            clock=self.clock,
        )
        return InProcessTimeStamper(tsa)

    def policy(self, *, evidence: bool = True) -> TrustPolicy:
        """What a verifier of this world trusts, with the CA's word on revocation."""
        pki = self.pki
        return TrustPolicy(
            trust_anchors=pki.trust_anchors,
            other_certs=tuple(c for c in pki.all_certificates() if c not in pki.trust_anchors),
            revocation_evidence=self.revocation.evidence_for_verifier if evidence else None,
        )

    def validation_data(self, *, sealing: bool) -> ValidationData:
        pki = self.pki
        return ValidationData(
            revocation=self.revocation,
            policy=self.policy(),
            certificates=(lambda: [pki.seal.cert, pki.tsa.cert]) if sealing else None,
            clock=self.clock,
        )

    def seal(self, level: str, when: datetime, pdf: bytes | None = None) -> bytes:
        """Seal a document at ``when`` with the current seal key and TSA."""
        self.at(when)
        sealer = Sealer(
            SealSettings(level=level),  # type: ignore[arg-type]
            signer=self._signer("seal"),
            timestamper=self.timestamper(),
            validation_context=self.validation_data(sealing=True),
        )
        return sealer.seal(pdf or plain_pdf(f"Certificate sealed {when:%Y-%m-%d}"))

    def renew(self, pdf: bytes, when: datetime) -> bytes:
        """Archive renewal at ``when`` with the current TSA."""
        self.at(when)
        return renew_pdf(
            pdf, timestamper=self.timestamper(),
            validation_context=self.validation_data(sealing=False)(),
        )

    def verify(self, pdf: bytes, when: datetime, *, evidence: bool = True) -> VerificationReport:
        """Our verifier's report at ``when``, offline."""
        self.at(when)
        return verify_pdf(pdf, policy=self.policy(evidence=evidence), at=when)


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


@pytest.fixture
def world_factory(tmp_path):
    """Make a world whose PKI was created at ``start``."""
    count = iter(range(100))

    def make(start: datetime) -> World:
        return World(tmp_path / f"world{next(count)}", start)

    return make
