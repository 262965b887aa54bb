"""Upgrading a single-agency home (made by the previous version of edoc) into a platform.

The old home is made by the code as it was before agencies existed (the parent of
the commit that added migration 0005, taken from git), run in a subprocess: it
issues, revokes and anchors. The new code then upgrades it in place, and every
document keeps its id, status and verification, and the audit chain stays whole.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edoc.home import Home
from edoc.settings import Settings
from edoc.verification import Verifier

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = "storage/migrations/versions/0005_agencies.py"
PASSPHRASE = "upgrade-test-passphrase"


def _previous_version(dest: Path) -> Path:
    """The source tree of the version before agencies, from git (skips without a git checkout)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git history of the repository")
    added = subprocess.run([git, "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--", MIGRATION],
                           capture_output=True, text=True, check=True).stdout.split()
    if not added:
        pytest.skip("the agencies migration is not committed yet")
    archive = subprocess.run([git, "-C", str(ROOT), "archive", f"{added[-1]}^", "edoc", "signing", "storage",
                              "certs"], capture_output=True, check=True).stdout
    dest.mkdir()
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    assert not (dest / MIGRATION).exists()
    return dest


def _old_edoc(old: Path, home: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(old), "EDOC_KEY_PASSPHRASE": PASSPHRASE, "EDOC_HOME": str(home),
           "EDOC_AGENCY_ID": "old-agency", "EDOC_AGENCY_NAME_EN": "Old Agency", "EDOC_AGENCY_NAME_TH": "หน่วยงานเดิม"}
    code = ("import sys, edoc; assert edoc.__file__.startswith(sys.argv[1]), edoc.__file__; "
            "from edoc.cli import main; sys.exit(main(sys.argv[2:]))")
    done = subprocess.run([sys.executable, "-c", code, str(old), "--home", str(home), *args], env=env,
                          capture_output=True, text=True, timeout=300, cwd=str(old))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def made_by_old_version(tmp_path_factory) -> dict:
    """A home made and used by the previous version: two documents issued, one revoked, anchored."""
    tmp_path = tmp_path_factory.mktemp("old")
    old = _previous_version(tmp_path / "old-edoc")
    home = tmp_path / "home"
    _old_edoc(old, home, "init")
    ids = []
    for i in range(2):
        out = _old_edoc(old, home, "issue", "certificate", "--example", "--out", str(tmp_path / f"doc{i}.pdf"))
        ids.append(out.split("id: ")[1].split()[0])
    _old_edoc(old, home, "revoke", ids[1], "--reason", "issued in error")
    key = json.loads(_old_edoc(old, home, "keys", "create", "--role", "issuer", "--json"))
    _old_edoc(old, home, "audit", "anchor")
    return {"path": home, "ids": ids, "key": key, "pdfs": [tmp_path / f"doc{i}.pdf" for i in range(2)]}


@pytest.fixture
def old_home(made_by_old_version, tmp_path, monkeypatch) -> dict:
    """A fresh copy of the old home for one test."""
    monkeypatch.setenv("EDOC_KEY_PASSPHRASE", PASSPHRASE)
    copy = tmp_path / "home"
    shutil.copytree(made_by_old_version["path"], copy)
    return {**made_by_old_version, "path": copy}


def _settings(path: Path) -> Settings:
    # the old home's edoc.toml names its agency; the environment gave it at init
    return Settings(home=path, agency_id="old-agency", agency_name_en="Old Agency", agency_name_th="หน่วยงานเดิม")


def test_doctor_asks_for_the_upgrade_and_edoc_upgrade_does_it(old_home, run_edoc):
    home = Home.open(_settings(old_home["path"]))
    code, out, _ = run_edoc(home, "doctor", "--quick")
    assert code == 1 and "upgrade needed" in out and "edoc upgrade" in out
    # nothing was migrated by asking
    from edoc.agencies.upgrade import pending

    assert pending(home)
    code, out, err = run_edoc(home, "upgrade")
    assert code == 0, err
    assert "old-agency is now the platform's first agency" in out
    assert pending(home) == []
    code, out, _ = run_edoc(home, "doctor", "--quick")
    assert code == 0, out
    code, out, _ = run_edoc(home, "upgrade")
    assert "nothing to upgrade" in out


def test_everything_survives_the_upgrade(old_home):
    home = Home.open(_settings(old_home["path"]))
    registry = home.registry()  # first use upgrades in place, as a first start does
    issued, revoked = (registry.get(i) for i in old_home["ids"])
    assert (issued.status, revoked.status, revoked.revocation_reason) == ("issued", "revoked", "issued in error")
    first = registry.agencies.get("old-agency")
    assert (first.name_en, first.name_th, first.seal_dir) == ("Old Agency", "หน่วยงานเดิม", "pki")
    # verification: the files as issued, and as the store keeps them
    verifier = Verifier.for_home(home)
    valid = verifier.verify(old_home["pdfs"][0].read_bytes())
    assert valid.verdict == "valid" and valid.registry.status == "issued"
    gone = verifier.verify(old_home["pdfs"][1].read_bytes())
    assert gone.verdict == "invalid" and gone.registry.status == "revoked"
    # the audit chain: intact across the migration, with its old anchor, and the agency's own chain
    chain = registry.audit.verify()
    assert chain.ok, chain.reason
    assert len(registry.audit.anchors()) == 1
    events = [e.event for e in registry.audit.entries()]
    assert events[:5] == ["document.issued", "document.issued", "document.revoked", "apikey.created",
                          "platform.upgraded"][:5]
    own = registry.agency_audit.verify("old-agency")
    assert own.ok and own.checked == len(events)
    # the old key still works, for its agency, and the home issues as before
    assert registry.authenticate(old_home["key"]["secret"]).agency == "old-agency"
    doc = home.issuer().issue("certificate", dict(home.templates().get("certificate").examples["th"]))
    assert doc.record.agency == "old-agency"
    assert verifier.verify(home.issuer().pdf(doc.record)).verdict == "valid"
    # and a second agency joins the upgraded platform
    from edoc.agencies import AgencyService

    AgencyService(home).add("new-agency", name_th="หน่วยงานใหม่", name_en="New Agency")
    other = home.issuer("new-agency").issue("certificate", dict(home.templates().get("certificate").examples["th"]))
    assert verifier.verify(home.issuer().pdf(other.record)).verdict == "valid"
    assert registry.agency_audit.verify("old-agency").ok and registry.audit.verify().ok
