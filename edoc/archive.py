"""Archive renewal: keep every stored document provable after its certificates expire.

A document stays verifiable for decades through its chain of archive (document)
timestamps: before the newest one's TSA certificate expires, or its digest is
retired, or a seal without any archive timestamp loses its certificate, a new
timestamp with fresh validation data must be added. :class:`ArchiveRenewal`
finds those documents and renews them, storing each result as a new version
beside the old one (content-addressed: nothing is ever overwritten) and
recording it in the audit trail.

It is safe to run from cron and to interrupt: one run at a time per home (a
lock file), each document is renewed on its own (object first, then the
version row and its audit entry in one transaction), and a document whose
current version changed meanwhile is left for the next run.

>>> renewal = ArchiveRenewal.for_home(home)  # doctest: +SKIP
>>> summary = renewal.run(before=datetime(2031, 1, 1, tzinfo=UTC))  # doctest: +SKIP
>>> summary.count("renewed")  # doctest: +SKIP
12
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from signing.errors import SigningError
from signing.ltv import AlgorithmSchedule, renew_pdf, renewal_reasons
from storage.audit import AuditEvent
from storage.errors import Conflict, StorageError

from .errors import ConfigurationError, EdocError
from .sealbindings import bindings_of

log = logging.getLogger(__name__)

Outcome = Literal["renewed", "due", "not-due", "changed", "failed"]


class ArchiveBusy(EdocError):
    """Another archive renewal is running on this home."""

    kind = "archive-busy"
    http_status = 409


@dataclass(frozen=True)
class RenewalSettings:
    """What archive renewal looks for and how it timestamps."""

    horizon: timedelta = timedelta(days=180)
    """Without ``--before``: renew what would stop being provable within this time."""
    digest_algorithm: str = "sha256"
    """Digest of new archive timestamps (a stronger one when the schedule retires it)."""
    schedule: AlgorithmSchedule = field(default_factory=AlgorithmSchedule)
    """Digest algorithms scheduled to be retired."""
    page_size: int = 200
    """Registry rows read per query."""


@dataclass(frozen=True)
class RenewalResult:
    """What happened to one document."""

    doc_id: str
    outcome: Outcome
    """``renewed``; ``due`` (dry run); ``not-due``; ``changed`` (renewed meanwhile); ``failed``."""
    reasons: tuple[str, ...] = ()
    """Why it was due, in plain words (or why it failed)."""
    old_sha256: str | None = None
    new_sha256: str | None = None
    version: int | None = None
    """The new version's number."""
    seconds: float = 0.0
    """Time spent on this document."""


@dataclass(frozen=True)
class RenewalSummary:
    """A run's results, document by document."""

    before: datetime
    results: tuple[RenewalResult, ...]
    interrupted: bool = False
    """The run was asked to stop before it went through every document."""

    def count(self, outcome: Outcome) -> int:
        """How many documents had this outcome."""
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def ok(self) -> bool:
        """No document failed."""
        return self.count("failed") == 0


