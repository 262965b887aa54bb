"""Verification of documents: signatures, trust and the registry's word together.

The registry's record of a file is found from what its seals sign, never from
unsigned metadata (issue 17): the digest of each seal's signed bytes
(:mod:`edoc.sealbindings`), or a registered version being the file's first
bytes (any update appended to it leaves that prefix as it was). A file whose
signed revision is a registered document always gets that document's status,
however its ``/Info`` or ``/Keywords`` were changed afterwards, and a later
update is said in plain words. A genuine seal the registry has no record of is
``indeterminate`` ("sealed, but not on record"), never a plain ``valid``.

Every verification runs under :class:`~edoc.budgets.VerifyBudgets`: a file
over one is "too complex to verify" (``indeterminate``), not minutes of CPU.

>>> verifier = Verifier.for_home(home)  # doctest: +SKIP
>>> verifier.verify(pdf_bytes, name="certificate.pdf").verdict  # doctest: +SKIP
'valid'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from signing.bindings import SignedRevision, signed_revisions
from signing.report import RegistryStatus, VerificationReport
from signing.validate import TrustPolicy, verify_pdf

from .budgets import DEFAULT_BUDGETS, Exceeded, OutOfTime, VerifyBudgets, cpu_limit, prescan
from .revocation_reasons import label as revocation_label

# Verification is fast with the string readers (signing/_pdfread.py) and name
# comparison (signing/_names.py) that edoc.compat.install() puts into pyHanko and
# asn1crypto at start-up; importing this module installs nothing.

#: where a revision may end: ``%%EOF`` and the end of line after it (a registered file's last bytes)
_EOF = re.compile(rb"%%EOF(?:\r\n|\r|\n)?")


@dataclass(frozen=True)
class Examined:
    """What a file says on its own: the report without the registry, and what its seals sign."""

    report: VerificationReport
    revisions: tuple[SignedRevision, ...] = ()
    """The file's signatures by the digest of their signed bytes."""
    prefixes: tuple[str, ...] = ()
    """SHA-256 of the file up to each of its first revision ends (a registered version may be one)."""


def examine(
    data: bytes,
    *,
    policy: TrustPolicy,
    budgets: VerifyBudgets = DEFAULT_BUDGETS,
    name: str | None = None,
    at: datetime | None = None,
    password: str | None = None,
) -> Examined:
    """Verify ``data`` within ``budgets``, without the registry; never raises for bad input.

    This is the CPU-heavy part: the service runs it in a worker process
    (:mod:`edoc.verifypool`), the CLI in its own.
    """
    prefixes = revision_prefixes(data, limit=budgets.revisions)
    exceeded = prescan(data, budgets)
    if exceeded is not None:
        return Examined(too_complex(data, name, exceeded, at), (), prefixes)
    try:
        with cpu_limit(budgets.cpu_seconds):
            report = verify_pdf(data, policy=policy, name=name, at=at, password=password)
            revisions = signed_revisions(data) if report.signatures else ()
    except OutOfTime:
        spent = Exceeded("cpu_seconds", budgets.cpu_seconds, f"more than {budgets.cpu_seconds:g}")
        return Examined(too_complex(data, name, spent, at), (), prefixes)
    return Examined(report, revisions, prefixes)


def too_complex(
    data: bytes, name: str | None, exceeded: Exceeded, at: datetime | None = None
) -> VerificationReport:
    """The report for a file over a budget: ``indeterminate``, and which budget."""
    return VerificationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        verdict="indeterminate",
        reasons=(exceeded.sentence(),),
        validated_at=(at or datetime.now(UTC)).astimezone(UTC),
        details={"too_complex": {"budget": exceeded.budget, "limit": exceeded.limit,
                                 "found": exceeded.found}},
    )


def revision_prefixes(data: bytes, *, limit: int) -> tuple[str, ...]:
    """SHA-256 of ``data`` up to each of its first ``limit`` ``%%EOF`` markers (with and without EOL).

    A registered file, with any update appended, still starts with all its own
    bytes, and its own markers come before anything appended.
    """
    digest = hashlib.sha256()
    done, found = 0, []
    view = memoryview(data)
    for i, match in enumerate(_EOF.finditer(data)):
        if i >= limit:
            break
        marker_end = match.start() + 5
        digest.update(view[done:marker_end])
        done = marker_end
        found.append(digest.hexdigest())
        if match.end() > marker_end:
            with_eol = digest.copy()
            with_eol.update(view[marker_end:match.end()])
            found.append(with_eol.hexdigest())
    return tuple(found)


