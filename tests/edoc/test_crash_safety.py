"""No accepted document is ever lost: kill the issuing process at each step and look.

Each test runs one issuance in a child process that dies (``os._exit``, no
cleanup, as from SIGKILL) right after a given step, then checks what is left:
never a registry row without its object or its audit entry; at worst an orphan
object that ``edoc doctor`` reports; and a retry with the same idempotency key
then issues exactly one document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from edoc.cli import main
from storage.maintenance import doctor

CHILD = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from edoc.home import Home
    from edoc.settings import Settings
    import edoc.issuance as issuance

    home = Home.open(Settings(home=Path(sys.argv[1])))
    step = sys.argv[2]
    issuer = home.issuer()

    def die_after(obj, name):
        original = getattr(obj, name)
        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            os._exit(137)  # the process is gone: no finally blocks, no flushing
        setattr(obj, name, wrapper)

    if step == "render":
        die_after(issuance, "render")
    elif step == "seal":
        die_after(home.sealer(), "seal")
    elif step == "store":
        die_after(home.store(), "put")
    elif step == "register":
        die_after(home.registry(), "record_issued")
    data = json.loads(Path(sys.argv[3]).read_text())
    issuer.issue("certificate", data, idempotency_key="exam-2569-0001")
    """
)


@pytest.fixture
def home(make_home):
    # a dead worker's idempotency claim goes stale after a second, so retries take over fast
    return make_home(idempotency_claim_seconds=1)


def _issue_and_die(home, step: str, tmp_path) -> int:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(home.templates().get("certificate").examples["th"], ensure_ascii=False))
    env = {**os.environ, "EDOC_KEY_PASSPHRASE": home.settings.passphrase().decode()}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(home.path), step, str(data)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    return proc.returncode


def _state(home):
    registry, store = home.registry(), home.store()
    issued = [e for e in registry.audit.entries() if e.event == "document.issued"]
    return registry.count(), list(store.iter_keys()), issued


@pytest.mark.parametrize("step", ["render", "seal"])
def test_crash_before_storing_leaves_nothing(home, tmp_path, step):
    assert _issue_and_die(home, step, tmp_path) == 137
    count, objects, issued = _state(home)
    assert (count, objects, issued) == (0, [], [])


def test_crash_between_object_and_row_leaves_an_orphan_that_doctor_reports(home, tmp_path, capsys):
    assert _issue_and_die(home, "store", tmp_path) == 137
    count, objects, issued = _state(home)
    assert count == 0 and len(objects) == 1 and issued == []
    report = doctor(home.store(), home.registry())
    assert report.orphans == [objects[0]] or list(report.orphans) == objects
    assert not report.missing and not report.corrupt
    assert main(["--home", str(home.path), "doctor"]) == 1
    assert objects[0] in capsys.readouterr().out


def test_crash_after_the_row_keeps_document_audit_and_object_together(home, tmp_path):
    assert _issue_and_die(home, "register", tmp_path) == 137
    count, objects, issued = _state(home)
    assert count == 1 and len(objects) == 1 and len(issued) == 1
    report = doctor(home.store(), home.registry())
    assert report.ok, report


@pytest.mark.parametrize("step", ["render", "seal", "store", "register"])
def test_retry_after_a_crash_issues_exactly_once(home, tmp_path, step):
    _issue_and_die(home, step, tmp_path)
    data = home.templates().get("certificate").examples["th"]
    first = home.issuer().issue("certificate", data, idempotency_key="exam-2569-0001")
    again = home.issuer().issue("certificate", data, idempotency_key="exam-2569-0001")
    assert first.id == again.id
    assert home.registry().count() == 1
    assert first.created == (step != "register")
    pdf = home.issuer().pdf(home.registry().get(first.id))
    assert pdf[:5] == b"%PDF-"
    assert home.registry().audit.verify().ok
