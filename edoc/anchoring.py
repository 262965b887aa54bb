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
        #: TSA certificate SHA-256 -> the same, for seals' signature timestamps
        self._tsa_cache: dict[str, tuple[str, ...]] = {}
        # only anchors trusted for one purpose, or by a trusted list, need the TSA's path
        self._restricted = any(a.purpose != "any" or a.history for a in anchors)
        self._asn1_roots = [
            asn1_x509.Certificate.load(a.cert.public_bytes(serialization.Encoding.DER))
            for a in anchors
        ]
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
        if self._restricted and any(s.timestamp and s.timestamp.trusted for s in signatures):
            tsa_roots = self._timestamp_roots(data)
            signatures = tuple(self._judge_timestamp(s, tsa_roots, when) for s in signatures)
        if signatures == report.signatures:
            return report
        if any(a.problems != b.problems for a, b in zip(signatures, report.signatures, strict=True)):
            verdict, reasons = _overall(list(signatures), list(report.revisions))
            return replace(report, signatures=signatures, verdict=verdict, reasons=tuple(reasons))
        return replace(report, signatures=signatures)

    def _fit(self, roots: tuple[str, ...], role: Literal["seal", "tsa"], when: datetime):
        """(anchors the roots are, those fit to vouch for ``role`` at ``when``)."""
        candidates = [a for root in roots for a in self._by_cert.get(root, ())]
        return candidates, [a for a in candidates if a.serves(role) and a.active_at(when)]

    def _judge_timestamp(self, sig: SignatureReport, tsa_roots, when: datetime) -> SignatureReport:
        """A seal's signature timestamp must come from a TSA under an anchor for timestamps."""
        ts = sig.timestamp
        if sig.kind != "signature" or ts is None or not ts.trusted:
            return sig
        candidates, fit = self._fit(tsa_roots.get(sig.field_name, ()), "tsa", when)
        if fit or not candidates:
            return sig
        why = (
            f"The timestamp on the seal comes from {ts.tsa}, whose root {candidates[0].name} "
            "is not trusted for timestamps."
        )
        return replace(sig, timestamp=replace(ts, trusted=False), problems=(*sig.problems, why),
                       notes=())

    def _judge(self, sig: SignatureReport, when: datetime) -> SignatureReport:
        if not sig.trusted or not sig.signer_certificate_sha256:
            return sig
        role: Literal["seal", "tsa"] = "tsa" if sig.kind == "document-timestamp" else "seal"
        candidates, fit = self._fit(self._roots.get(sig.signer_certificate_sha256, ()), role, when)
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

    def _roots_of(self, cert, carried) -> tuple[str, ...]:
        """SHA-256s of the anchors the paths of ``cert`` end at (``carried``: its CMS's certs)."""
        from pyhanko_certvalidator import ValidationContext

        vc = ValidationContext(trust_roots=self._asn1_roots, other_certs=[*self._other, *carried])
        paths = _aio.run_sync(vc.path_builder.async_build_paths(cert))
        return tuple(hashlib.sha256(p.first.dump()).hexdigest() for p in paths if p.first is not None)

    @staticmethod
    def _embedded(data: bytes) -> list:
        from pyhanko.pdf_utils.reader import PdfFileReader

        try:
            return list(PdfFileReader(BytesIO(data), strict=False).embedded_signatures)
        except Exception:  # verify_pdf read it; a reader hiccup only costs the anchor's name
            return []

    def _paths(self, data: bytes, wanted: set[str]) -> dict[str, tuple[str, ...]]:
        """Per signer certificate in ``wanted``: the anchors (SHA-256) its chains end at."""
        found: dict[str, tuple[str, ...]] = {}
        for sig in self._embedded(data):
            try:
                cert = sig.signer_cert
                digest = hashlib.sha256(cert.dump()).hexdigest()
                if digest not in wanted or digest in found:
                    continue
                carried = [
                    c.chosen for c in sig.signed_data["certificates"] if c.name == "certificate"
                ]
                found[digest] = self._roots_of(cert, carried)
            except Exception:
                log.debug("no anchor path", exc_info=True)
        return found

    def _timestamp_roots(self, data: bytes) -> dict[str, tuple[str, ...]]:
        """Per seal field: the anchors its signature timestamp's TSA chains end at."""
        from pyhanko.sign.validation.generic_cms import (
            extract_certs_for_validation,
            extract_tst_data_iter,
        )

        found: dict[str, tuple[str, ...]] = {}
        for sig in self._embedded(data):
            if sig.sig_object_type == "/DocTimeStamp":
                continue
            try:
                for tst in extract_tst_data_iter(sig.signer_info, signed=False):
                    certs = extract_certs_for_validation(tst)
                    digest = hashlib.sha256(certs.signer_cert.dump()).hexdigest()
                    with self._lock:
                        roots = self._tsa_cache.get(digest)
                    if roots is None:
                        roots = self._roots_of(certs.signer_cert, certs.other_certs)
                        with self._lock:
                            if len(self._tsa_cache) > 1_000:
                                self._tsa_cache.clear()
                            self._tsa_cache[digest] = roots
                    found[str(sig.field_name)] = roots
            except Exception:
                log.debug("no TSA anchor path", exc_info=True)
        return found
