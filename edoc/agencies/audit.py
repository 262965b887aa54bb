"""Platform checkpoints: every agency's audit chain head, timestamped by the TSA together.

>>> checkpoint(home.registry(), home.timestamper())  # doctest: +SKIP
>>> home.registry().agency_audit.verify("dopa", check_token=token_checker(home.trust_policy()))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

from asn1crypto import cms
from pyhanko.sign.timestamps import TimeStamper

from signing.timestamps import timestamp_digest
from signing.validate import TrustPolicy
from storage.agency_audit import Checkpoint

from ..errors import EdocError


class CheckpointInvalid(EdocError):
    """A checkpoint's TSA token does not timestamp what the checkpoint says."""

    kind = "checkpoint-invalid"


def checkpoint(registry, timestamper: TimeStamper) -> Checkpoint | None:
    """Checkpoint every chain now; None when nothing was appended since the last checkpoint."""
    seq, _ = registry.audit.head()
    known = registry.agency_audit.checkpoints()
    if seq == 0 or (known and known[-1].seq == seq):
        return None
    return registry.agency_audit.checkpoint(lambda digest: timestamp_digest(timestamper, digest, "sha256"))


def token_checker(policy: TrustPolicy) -> Callable[[Checkpoint], None]:
    """A check that a checkpoint's token is a valid, trusted TSA token over its digest."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

    def check(cp: Checkpoint) -> None:
        try:
            signed = cms.ContentInfo.load(cp.token)["content"]
            status = asyncio.run(validate_tst_signed_data(
                signed, policy.validation_context(),
                lambda algorithm: hashlib.new(algorithm, cp.canonical_body).digest()))
        except Exception as exc:  # an unreadable token is a broken checkpoint, not a crash
            raise CheckpointInvalid(f"checkpoint {cp.id}: unreadable timestamp token ({exc})") from exc
        trusted = status.get("validation_path") is not None and status.get("trust_problem_indic") is None
        if not (status.get("intact") and status.get("valid") and trusted):
            raise CheckpointInvalid(f"checkpoint {cp.id}: its timestamp token does not cover its heads, "
                                    "or is not by a trusted TSA")

    return check
