"""What a verifier trusts: a declaration near the bottom of the import graph.

Imports nothing from :mod:`signing`, so that :mod:`signing.validate`,
:mod:`signing.ltv` and :mod:`signing._ades` can all use it without a circle
(as pyhanko_certvalidator's ``policy_decl`` does for its own policies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import ValidationContext


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
            trust_roots=[as_asn1(c) for c in self.trust_anchors],
            other_certs=[as_asn1(c) for c in self.other_certs],
            revocation_mode=self.revocation_mode,
            allow_fetching=self.allow_fetching,
            crls=list(self.crls),
            ocsps=list(self.ocsps),
        )

    def trusting(self, *anchors: x509.Certificate) -> TrustPolicy:
        """This policy with more trust anchors (a relying party's own, e.g. ``--trust``)."""
        added = tuple(a for a in anchors if a not in self.trust_anchors)
        return replace(self, trust_anchors=self.trust_anchors + added)


def as_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    """A ``cryptography`` certificate as the ``asn1crypto`` value pyHanko works with."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
