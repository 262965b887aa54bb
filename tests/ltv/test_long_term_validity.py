"""Documents verify for decades: archive timestamps, TSA rollover, key compromise.

Each test builds its PKI in the past and moves one clock (TSA, CA, verifier)
forward through the document's life; everything is offline.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signing.errors import SealError

from .conftest import DAY, YEAR, hours_ago


def _text(report) -> str:
    return " ".join(report.reasons)


def test_b_lta_document_is_valid_after_the_seal_certificate_expired(world_factory):
    start = hours_ago(4 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-LTA", start + DAY)
    later = start + 3 * YEAR + 30 * DAY  # seal expired after 3 years; the TSA lasts 5
    report = world.verify(sealed, later)
    assert report.verdict == "valid", report.reasons
    seal = report.signatures[0]
    assert seal.ades_indication == "TOTAL_PASSED"
    assert seal.best_signature_time is not None and seal.best_signature_time < start + 2 * DAY
    assert "expired on" in _text(report) and "archive timestamps prove" in _text(report)


def test_b_t_document_is_not_valid_after_the_seal_certificate_expired_and_says_why(
    world_factory,
):
    start = hours_ago(4 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-T", start + DAY)
    assert world.verify(sealed, start + 2 * DAY).verdict == "valid"
    report = world.verify(sealed, start + 3 * YEAR + 30 * DAY)
    assert report.verdict == "indeterminate"
    assert report.signatures[0].ades_indication == "INDETERMINATE/OUT_OF_BOUNDS_NO_POE"
    assert "Electronic Seal expired on" in _text(report)
    assert "no valid archive timestamp" in _text(report)


def test_b_lt_alone_does_not_survive_the_seal_certificate(world_factory):
    start = hours_ago(4 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-LT", start + DAY)
    assert world.verify(sealed, start + 2 * DAY).verdict == "valid"
    report = world.verify(sealed, start + 3 * YEAR + 30 * DAY)
    assert report.verdict == "indeterminate"
    assert report.signatures[0].ades_indication.startswith("INDETERMINATE/")


def test_renewal_with_a_new_tsa_keeps_the_document_valid_after_the_old_tsa_expired(
    world_factory,
):
    start = hours_ago(7 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-LTA", start + DAY)
    renewal_day = start + 4 * YEAR + 180 * DAY  # the first TSA certificate expires at 5 years
    world.at(renewal_day).rollover("tsa")
    renewed = world.renew(sealed, renewal_day)
    assert renewed.startswith(sealed)  # an incremental update: the original bytes are untouched
    after_tsa_expiry = start + 6 * YEAR
    report = world.verify(renewed, after_tsa_expiry)
    assert report.verdict == "valid", report.reasons
    assert [s.kind for s in report.signatures] == [
        "signature", "document-timestamp", "document-timestamp",
    ]
    assert report.signatures[0].ades_indication == "TOTAL_PASSED"


def test_without_renewal_the_document_is_not_valid_after_its_tsa_expired(world_factory):
    start = hours_ago(7 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-LTA", start + DAY)
    world.at(start + 4 * YEAR + 180 * DAY).rollover("tsa")
    report = world.verify(sealed, start + 6 * YEAR)
    assert report.verdict == "indeterminate"
    assert report.signatures[0].ades_indication.startswith("INDETERMINATE/")
    assert "expired on" in _text(report)


def test_renewal_after_the_seal_expired_cannot_rescue_a_b_t_document(world_factory):
    start = hours_ago(7 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-T", start + DAY)
    late = world.renew(sealed, start + 4 * YEAR)  # the seal expired a year before
    report = world.verify(late, start + 4 * YEAR + DAY)
    assert report.verdict == "indeterminate"
    assert "came too late" in _text(report)


def test_renewal_before_the_seal_expired_makes_a_b_t_document_long_lived(world_factory):
    start = hours_ago(7 * 365 * 24)
    world = world_factory(start)
    sealed = world.seal("B-T", start + DAY)
    renewed = world.renew(sealed, start + 2 * YEAR)
    assert world.verify(renewed, start + 4 * YEAR).verdict == "valid"


@pytest.fixture
def compromise(world_factory):
    """A seal key compromised at T: one document sealed the day before, one the day after,
    and the compromise found and the certificate revoked (back to T) two days after."""
    start = hours_ago(30 * 24)
    world = world_factory(start)
    t = start + 10 * DAY
    before = world.seal("B-LT", t - DAY)
    after = world.seal("B-LT", t + DAY)
    world.at(t + 2 * DAY)
    world.revocation.revoke(world.pki.seal.cert, reason="key-compromise", at=t)
    return world, t, before, after


def test_document_sealed_before_a_key_compromise_stays_valid(compromise):
    world, t, before, _ = compromise
    report = world.verify(before, t + 3 * DAY)
    assert report.verdict == "valid", report.reasons
    seal = report.signatures[0]
    assert seal.ades_indication == "TOTAL_PASSED"
    assert seal.revoked and seal.revocation_reason == "key_compromise"
    assert seal.revoked_at == t
    assert "was revoked on" in _text(report) and "before then" in _text(report)


def test_document_sealed_after_a_key_compromise_is_invalid(compromise):
    world, t, _, after = compromise
    report = world.verify(after, t + 3 * DAY)
    assert report.verdict == "invalid"
    assert report.signatures[0].ades_indication == "TOTAL_FAILED/REVOKED"
    assert "its key was compromised" in _text(report)
    assert "sealed after that" in _text(report)


def test_sealing_with_a_revoked_key_is_refused(compromise):
    world, t, _, _ = compromise
    with pytest.raises(SealError):
        world.seal("B-LT", t + 3 * DAY)


def test_a_new_seal_key_does_not_break_earlier_documents(world_factory):
    start = hours_ago(48)
    world = world_factory(start)
    first = world.seal("B-LT", start + DAY)
    old_cert = world.pki.seal.cert
    world.rollover("seal")
    second = world.seal("B-LT", start + DAY + DAY / 24)
    now = datetime.now(UTC)
    one, two = world.verify(first, now), world.verify(second, now)
    assert one.verdict == two.verdict == "valid"
    assert one.signatures[0].signer_certificate_sha256 != two.signatures[0].signer_certificate_sha256
    # retiring the old key (superseded) later does not touch what it sealed before
    world.revocation.revoke(old_cert, reason="superseded")
    assert world.verify(first, now).verdict == "valid"


def test_validation_at_an_earlier_date_uses_what_is_known_now(compromise):
    world, t, before, after = compromise
    # The revocation was recorded at T+2 days, back to T. Asked about T+1.5 days, the
    # verifier still applies it: the second document was never a genuine seal.
    assert world.verify(after, t + DAY + DAY / 2).verdict == "invalid"
    assert world.verify(before, t + DAY + DAY / 2).verdict == "valid"
