"""The edoc command line for sealing and verification: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edoc.cli import main
from tests.signing.conftest import plain_pdf


@pytest.fixture
def files(tmp_path, home):
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(plain_pdf())
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(home.sealer().seal(plain.read_bytes()))
    return plain, sealed


def test_init_creates_a_home_with_keys_and_config(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EDOC_KEY_PASSPHRASE", raising=False)
    home = tmp_path / "new-home"
    assert main(["--home", str(home), "init", "--key-type", "ecdsa-p256"]) == 0
    assert "Electronic Seal" in capsys.readouterr().out
    assert (home / "edoc.toml").is_file()
    assert (home / "pki" / "seal.key.pem").stat().st_mode & 0o777 == 0o600
    assert (home / "secrets" / "key-passphrase").stat().st_mode & 0o777 == 0o600
    # a second init leaves the existing PKI alone
    before = (home / "pki" / "seal.pem").read_bytes()
    assert main(["--home", str(home), "init"]) == 0
    assert (home / "pki" / "seal.pem").read_bytes() == before


def test_sign_then_verify_is_valid_exit_0(cli, files, tmp_path):
    plain, _ = files
    out_pdf = tmp_path / "out.pdf"
    code, out, _ = cli("sign", str(plain), str(out_pdf), "--level", "B-T")
    assert code == 0 and out_pdf.exists()
    code, out, _ = cli("verify", str(out_pdf))
    assert code == 1 and "INDETERMINATE" in out and "not on record" in out  # never registered
    code, out, _ = cli("verify", "--seal-only", str(out_pdf))
    assert code == 0
    assert "VALID" in out


def test_verify_json_report(cli, files):
    _, sealed = files
    code, out, _ = cli("verify", "--seal-only", "--json", str(sealed))
    assert code == 0
    report = json.loads(out)
    assert report["verdict"] == "valid"
    assert report["signatures"][0]["intact"] is True


def test_any_invalid_file_gives_exit_1(cli, files, tmp_path):
    plain, sealed = files
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    code, out, _ = cli("verify", str(sealed), str(plain), str(junk))
    assert code == 1
    assert "no electronic seal" in out and "not a PDF" in out


def test_verify_usage_errors_exit_2(cli, tmp_path):
    assert cli("verify", str(tmp_path / "missing.pdf"))[0] == 2
    with pytest.raises(SystemExit) as exc:
        main(["verify"])
    assert exc.value.code == 2


def test_verify_at_bad_date_is_usage_error(cli, files):
    _, sealed = files
    code, _, err = cli("verify", "--at", "yesterday", str(sealed))
    assert code == 2 and "ISO 8601" in err


def test_sign_refuses_non_pdf_with_message(cli, tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"hello")
    code, _, err = cli("sign", str(junk), str(tmp_path / "o.pdf"))
    assert code == 1
    assert "edoc:" in err and "Traceback" not in err


def test_commands_without_a_home_say_run_init(tmp_path, capsys):
    code = main(["--home", str(tmp_path / "nowhere"), "verify", "x.pdf"])
    assert code == 1
    assert "edoc init" in capsys.readouterr().err


@pytest.mark.parametrize(
    "payload",
    [b"", b"%PDF-1.7\n%%EOF", b"%PDF-1.4\n" + b"<<" * 20000, os.urandom(4096)],
    ids=["empty", "bare-header", "deep-nesting", "random"],
)
def test_hostile_files_never_print_a_traceback(home, tmp_path, payload):
    path = tmp_path / "hostile.pdf"
    path.write_bytes(payload)
    proc = subprocess.run(
        [sys.executable, "-m", "edoc", "--home", str(home.path), "verify", str(path)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "EDOC_KEY_PASSPHRASE": home.settings.passphrase().decode()},
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "INVALID" in proc.stdout


def test_keys_import_pkcs12_then_sign_and_verify(make_home, tmp_path, monkeypatch, capsys):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certs.keys import load_private_key

    agency_ca = make_home("rsa-3072")  # stands in for the agency's own CA
    key = load_private_key(agency_ca.settings.pki_dir / "seal.key.pem",
                           passphrase=agency_ca.settings.passphrase())
    p12 = tmp_path / "agency-seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, agency_ca.pki.seal.cert, list(agency_ca.pki.seal.chain),
        serialization.BestAvailableEncryption(b"p12-secret"),
    ))
    home = make_home("ecdsa-p256")
    monkeypatch.setenv("P12_PASSWORD", "p12-secret")
    args = ["--home", str(home.path)]
    assert main([*args, "keys", "import", "--pkcs12", str(p12), "--password-env", "P12_PASSWORD"]) == 0
    assert "imported seal" in capsys.readouterr().out
    plain, sealed = tmp_path / "in.pdf", tmp_path / "out.pdf"
    plain.write_bytes(plain_pdf())
    assert main([*args, "sign", str(plain), str(sealed), "--level", "B-B"]) == 0
    assert main([*args, "verify", "--seal-only", str(sealed)]) == 0
    assert "Test Agency Electronic Seal" in capsys.readouterr().out


def test_keys_import_with_missing_password_variable_is_a_usage_error(home, tmp_path, capsys):
    code = main(["--home", str(home.path), "keys", "import", "--pkcs12", str(tmp_path / "x.p12"),
                 "--password-env", "NO_SUCH_VARIABLE"])
    assert code == 2 and "NO_SUCH_VARIABLE" in capsys.readouterr().err


def test_home_made_without_any_passphrase_seals_at_once_and_after_restart(tmp_path, monkeypatch):
    """The embedded default: no EDOC_KEY_PASSPHRASE, a generated one kept in secrets/."""
    from edoc.home import Home
    from edoc.settings import Settings

    monkeypatch.delenv("EDOC_KEY_PASSPHRASE", raising=False)
    monkeypatch.delenv("EDOC_HOME", raising=False)
    root = tmp_path / "fresh"
    home = Home.create(Settings(home=root))
    home.check_keys()  # what edoc serve does right after creating the home
    assert home.sealer().seal(plain_pdf())[:5] == b"%PDF-"
    again = Home.open(Settings(home=root))
    again.check_keys()
    assert again.settings.passphrase() == home.settings.passphrase()
