"""The audit trail's proofs: anchoring its head with our TSA, and signed exports.

An anchor is an RFC 3161 token over the chain's head hash: whoever rewrites the
log after that can no longer produce a chain whose head at that position
matches a token they cannot forge. A signed export is the log as JSON lines
plus a detached CAdES signature by the agency seal (with a signature
timestamp), which an external auditor checks with pyHanko or
``openssl cms -verify``.

>>> anchor_audit(home.registry().audit, home.timestamper())  # doctest: +SKIP
>>> data, signature = signed_export(home.registry().audit, signer=home.seal_signer,
...                                 timestamper=home.timestamper())  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from pyhanko.sign.signers import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import async_validate_detached_cms

from signing.timestamps import timestamp_digest
from signing.validate import TrustPolicy
from storage.audit import AuditAnchor, AuditLog, ChainReport, verify_export

log = logging.getLogger(__name__)


def anchor_audit(audit: AuditLog, timestamper: TimeStamper) -> AuditAnchor | None:
    """Timestamp the current head; None when nothing was appended since the last anchor."""
    anchors = audit.anchors()
    seq, _ = audit.head()
    if seq == 0 or (anchors and anchors[-1].seq == seq):
        return None
    return audit.anchor(lambda digest: timestamp_digest(timestamper, digest, "sha256"))


def signed_export(audit: AuditLog, *, signer: Signer, timestamper: TimeStamper) -> tuple[bytes, bytes]:
    """The export (JSON lines) and its detached CMS signature (DER) by the agency seal."""
    buf = io.BytesIO()
    audit.export(buf)
    data = buf.getvalue()
    signature = asyncio.run(
        signer.async_sign_general_data(
            data, "sha256", detached=True, use_cades=True, timestamper=timestamper
        )
    )
    return data, signature.dump()


@dataclass(frozen=True)
class ExportCheck:
    """What an auditor learns from a signed export."""

    signature_valid: bool
    """The seal over the export is intact, valid and trusted."""
    signer: str | None
    signed_at: datetime | None
    """Time of the signature timestamp, if any."""
    chain: ChainReport
    """The hash chain recomputed from the exported entries."""

    @property
    def ok(self) -> bool:
        """Both the signature and the chain check out."""
        return self.signature_valid and self.chain.ok


def check_signed_export(data: bytes, signature: bytes, *, policy: TrustPolicy) -> ExportCheck:
    """Verify the seal over an export and recompute its chain; never raises for bad input."""
    signer = signed_at = None
    valid = False
    try:
        signed = cms.ContentInfo.load(signature)["content"]
        vc = policy.validation_context()
        status = asyncio.run(
            async_validate_detached_cms(
                data, signed, signer_validation_context=vc, ts_validation_context=vc
            )
        )
        valid = bool(status.intact and status.valid and status.trusted)
        signer = status.signing_cert.subject.human_friendly if status.signing_cert else None
        if status.timestamp_validity is not None:
            signed_at = status.timestamp_validity.timestamp
    except Exception as exc:  # garbage signature files are a verdict, not a crash
        log.info("audit export signature unreadable: %r", exc)
    try:
        chain = verify_export(io.BytesIO(data))
    except Exception as exc:
        chain = ChainReport(
            ok=False, checked=0, first_broken_seq=None, reason=f"unreadable export: {exc}",
            head_seq=0, head_hash="",
        )
    return ExportCheck(valid, signer, signed_at, chain)


class AuditAnchorer:
    """Anchors the audit head every ``interval`` seconds in a daemon thread (for ``edoc serve``)."""

    def __init__(self, audit: AuditLog, timestamper: TimeStamper, *, interval: float, registry=None):
        self._audit, self._timestamper, self._interval = audit, timestamper, interval
        self._registry = registry  # with it, also checkpoint every agency's chain (edoc/agencies/audit.py)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)

    def start(self) -> AuditAnchorer:
        """Start anchoring in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                anchor_audit(self._audit, self._timestamper)
                if self._registry is not None:
                    from .agencies.audit import checkpoint

                    checkpoint(self._registry, self._timestamper)
            except Exception:  # keep anchoring later; the log itself is unaffected
                log.exception("could not anchor the audit log")
