"""Whether a home's own trust store vouches for the documents in its registry.

Store and registry can agree perfectly while the home cannot validate a single
document it holds: restored into a home with another PKI (a backup without its
key material), or after the trust anchors were replaced. ``edoc doctor`` calls
:func:`untrusted_documents` on a sample - the oldest and the newest versions -
verified by the signature alone (the registry's word, such as a revocation, is
not the question here).
"""

from __future__ import annotations

from dataclasses import dataclass

from .verification import Verifier


@dataclass(frozen=True)
class TrustProblem:
    """A stored document version its own home does not validate."""

    doc_id: str
    seq: int
    verdict: str
    reasons: tuple[str, ...]


def sample_versions(registry, size: int) -> list:
    """Up to ``size`` versions: the first ones and the last ones in the registry's order."""
    versions = list(registry.iter_versions())
    if len(versions) <= size:
        return versions
    head = (size + 1) // 2
    return versions[:head] + versions[len(versions) - (size - head):]


def untrusted_documents(home, *, sample: int = 4) -> tuple[int, list[TrustProblem]]:
    """How many versions were verified, and those whose seal the home's trust store rejects."""
    verifier = Verifier(policy=home.trust_policy())  # signatures only: no registry status
    store = home.store()
    problems = []
    checked = sample_versions(home.registry(), sample)
    for version in checked:
        report = verifier.verify(store.get(version.sha256), name=f"{version.doc_id} v{version.seq}")
        if report.verdict != "valid":
            problems.append(TrustProblem(version.doc_id, version.seq, report.verdict, report.reasons))
    return len(checked), problems
