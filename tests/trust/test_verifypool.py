"""The verification pool on its own: the wall-clock kill, the bounded queue, dropped jobs."""

from __future__ import annotations

import asyncio
import time

import pytest

from edoc.budgets import VerifyBudgets
from edoc.verifypool import HomePolicy, VerifyAbandoned, VerifyBusy, VerifyPool
from tests.fuzz.hostile import many_signature_fields

#: structural budgets lifted and the CPU budget out of reach: only the wall clock stops it
GRINDING = VerifyBudgets(objects_per_stream=10**6, fields=10**6, signatures=10**6, cpu_seconds=600)


def test_a_worker_past_the_wall_clock_limit_is_killed_and_replaced(home):
    pool = VerifyPool(policy_factory=HomePolicy(home.settings), budgets=GRINDING,
                      workers=1, queue=0, wall_seconds=3)
    pool.warm_up()

    async def run():
        await pool.examine(b"%PDF-1.7 warm the worker's policy")
        started = time.monotonic()
        examined = await pool.examine(many_signature_fields(8000), name="f.pdf")
        return examined, time.monotonic() - started

    examined, seconds = asyncio.run(run())
    assert seconds < 10, seconds
    assert examined.report.verdict == "indeterminate"
    assert examined.report.details["too_complex"]["budget"] == "cpu_seconds"
    assert pool.killed == 1 and pool.in_flight == 0
    after = asyncio.run(pool.examine(b"not a pdf"))  # a fresh worker answers
    assert after.report.verdict == "invalid"


def test_the_queue_is_bounded_and_a_dropped_job_frees_its_place(home):
    pool = VerifyPool(policy_factory=HomePolicy(home.settings), budgets=GRINDING, workers=1, queue=1)

    async def run():
        stop = asyncio.Event()

        async def gone() -> bool:
            return stop.is_set()

        first = asyncio.create_task(pool.examine(many_signature_fields(4000), cancelled=gone))
        second = asyncio.create_task(pool.examine(many_signature_fields(4000), cancelled=gone))
        while pool.in_flight < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(VerifyBusy) as busy:
            await pool.examine(b"%PDF-1.7")
        stop.set()  # both callers go away: the queued job is dropped, the running one killed
        for task in (first, second):
            with pytest.raises(VerifyAbandoned):
                await task
        return busy.value

    busy = asyncio.run(run())
    assert busy.http_status == 503 and busy.retry_after >= 1
    assert pool.in_flight == 0 and pool.dropped == 2