class Verifier:
    """Checks uploaded files against a trust policy and, when given, the registry."""

    def __init__(self, *, policy: TrustPolicy, registry=None,
                 budgets: VerifyBudgets = DEFAULT_BUDGETS, anchors=None, remote=None,
                 own_base: str | None = None, own_anchors: frozenset[str] = frozenset()):
        self._policy = policy
        self._own_anchors = own_anchors  # names of the home's own roots in the trust store
        self._registry = registry
        self.budgets = budgets
        self._anchors = anchors  # edoc.anchoring.AnchorCheck: names each seal's anchor
        self._remote = remote  # edoc.remote_status.RemoteStatus: allow-listed deployments
        self._own_base = own_base

    @classmethod
    def for_home(cls, home) -> Verifier:
        """A verifier trusting the home's anchors, within its budgets, consulting its registry."""
        registry = None
        opener = getattr(home, "registry", None)
        if callable(opener):
            registry = opener()
        settings = getattr(home, "settings", None)
        budgets = VerifyBudgets.from_settings(settings) if settings is not None else VerifyBudgets()
        policy = home.trust_policy()
        anchors = remote = own_base = None
        own_anchors: frozenset[str] = frozenset()
        if callable(getattr(home, "trust_store", None)):
            from .anchoring import AnchorCheck
            from .remote_status import RemoteStatus

            store = home.trust_store()
            # trusted-list services granted at some time: AnchorCheck holds them to the time
            listed = tuple(c for c in store.certificates(any_time=True)
                           if c not in policy.trust_anchors)
            policy = replace(policy, trust_anchors=(*policy.trust_anchors, *listed))
            anchors = AnchorCheck(store.anchors(), policy.other_certs)
            own_anchors = frozenset(a.name for a in store.anchors() if a.source == "pki/trust")
            allow = home.settings.remote_status_allow
            remote = RemoteStatus(allow) if allow else None
            own_base = home.settings.public_base_url
        return cls(policy=policy, registry=registry, budgets=budgets, anchors=anchors,
                   remote=remote, own_base=own_base, own_anchors=own_anchors)

    def trusting(self, anchors) -> Verifier:
        """This verifier with a relying party's own trust anchors added (``--trust``)."""
        return Verifier(policy=self._policy.trusting(*anchors), registry=self._registry,
                        budgets=self.budgets, anchors=self._anchors, remote=self._remote,
                        own_base=self._own_base, own_anchors=self._own_anchors)

    def verify(
        self,
        data: bytes,
        *,
        name: str | None = None,
        at: datetime | None = None,
        password: str | None = None,
    ) -> VerificationReport:
        """The full verification report for one file, in this process; never raises for bad input."""
        examined = examine(data, policy=self._policy, budgets=self.budgets, name=name, at=at,
                           password=password)
        return self.judge(examined, data, at=at)

    def judge(
        self, examined: Examined, data: bytes | None = None, *, at: datetime | None = None
    ) -> VerificationReport:
        """The report with the trust anchors named and the registry's word on the document.

        ``examined`` comes from :func:`examine` (here or in a worker process); ``data``
        (the same file) lets this step name each seal's anchor and, for a document our
        registry has no record of, ask an allow-listed issuing deployment.
        """
        report = examined.report
        if self._anchors is not None and data is not None:
            report = self._anchors.apply(report, data, at)
        if self._registry is None:
            return report
        record = self._record_for(examined)
        if record is None:
            return self._not_on_record(report, data)
        judged = report.with_registry(self._status(record))
        if not self._is_file_on_record(report.sha256, record.id):
            judged = replace(judged, reasons=(
                *judged.reasons,
                f"This file is not the exact file on record for document {record.id}: it was "
                "updated after the issuing agency sealed it.",
            ))
        return judged

    def _not_on_record(self, report: VerificationReport, data: bytes | None) -> VerificationReport:
        """No record here. Sealed by one of this platform's own seals: "genuine, not on record"
        (never a plain valid). Sealed under another trusted anchor: issued elsewhere, whose
        registry is asked when it is on the allow-list (:mod:`edoc.remote_status`)."""
        if (self._anchors is None or data is None or report.verdict != "valid"
                or self._sealed_here(report)):
            return _not_on_record(report)
        from .remote_status import issued_elsewhere

        unknown = replace(report, registry=RegistryStatus(status="unknown"))
        return issued_elsewhere(unknown, data, remote=self._remote, own_base=self._own_base)

    def _sealed_here(self, report: VerificationReport) -> bool:
        """Whether a trusted seal of the report chains to this home's own root (pki/trust)."""
        return any(s.kind == "signature" and s.trusted and s.trust_anchor in self._own_anchors
                   for s in report.signatures)

    def _record_for(self, examined: Examined):
        """The registered document the file's signed bytes belong to (a revoked one first)."""
        ids: list[str] = []
        bound = self._registry.find_bound(r.signed_sha256 for r in examined.revisions)
        ids += [b.doc_id for b in bound]
        ids += [v.doc_id for v in self._registry.find_versions(examined.prefixes)]
        records = [self._registry.get(doc_id) for doc_id in dict.fromkeys(ids)]
        if not records:
            return None
        revoked = [r for r in records if r.status == "revoked"]
        return (revoked or records)[0]

    def _is_file_on_record(self, sha256: str, doc_id: str) -> bool:
        version = self._registry.find_version(sha256)
        return version is not None and version.doc_id == doc_id

    def registry_status(self, sha256: str) -> RegistryStatus:
        """What the registry records for the document with this exact file digest."""
        record = self._registry.find_by_sha256(sha256)
        if record is None:
            return RegistryStatus(status="not-on-record")
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
            # citizens see the fixed category, never the officer's words (issue 17, finding 9)
            revocation_reason=revocation_label(record.revocation_category, "en"),
            template=record.template,
        )


def _not_on_record(report: VerificationReport) -> VerificationReport:
    """A file the registry has no record of: a genuine seal is "sealed, not on record"."""
    status = RegistryStatus(status="not-on-record")
    if not report.signatures:
        return report
    if report.verdict != "valid":
        return replace(report, registry=status)
    signer = next((s.signer for s in report.signatures if s.kind == "signature" and s.signer), None)
    reasons = report.reasons
    if "issuing_registry" not in report.details:  # issued elsewhere: remote_status said why
        reasons = (
            *reasons,
            f"The seal of {signer or 'the issuing agency'} is genuine, but this document is not on "
            "record in the issuing registry, so nobody can confirm that it was not revoked.",
        )
    return replace(
        report,
        verdict="indeterminate",
        registry=status,
        reasons=reasons,
        details={**report.details, "sealed_but_not_on_record": True},
    )
