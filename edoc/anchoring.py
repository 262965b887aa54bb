"""Which trust anchor made each seal trusted, and whether that anchor may vouch for it.

pyHanko validates a PDF against every certificate of the trust store at once.
This step then names, per trusted signature, the anchor its chain ends at
(``SignatureReport.trust_anchor``) and holds the anchor to what it is trusted
for: an anchor added ``--for tsa`` does not vouch for seals (nor ``--for seal``
for document timestamps), and a trusted-list service counts only while its
status at the validation time is ``granted`` or ``accredited``. A signature
failing that is reported untrusted, with the reason.

>>> check = AnchorCheck(home.trust_store().anchors(), policy.other_certs)  # doctest: +SKIP
>>> check.apply(report, pdf_bytes).signatures[0].trust_anchor  # doctest: +SKIP
'root-ca'
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Literal

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from certs.truststore import Anchor
from signing import _aio
from signing.report import SignatureReport, VerificationReport
from signing.validate import _overall

log = logging.getLogger(__name__)


class AnchorCheck:
    """Names and checks the anchors behind a report's trusted signatures (thread-safe)."""

    def __init__(self, anchors: tuple[Anchor, ...], other_certs=()):
        self._anchors = anchors
        self._by_cert: dict[str, list[Anchor]] = {}
        for anchor in anchors:
            self._by_cert.setdefault(anchor.sha256, []).append(anchor)
        self._other = [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in other_certs
        ]
        #: signer certificate SHA-256 -> SHA-256s of the anchors its paths end at
        self._roots: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def apply(
        self, report: VerificationReport, data: bytes, at: datetime | None = None
    ) -> VerificationReport:
        """The report with ``trust_anchor`` filled in and unfit anchors' signatures untrusted."""
        trusted = [s for s in report.signatures if s.trusted and s.signer_certificate_sha256]
        if not trusted:
            return report
        with self._lock:
            missing = {s.signer_certificate_sha256 or "" for s in trusted} - self._roots.keys()
        if missing:
            found = self._paths(data, missing)
            with self._lock:
                if len(self._roots) > 10_000:  # seal certificates are few; never grow unbounded
                    self._roots.clear()
                self._roots.update(found)
        when = at or report.validated_at or datetime.now(UTC)
        signatures = tuple(self._judge(s, when) for s in report.signatures)
        if signatures == report.signatures:
            return report
        if any(a.trusted != b.trusted for a, b in zip(signatures, report.signatures, strict=True)):
            verdict, reasons = _overall(list(signatures), list(report.revisions))
            return replace(report, signatures=signatures, verdict=verdict, reasons=tuple(reasons))
        return replace(report, signatures=signatures)

    def _judge(self, sig: SignatureReport, when: datetime) -> SignatureReport:
        if not sig.trusted or not sig.signer_certificate_sha256:
            return sig
        role: Literal["seal", "tsa"] = "tsa" if sig.kind == "document-timestamp" else "seal"
        candidates = [
            a for root in self._roots.get(sig.signer_certificate_sha256, ())
            for a in self._by_cert.get(root, ())
        ]
        fit = [a for a in candidates if a.serves(role) and a.active_at(when)]
        if fit:
            return replace(sig, trust_anchor=fit[0].name)
        if not candidates:
            return sig  # no path found here (pyHanko knew better): leave its word
        anchor = candidates[0]
        if not anchor.serves(role):
            why = (
                f"The seal was made by {sig.signer}, whose root {anchor.name} is trusted "
                f"for {'timestamps' if role == 'seal' else 'seals'} only."
            )
        else:
            period = anchor.status_at(when)
            state = period.status.rstrip("/").rsplit("/", 1)[-1] if period else "not listed"
            why = (
                f"The seal was made by {sig.signer} under {anchor.name}, whose trusted list "
                f"status on {when:%Y-%m-%d} is {state}."
            )
        return replace(
            sig,
            trusted=False,
            trust_anchor=None,
            problems=(*sig.problems, why),
            ades_indication="INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND",
            notes=(),
        )

    def _paths(self, data: bytes, wanted: set[str]) -> dict[str, tuple[str, ...]]:
        """Per signer certificate in ``wanted``: the anchors (SHA-256) its chains end at."""
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko_certvalidator import ValidationContext

        found: dict[str, tuple[str, ...]] = {}
        try:
            embedded = list(PdfFileReader(BytesIO(data), strict=False).embedded_signatures)
        except Exception:  # verify_pdf read it; a reader hiccup only costs the anchor's name
            return found
        roots = [
            asn1_x509.Certificate.load(a.cert.public_bytes(serialization.Encoding.DER))
            for a in self._anchors
        ]
        for sig in embedded:
            try:
                cert = sig.signer_cert
                digest = hashlib.sha256(cert.dump()).hexdigest()
                if digest not in wanted or digest in found:
                    continue
                carried = [
                    c.chosen for c in sig.signed_data["certificates"]
                    if c.name == "certificate"
                ]
                vc = ValidationContext(trust_roots=roots, other_certs=[*self._other, *carried])
                paths = _aio.run_sync(vc.path_builder.async_build_paths(cert))
                found[digest] = tuple(
                    hashlib.sha256(p.first.dump()).hexdigest() for p in paths if p.first is not None
                )
            except Exception:
                log.debug("no anchor path", exc_info=True)
        return found
