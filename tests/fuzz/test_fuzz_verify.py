"""Property-based fuzzing of verification on mutated sealed documents (issue 17).

Byte flips, truncations, appended updates (arbitrary bytes and real incremental
updates), and damage aimed at the object streams and cross-reference data of a
sealed, registered document. Every input must end in a verdict, within the
CPU budget plus a margin, never in an exception; a revoked document with
anything appended is never "valid". Profiles: see tests/fuzz/conftest.py.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edoc.budgets import VerifyBudgets
from edoc.verification import Verifier
from tests.trust.hostile_updates import UPDATES

BUDGETS = VerifyBudgets(cpu_seconds=5)
#: wall time allowed per verification beyond the CPU budget (a loaded CI machine)
MARGIN_SECONDS = 10
VERDICTS = {"valid", "invalid", "indeterminate"}
#: where the structure lives: object streams, xref streams and tables, trailers
_STRUCTURE = re.compile(rb"/ObjStm|/XRef|\bxref\b|startxref|trailer|/Length|/First|/N \d")


@pytest.fixture
def sealed(make_home):
    """A home and one B-LT document it issued (object streams, a DSS update), and a revoked one."""
    home = make_home()
    data = json.loads(json.dumps(home.templates().get("certificate").examples["th"]))
    issued = home.issuer().issue("certificate", data, lang="th", level="B-LT").record
    revoked = home.issuer().issue("certificate", data, lang="th").record
    home.issuer().revoke(revoked.id, reason="issued in error")
    verifier = Verifier(policy=home.trust_policy(), registry=home.registry(), budgets=BUDGETS)
    return verifier, home.issuer().pdf(issued), home.issuer().pdf(revoked)


def _check(verifier: Verifier, data: bytes):
    started = time.monotonic()
    report = verifier.verify(data, name="fuzzed.pdf")  # any exception fails the property
    seconds = time.monotonic() - started
    assert report.verdict in VERDICTS
    assert report.reasons, "a verdict always comes with its reasons"
    assert seconds < BUDGETS.cpu_seconds + MARGIN_SECONDS, seconds
    report.to_json()  # and it serialises
    return report


@st.composite
def flips(draw, size: int):
    return draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=8))


def _flipped(pdf: bytes, changes) -> bytes:
    out = bytearray(pdf)
    for at, mask in changes:
        out[at] ^= mask
    return bytes(out)


@given(data=st.data())
def test_byte_flips_and_truncations_end_in_a_verdict(sealed, data):
    verifier, pdf, _ = sealed
    mutated = _flipped(pdf, data.draw(flips(len(pdf)), label="flips"))
    if data.draw(st.booleans(), label="truncate"):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)), label="cut")]
    report = _check(verifier, mutated)
    if mutated != pdf and report.verdict == "valid":
        # a change the seal does not cover (the signature's padding), never one of its bytes
        assert report.registry is not None and report.registry.status == "issued"


@given(data=st.data())
def test_damage_to_object_streams_and_cross_references_ends_in_a_verdict(sealed, data):
    verifier, pdf, _ = sealed
    spots = [m.start() for m in _STRUCTURE.finditer(pdf)]
    assert spots
    mutated = bytearray(pdf)
    for _ in range(data.draw(st.integers(1, 6), label="hits")):
        spot = data.draw(st.sampled_from(spots), label="spot")
        at = min(len(pdf) - 1, max(0, spot + data.draw(st.integers(-48, 48), label="offset")))
        kind = data.draw(st.sampled_from(["flip", "digit", "delete", "insert"]), label="kind")
        if kind == "flip":
            mutated[at] ^= data.draw(st.integers(1, 255), label="mask")
        elif kind == "digit":
            mutated[at:at + 1] = str(data.draw(st.integers(0, 9), label="digit")).encode()
        elif kind == "delete":
            del mutated[at:at + data.draw(st.integers(1, 32), label="n")]
        else:
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=32), label="bytes")
    _check(verifier, bytes(mutated))


_APPENDED = st.one_of(
    st.binary(max_size=2048),
    st.sampled_from(sorted(UPDATES)),
    st.builds(lambda n, at: b"\nxref\n0 %d\n0000000000 65535 f \ntrailer\n<</Size %d/Prev %d>>\n"
              b"startxref\n%d\n%%%%EOF\n" % (n, n, at, at), st.integers(0, 10**6), st.integers(0, 10**9)),
)


@given(appended=st.lists(_APPENDED, min_size=1, max_size=3))
def test_a_revoked_document_with_anything_appended_is_never_valid(sealed, appended):
    verifier, _, revoked = sealed
    mutated = revoked
    for part in appended:
        if isinstance(part, bytes):
            mutated += part
            continue
        try:  # pyHanko writes an update only onto a file it can read (not after garbage)
            mutated = UPDATES[part](mutated)
        except Exception:
            continue
    report = _check(verifier, mutated)
    assert report.verdict != "valid"
    if report.signatures and all(s.intact for s in report.signatures):
        assert report.registry is not None and report.registry.status == "revoked"