class ArchiveRenewal:
    """Renews the archive timestamps of the registry's documents; see the module docstring."""

    def __init__(
        self,
        *,
        registry,
        store,
        timestamper: TimeStamper,
        validation_context: Callable[[], ValidationContext],
        tsa_not_after: datetime | None = None,
        settings: RenewalSettings = RenewalSettings(),
        lock_path: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        actor: str = "system:archive-renewal",
    ):
        self._registry = registry
        self._store = store
        self._timestamper = timestamper
        self._validation_context = validation_context
        self._tsa_not_after = tsa_not_after
        self.settings = settings
        self._lock_path = lock_path
        self._clock = clock
        self._actor = actor

    @classmethod
    def for_home(cls, home, *, settings: RenewalSettings = RenewalSettings()) -> ArchiveRenewal:
        """Renewal with the home's registry, object store, TSA and revocation data."""
        data = home.validation_data()
        if data is None:
            # an imported seal: its CA's revocation data comes from the network
            from dataclasses import replace

            context = replace(home.trust_policy(), allow_fetching=True).validation_context
        else:
            context = data
        tsa = home.pki.tsa
        return cls(
            registry=home.registry(),
            store=home.store(),
            timestamper=home.timestamper(),
            validation_context=context,
            tsa_not_after=tsa.cert.not_valid_after_utc if tsa and not home.settings.tsa_url else None,
            settings=settings,
            lock_path=home.path / "archive-renewal.lock",
        )

    def run(
        self,
        *,
        before: datetime | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> RenewalSummary:
        """Renew every document that needs it before ``before`` (default: now + horizon)."""
        now = self._clock()
        before = before or now + self.settings.horizon
        if before.tzinfo is None:
            raise ValueError("before must be timezone-aware")
        if not dry_run and self._tsa_not_after is not None and self._tsa_not_after <= before:
            raise ConfigurationError(
                f"the TSA certificate itself expires on {self._tsa_not_after:%Y-%m-%d}, before "
                f"{before:%Y-%m-%d}: roll the TSA key over first (edoc keys rollover --role tsa)"
            )
        results: list[RenewalResult] = []
        interrupted = False
        with self._exclusive():
            for record in self._documents():
                if should_stop() or (limit is not None and self._acted(results) >= limit):
                    interrupted = should_stop()
                    break
                results.append(self.renew(record, before=before, dry_run=dry_run))
        return RenewalSummary(before=before, results=tuple(results), interrupted=interrupted)

    def renew(self, record, *, before: datetime, dry_run: bool = False) -> RenewalResult:
        """Renew one registered document if it needs it before ``before``."""
        started = time.perf_counter()
        old = record.sha256
        try:
            pdf = self._store.get(old)
            reasons = renewal_reasons(pdf, before=before, schedule=self.settings.schedule)
            if not reasons:
                return RenewalResult(record.id, "not-due", old_sha256=old)
            if dry_run:
                return RenewalResult(record.id, "due", reasons, old_sha256=old)
            digest = self.settings.schedule.digest_for(self.settings.digest_algorithm, before)
            renewed = renew_pdf(
                pdf,
                timestamper=self._timestamper,
                validation_context=self._validation_context(),
                digest_algorithm=digest,
            )
            stored = self._store.put(renewed)  # the object first, as issuance does
            try:
                # the version, the move of the current PDF and the audit entry commit
                # together, and only if nobody renewed this document meanwhile
                version = self._registry.add_version(
                    record.id, sha256=stored.sha256, size=stored.size, kind="archive-renewal",
                    at=self._clock(), expected_sha256=old, bindings=bindings_of(renewed),
                    audit=AuditEvent(
                        "document.archive-renewed",
                        actor=self._actor,
                        agency=record.agency,
                        subject=record.id,
                        details={
                            "previous_sha256": old,
                            "sha256": stored.sha256,
                            "digest_algorithm": digest,
                            "reasons": list(reasons),
                        },
                    ),
                )
            except Conflict:
                # another run renewed it meanwhile; ours stays an orphan object
                return RenewalResult(record.id, "changed", reasons, old_sha256=old)
        except (SigningError, EdocError, StorageError, ValueError) as exc:
            # one bad document (unreadable, object missing, TSA refusal) must not stop the run
            log.warning("archive renewal of %s failed: %s", record.id, exc)
            text = exc.diagnostics() if hasattr(exc, "diagnostics") else str(exc)
            return RenewalResult(record.id, "failed", (text,), old_sha256=old)
        return RenewalResult(
            record.id,
            "renewed",
            reasons,
            old_sha256=old,
            new_sha256=stored.sha256,
            version=version.seq,
            seconds=time.perf_counter() - started,
        )

    def _documents(self) -> Iterator:
        after = None
        while True:
            page = self._registry.list_documents(limit=self.settings.page_size, after=after)
            yield from page
            if len(page) < self.settings.page_size:
                return
            after = page[-1].id

    @staticmethod
    def _acted(results: list[RenewalResult]) -> int:
        return sum(1 for r in results if r.outcome in ("renewed", "due", "failed"))

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._lock_path is None:
            yield
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ArchiveBusy(
                    "another archive renewal is running on this home; try again later"
                ) from exc
            yield
        finally:
            os.close(fd)


__all__ = [
    "ArchiveBusy",
    "ArchiveRenewal",
    "RenewalResult",
    "RenewalSettings",
    "RenewalSummary",
]
