"""The validation clock (signing/_ades.py): without it pyHanko validates "at" a time with today's proofs.

A correctness patch: pyhanko_certvalidator's proof-of-existence registry and the
start of its time-sliding (the control time) read the wall clock, so a
validation "at" T slides from today and dates the verifier's proofs today. With
the clock installed both are T; the stock library's are today's (that test fails
when a pyhanko-certvalidator release makes the patch unneeded).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ades
from pyhanko_certvalidator.ltv import ades_past, poe

from edoc import compat
from signing import _ades
from signing._aio import run_sync
from signing.ltv import ades_validate

from .conftest import DAY, YEAR, hours_ago

LIFE = 3 * YEAR + 30 * DAY  # from the PKI's creation to the validation: the seal expired


def _lta_indication(world, sealed: bytes, at) -> str:
    """pyHanko's own long-term validation of the seal, at ``at`` (None: now), as edoc asks for it."""
    sig = PdfFileReader(BytesIO(sealed), strict=False).embedded_signatures[0]
    spec = _ades.validation_spec(world.policy(), at=at)
    token = _ades._VALIDATION_NOW.set(at)
    try:
        result = run_sync(ades.ades_lta_validation(sig, spec, timing_info=_ades.timing(at)))
    finally:
        _ades._VALIDATION_NOW.reset(token)
    return result.ades_subindic.name


@pytest.fixture
def past_life(world_factory):
    """A B-LT document whose seal expired, and a validation time 60 days back: (world, doc, at)."""
    start = hours_ago(LIFE.total_seconds() / 3600 + 60 * 24)
    world = world_factory(start)
    return world, world.seal("B-LT", start + DAY / 24), start + LIFE


@pytest.fixture
def clock_readings(monkeypatch):
    """Where pyHanko's time-sliding starts, and the times of the proofs of existence it registers."""
    seen: dict[str, list] = {"control": [], "poe": []}
    time_slide, register = ades_past.time_slide, poe.POEManager.register_known_poe

    async def spy_time_slide(*args, **kwargs):
        seen["control"].append(kwargs["init_control_time"])
        return await time_slide(*args, **kwargs)

    def spy_register(self, known_poe):
        seen["poe"].append(known_poe.poe_time)
        return register(self, known_poe)

    monkeypatch.setattr(ades_past, "time_slide", spy_time_slide)
    monkeypatch.setattr(poe.POEManager, "register_known_poe", spy_register)
    return seen


def test_with_the_clock_pyhanko_validates_at_the_validation_time(past_life, clock_readings):
    world, sealed, at = past_life
    assert _ades.installed() and poe.datetime is ades_past.datetime is _ades._ValidationClock
    assert _lta_indication(world, sealed, at) == "OK"
    assert clock_readings["control"] == [at]
    assert clock_readings["poe"] and max(clock_readings["poe"]) <= at


def test_without_the_clock_pyhanko_validates_at_the_wall_clocks_now(past_life, clock_readings):
    """The bug the clock works around: a validation "at" T slides from today, with today's proofs."""
    world, sealed, at = past_life
    _ades.uninstall()
    try:
        indication = _lta_indication(world, sealed, at)
    finally:
        compat.install()
    assert indication == "NO_POE"
    wall_clock = datetime.now(UTC)
    assert clock_readings["control"] and all(
        abs(t - wall_clock) < timedelta(minutes=5) for t in clock_readings["control"]
    ), "pyHanko starts at the validation time by itself: the clock patch can go"
    assert max(clock_readings["poe"]) > at


def test_validation_at_another_time_refuses_to_run_without_the_clock(world_factory):
    start = hours_ago(24)
    world = world_factory(start)
    sealed = world.seal("B-T", start + DAY / 24)
    _ades.uninstall()
    try:
        sig = PdfFileReader(BytesIO(sealed), strict=False).embedded_signatures[0]
        with pytest.raises(_ades.ClockNotInstalled, match="edoc.compat.install"):
            ades_validate(sig, spec=_ades.validation_spec(world.policy()), at=start + 2 * DAY / 24)
    finally:
        compat.install()


def test_the_clock_refuses_a_module_that_no_longer_reads_datetime(monkeypatch):
    _ades.uninstall()
    monkeypatch.setattr(poe, "datetime", object())
    try:
        with pytest.raises(RuntimeError, match="pyhanko_certvalidator changed"):
            _ades.install()
    finally:
        monkeypatch.undo()
        compat.install()
    assert _ades.installed()
