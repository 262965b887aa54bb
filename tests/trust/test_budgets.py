"""Issue 17, finding 2: a file over a verification budget is "too complex to verify", fast.

The hostile file is ~100 KB: 8,000 signature fields in one object stream, which
took pyHanko minutes (quadratic enumeration, then a validation per field).
"""

from __future__ import annotations

import json
import time

import pytest

from edoc.budgets import VerifyBudgets, prescan
from edoc.verification import Verifier
from tests.fuzz.hostile import many_signature_fields


@pytest.fixture(scope="module")
def hostile() -> bytes:
    data = many_signature_fields(8000)
    assert 80_000 < len(data) < 120_000
    return data


def test_8000_signature_fields_are_too_complex_to_verify_at_once(home, hostile):
    verifier = Verifier.for_home(home)
    verifier.verify(b"%PDF-1.7 imports done")
    started = time.process_time()  # CPU time: the machine may be shared
    report = verifier.verify(hostile, name="fields.pdf")
    seconds = time.process_time() - started
    assert report.verdict == "indeterminate"
    assert report.details["too_complex"]["budget"] == "objects_per_stream"
    assert report.reasons[0].startswith("This file is too complex to verify")
    assert seconds < 2, seconds  # measured 0.02-0.14 s; pyHanko alone took minutes


@pytest.mark.parametrize(
    "budgets,budget",
    [
        (VerifyBudgets(objects_per_stream=10**6), "fields"),
        (VerifyBudgets(objects_per_stream=10**6, fields=10**6), "signatures"),
        (VerifyBudgets(objects=100), "objects"),
        (VerifyBudgets(objects_per_stream=10**6, decompressed_bytes=10_000), "decompressed_bytes"),
    ],
)
def test_each_structural_budget_is_checked(hostile, budgets, budget):
    exceeded = prescan(hostile, budgets)
    assert exceeded is not None and exceeded.budget == budget


def test_revisions_and_nesting_budgets(home):
    doc = home.issuer().issue(
        "certificate", json.loads(json.dumps(home.templates().get("certificate").examples["th"]))
    )
    pdf = home.issuer().pdf(doc.record)
    assert prescan(pdf, VerifyBudgets()) is None
    assert prescan(pdf, VerifyBudgets(revisions=1)).budget == "revisions"
    assert prescan(pdf, VerifyBudgets(nesting=1)).budget == "nesting"


def test_the_cpu_budget_stops_a_verification_that_runs_on(home):
    # all structural budgets lifted: pyHanko enumerates 2,000 fields for many seconds
    lifted = VerifyBudgets(objects_per_stream=10**6, fields=10**6, signatures=10**6, cpu_seconds=1)
    verifier = Verifier(policy=home.trust_policy(), budgets=lifted)
    started = time.process_time()
    report = verifier.verify(many_signature_fields(2000))
    assert time.process_time() - started < 4
    assert report.verdict == "indeterminate"
    assert report.details["too_complex"]["budget"] == "cpu_seconds"


def test_cli_verify_applies_the_budgets(home, hostile, run_edoc, tmp_path):
    path = tmp_path / "fields.pdf"
    path.write_bytes(hostile)
    started = time.perf_counter()
    code, out, err = run_edoc(home, "verify", str(path))
    assert time.perf_counter() - started < 10
    assert code == 1 and "Traceback" not in err
    assert f"{path}: INDETERMINATE" in out and "too complex to verify" in out
