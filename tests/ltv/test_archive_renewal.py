"""Archive renewal over the registry and the object store: new versions, never overwrites."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime

import pytest

from edoc.archive import ArchiveBusy, ArchiveRenewal, RenewalSettings
from edoc.errors import ConfigurationError
from edoc.home import Home
from edoc.settings import Settings
from signing.ltv import AlgorithmSchedule, last_timestamp
from storage.registry import DocumentRecord

from .conftest import BASE_URL, DAY, PASSPHRASE, YEAR, World, hours_ago


class Archive:
    """A home whose PKI, TSA and CA live in a World, with documents registered in the past."""

    def __init__(self, root, start):
        self.world = World(root, start)
        self.home = Home.create(
            Settings(home=root, key_passphrase=PASSPHRASE.decode(), public_base_url=BASE_URL,
                     agency_id="archive-agency", agency_name_en="Archive Agency")
        )
        self.registry = self.home.registry()
        self.store = self.home.store()

    def issue(self, doc_id: str, level: str, when) -> str:
        sealed = self.world.seal(level, when)
        stored = self.store.put(sealed)
        self.registry.record_issued(
            DocumentRecord(
                id=doc_id, agency="archive-agency", template="certificate", title="Certificate",
                lang="en", sha256=stored.sha256, size=stored.size, level=level,
                holder_masked="x-xxxx-xxxxx-12-3", issued_at=when,
            )
        )
        return stored.sha256

    def renewal(self, **settings) -> ArchiveRenewal:
        world = self.world
        return ArchiveRenewal(
            registry=self.registry,
            store=self.store,
            timestamper=world.timestamper(),
            validation_context=world.validation_data(sealing=False),
            tsa_not_after=world.pki.tsa.cert.not_valid_after_utc,
            settings=RenewalSettings(**settings),
            lock_path=self.home.path / "archive-renewal.lock",
            clock=world.clock,
        )


@pytest.fixture
def archive(tmp_path, monkeypatch):
    monkeypatch.setenv("EDOC_KEY_PASSPHRASE", PASSPHRASE.decode())
    return lambda start: Archive(tmp_path / "home", start)


def test_renewal_stores_a_new_version_beside_the_old_one_and_audits_it(archive):
    start = hours_ago(7 * 365 * 24)
    a = archive(start)
    old = a.issue("doc-1", "B-LTA", start + DAY)
    renewal_day = start + 4 * YEAR + 180 * DAY
    a.world.at(renewal_day).rollover("tsa")
    summary = a.renewal().run(before=start + 5 * YEAR + DAY)
    (result,) = summary.results
    assert result.outcome == "renewed", result.reasons
    assert "expires on" in result.reasons[0]
    versions = a.registry.versions("doc-1")
    assert [(v.seq, v.kind) for v in versions] == [(1, "issued"), (2, "archive-renewal")]
    assert versions[0].sha256 == old and versions[1].sha256 == result.new_sha256
    assert a.registry.get("doc-1").sha256 == result.new_sha256
    renewed = a.store.get(result.new_sha256)
    assert renewed.startswith(a.store.get(old))  # the old object is still there, unchanged
    (entry,) = a.registry.audit.entries(event="document.archive-renewed")
    assert entry.subject == "doc-1" and entry.details["previous_sha256"] == old
    assert entry.details["version"] == 2
    assert a.world.verify(renewed, start + 6 * YEAR).verdict == "valid"
    assert a.world.verify(a.store.get(old), start + 6 * YEAR).verdict != "valid"


def test_a_second_run_finds_nothing_due(archive):
    start = hours_ago(7 * 365 * 24)
    a = archive(start)
    a.issue("doc-1", "B-LTA", start + DAY)
    renewal_day = start + 4 * YEAR + 180 * DAY
    a.world.at(renewal_day).rollover("tsa")
    before = start + 5 * YEAR + DAY
    assert a.renewal().run(before=before).count("renewed") == 1
    again = a.renewal().run(before=before)
    assert [r.outcome for r in again.results] == ["not-due"]
    assert len(a.registry.versions("doc-1")) == 2


def test_dry_run_lists_what_is_due_and_changes_nothing(archive):
    start = hours_ago(4 * 365 * 24)
    a = archive(start)
    a.issue("due", "B-T", start + DAY)  # its seal expires at 3 years, no archive timestamp
    a.world.at(start + 2 * YEAR)
    summary = a.renewal().run(before=start + 3 * YEAR + DAY, dry_run=True)
    (result,) = summary.results
    assert result.outcome == "due"
    assert "seal certificate expires" in result.reasons[0]
    assert len(a.registry.versions("due")) == 1
    assert a.registry.audit.entries(event="document.archive-renewed") == []


def test_nothing_is_due_long_before_any_certificate_expires(archive):
    start = hours_ago(48)
    a = archive(start)
    a.issue("fresh", "B-LTA", start + DAY)
    a.world.at(start + 2 * DAY)
    assert [r.outcome for r in a.renewal().run(before=start + YEAR).results] == ["not-due"]


def test_a_retired_digest_is_renewed_with_a_stronger_one(archive):
    start = hours_ago(48)
    a = archive(start)
    a.issue("doc", "B-LTA", start + DAY)
    a.world.at(start + 2 * DAY)
    retire = {"sha256": start + 200 * DAY}
    summary = a.renewal(schedule=AlgorithmSchedule(retire=retire)).run(before=start + YEAR)
    (result,) = summary.results
    assert result.outcome == "renewed"
    assert "sha256, which is retired" in result.reasons[0]
    newest = last_timestamp(a.store.get(result.new_sha256))
    assert newest.archive and newest.digest_algorithm == "sha512"


def test_one_broken_document_does_not_stop_the_run(archive):
    start = hours_ago(4 * 365 * 24)
    a = archive(start)
    a.issue("good", "B-T", start + DAY)
    a.registry.record_issued(
        DocumentRecord(
            id="lost", agency="archive-agency", template="certificate", title="Certificate",
            lang="en", sha256="0" * 64, size=10, level="B-T", holder_masked="x",
            issued_at=start + 2 * DAY,
        )
    )
    a.world.at(start + 2 * YEAR)
    summary = a.renewal().run(before=start + 3 * YEAR + DAY)
    outcomes = {r.doc_id: r.outcome for r in summary.results}
    assert outcomes == {"good": "renewed", "lost": "failed"}
    assert not summary.ok


def test_a_stop_request_ends_the_run_between_documents(archive):
    start = hours_ago(4 * 365 * 24)
    a = archive(start)
    for i in range(3):
        a.issue(f"doc-{i}", "B-T", start + DAY + i * DAY / 24)
    a.world.at(start + 2 * YEAR)
    asked = []

    def stop_after_the_first():  # asked before each document, like a SIGTERM handler's flag
        asked.append(1)
        return len(asked) > 1

    summary = a.renewal().run(before=start + 3 * YEAR + DAY, should_stop=stop_after_the_first)
    assert summary.interrupted
    assert len(summary.results) == 1 and summary.results[0].outcome == "renewed"
    # the next run picks up where this one stopped
    rest = a.renewal().run(before=start + 3 * YEAR + DAY)
    assert sorted(r.outcome for r in rest.results) == ["not-due", "renewed", "renewed"]


def test_only_one_renewal_runs_at_a_time(archive):
    a = archive(hours_ago(48))
    fd = os.open(a.home.path / "archive-renewal.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ArchiveBusy, match="another archive renewal"):
            a.renewal().run()
    finally:
        os.close(fd)


def test_renewal_refuses_to_use_a_tsa_that_expires_too_soon(archive):
    start = hours_ago(48)
    a = archive(start)
    with pytest.raises(ConfigurationError, match="rollover --role tsa"):
        a.renewal().run(before=start + 6 * YEAR)


def test_renewal_for_a_home_uses_its_own_services(archive):
    a = archive(hours_ago(48))
    renewal = ArchiveRenewal.for_home(a.home)
    summary = renewal.run()  # the default horizon: 180 days from now
    assert summary.results == ()
    assert summary.before > datetime.now(UTC) + 179 * DAY
