"""The restore drill: a backup brings back a working agency, not just its files.

Issue two documents, revoke one, back up with the key material (encrypted with
a passphrase), restore into an empty folder, and the restored home verifies
both with the right verdicts, passes ``doctor`` and continues the audit chain.
A backup without the keys says it is incomplete, and ``doctor`` on a home
restored from it reports that its own trust store cannot validate its documents.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from edoc.cli import main

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def edoc(capsys, monkeypatch):
    # the home keeps its generated key passphrase in secrets/, as `edoc init` does for a newcomer
    for name in ("EDOC_KEY_PASSPHRASE", "EDOC_HOME", "EDOC_BACKUP_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)

    def run(home: Path, *args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), *map(str, args)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def agency(edoc, tmp_path):
    """A home with two documents, the second revoked; their ids and PDFs."""
    home = tmp_path / "agency"
    assert edoc(home, "init", "--agency-id", "drill-agency")[0] == 0
    docs = {}
    for name in ("kept", "revoked"):
        code, out, err = edoc(home, "issue", "certificate", "--example", "--out", tmp_path / f"{name}.pdf")
        assert code == 0, err
        docs[name] = out.split()[1]
    assert edoc(home, "revoke", docs["revoked"], "--reason", "the holder's name was misspelt",
                "--category", "issued-in-error")[0] == 0
    # a second agency of the platform, with its own seal key in agencies/second/
    code, _, err = edoc(home, "agency", "add", "second", "--name-th", "หน่วยงานที่สอง",
                        "--name-en", "Second Agency")
    assert code == 0, err
    code, out, err = edoc(home, "issue", "certificate", "--example", "--agency", "second",
                          "--out", tmp_path / "second.pdf")
    assert code == 0, err
    docs["second"] = out.split()[1]
    return home, docs


def test_backup_with_keys_restores_a_working_agency(edoc, agency, tmp_path):
    home, docs = agency
    secret = tmp_path / "backup-passphrase"
    secret.write_text(PASSPHRASE + "\n")
    archive = tmp_path / "agency.tar"
    code, out, err = edoc(home, "backup", archive, "--passphrase-file", secret)
    assert code == 0, err
    assert "key material included" in out and "INCOMPLETE" not in out
    with tarfile.open(archive) as tar:  # nothing of the keys in clear
        names = tar.getnames()
        assert not any(n.startswith(("pki/", "secrets/")) for n in names)
        bundle = tar.extractfile("extra/home-keys.json").read()
    assert b"PRIVATE KEY" not in bundle and (home / "secrets" / "key-passphrase").read_bytes().strip() not in bundle
    assert json.loads(bundle)["cipher"] == "AES-256-GCM"

    restored = tmp_path / "restored"  # an empty machine folder: nothing there yet
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all")
    code, _, err = edoc(restored, "restore", archive, "--passphrase-file", wrong)
    assert code == 1 and "wrong backup passphrase" in err
    assert not restored.exists() or not any(restored.iterdir())
    code, out, err = edoc(restored, "restore", archive, "--passphrase-file", secret)
    assert code == 0, err
    assert "restored 3 objects and 3 documents" in out

    code, out, _ = edoc(restored, "verify", tmp_path / "kept.pdf")
    assert code == 0 and "VALID" in out and "INVALID" not in out
    code, out, _ = edoc(restored, "verify", tmp_path / "revoked.pdf")
    assert code == 1 and "INVALID" in out and "revoked" in out and "issued in error" in out
    # the second agency's seal came back too: its document verifies, and it issues again
    code, out, _ = edoc(restored, "verify", tmp_path / "second.pdf")
    assert code == 0 and "VALID" in out and "Second Agency" in out, out
    code, _, err = edoc(restored, "issue", "certificate", "--example", "--agency", "second")
    assert code == 0, err

    code, out, err = edoc(restored, "doctor")
    assert code == 0, out + err
    assert "verified with this home's own trust store: 4" in out  # the new one of agency second too

    # the restored agency goes on: a new event extends the restored chain, which stays intact
    code, out, err = edoc(restored, "issue", "certificate", "--example")
    assert code == 0, err
    code, out, _ = edoc(restored, "audit", "verify")
    assert code == 0 and "audit log intact" in out
    code, out, _ = edoc(restored, "audit", "verify", "--json")
    assert json.loads(out)["checked"] >= 4  # two issues, a revocation, the new issue
    assert edoc(restored, "show", docs["kept"])[0] == 0


def test_backup_without_keys_says_it_is_incomplete_and_doctor_catches_the_result(edoc, agency, tmp_path):
    home, docs = agency
    archive = tmp_path / "data-only.tar"
    code, out, _ = edoc(home, "backup", archive)
    assert code == 0
    assert "INCOMPLETE: this backup holds no key material" in out and str(home / "pki") in out

    restored = tmp_path / "restored"
    code, _, err = edoc(restored, "restore", archive)
    assert code == 1 and "holds no key material" in err and "edoc init" in err
    assert edoc(restored, "init")[0] == 0  # a new home: a PKI of its own
    assert edoc(restored, "restore", archive)[0] == 0
    code, out, _ = edoc(restored, "verify", tmp_path / "kept.pdf")
    assert code == 1  # not sealed by this home's trust anchors
    code, out, _ = edoc(restored, "doctor")
    assert code == 1 and "problems found" in out
    assert "does not validate with this home's own trust store" in out and "--passphrase-file" in out
    code, out, _ = edoc(restored, "doctor", "--json")
    assert json.loads(out)["ok"] is False and len(json.loads(out)["trust"]["untrusted"]) == 3


def test_a_short_backup_passphrase_is_refused(edoc, agency, tmp_path):
    home, _ = agency
    short = tmp_path / "short"
    short.write_text("abc")
    code, _, err = edoc(home, "backup", tmp_path / "b.tar", "--passphrase-file", short)
    assert code == 1 and "at least 12 characters" in err
    assert not (tmp_path / "b.tar").exists()
