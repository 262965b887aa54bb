"""``edoc keys hsm-init / hsm-cert / check`` and start-up errors on the command line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs.profiles import build_certificate, subject_name
from tests.signing.conftest import plain_pdf

from .conftest import PIN_TEST_TOKEN, TOKEN

pytestmark = pytest.mark.hsm


@pytest.fixture
def token_home(make_home, softhsm):
    """A home configured for a seal key in the token that does not exist yet."""

    def make(key_type: str = "ecdsa-p256", **overrides):
        return make_home(
            key_type,
            seal_key_source="pkcs11",
            pkcs11_module=softhsm.module,
            pkcs11_token_label=TOKEN,
            pkcs11_seal_key_label=f"cli-seal-{secrets.token_hex(4)}",
            **overrides,
        )

    return make


@pytest.fixture
def cli(run_edoc):
    return run_edoc


def _sign_and_verify(cli, home, tmp_path) -> str:
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(plain_pdf())
    sealed = tmp_path / "sealed.pdf"
    code, _, err = cli(home, "sign", str(plain), str(sealed))
    assert code == 0, err
    code, out, err = cli(home, "verify", "--seal-only", str(sealed))
    assert code == 0, out + err
    return out


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_hsm_init_generates_the_seal_key_and_the_home_seals_with_it(
    token_home, cli, tmp_path, key_type
):
    home = token_home(key_type)
    code, out, err = cli(home, "keys", "hsm-init", "--role", "seal", "--key-type", key_type)
    assert code == 0, err
    assert f"generated {key_type} key" in out and "Electronic Seal" in out
    assert not (home.settings.pki_dir / "seal.key.pem").exists()  # no seal key on disk any more
    (entry,) = home.registry().audit.entries(event="ca.key-rollover")
    assert entry.subject == "seal" and "pkcs11" in entry.details["key"]
    assert "VALID" in _sign_and_verify(cli, home, tmp_path)
    code, out, _ = cli(home, "keys", "check")
    assert code == 0 and "seal: OK, PKCS#11 token 'edoc-hsm'" in out and "tsa: OK" in out


def test_hsm_init_refuses_to_overwrite_a_key_in_the_token(token_home, cli):
    home = token_home()
    assert cli(home, "keys", "hsm-init", "--role", "seal")[0] == 0
    code, _, err = cli(home, "keys", "hsm-init", "--role", "seal")
    assert code == 1 and "already holds a private key" in err and "Traceback" not in err
    code, out, err = cli(home, "keys", "hsm-init", "--role", "seal", "--existing-key")
    assert code == 0, err
    assert "using the existing key" in out


def test_csr_for_the_agency_ca_then_hsm_cert_installs_its_answer(token_home, cli, tmp_path):
    home = token_home("rsa-3072")
    request = tmp_path / "seal.csr"
    code, out, err = cli(home, "keys", "hsm-init", "--role", "seal", "--csr", str(request))
    assert code == 0, err
    csr = x509.load_pem_x509_csr(request.read_bytes())
    assert csr.is_signature_valid

    # the agency's own CA (not edoc's) answers the request
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = subject_name("Agency Own CA", "Test Agency")
    now = datetime.now(UTC)
    ca = build_certificate(
        "root-ca",
        subject=ca_name,
        public_key=ca_key.public_key(),
        issuer_name=None,
        issuer_key=ca_key,
        urls=None,
        issuer_label=None,
        now=now,
    )
    cert = build_certificate(
        "seal",
        subject=csr.subject,
        public_key=csr.public_key(),
        issuer_name=ca_name,
        issuer_key=ca_key,
        urls=None,
        issuer_label=None,
        now=now,
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    code, out, err = cli(
        home,
        "keys",
        "hsm-cert",
        "--role",
        "seal",
        "--cert",
        str(tmp_path / "cert.pem"),
        "--chain",
        str(tmp_path / "ca.pem"),
    )
    assert code == 0, err
    out = _sign_and_verify(cli, home, tmp_path)
    assert "VALID" in out


def test_hsm_cert_refuses_a_certificate_for_another_key(token_home, cli, tmp_path):
    home = token_home()
    assert cli(home, "keys", "hsm-init", "--role", "seal")[0] == 0
    other = home.pki.tsa.cert  # a valid certificate, but not for the token key
    (tmp_path / "other.pem").write_bytes(other.public_bytes(serialization.Encoding.PEM))
    code, _, err = cli(
        home, "keys", "hsm-cert", "--role", "seal", "--cert", str(tmp_path / "other.pem")
    )
    assert code == 1 and "does not belong to the certificate" in err


def test_wrong_pin_exits_1_at_start_up_without_a_traceback(make_home, softhsm, tmp_path):
    home = make_home(
        "ecdsa-p256",
        seal_key_source="pkcs11",
        pkcs11_module=softhsm.module,
        pkcs11_token_label=PIN_TEST_TOKEN,
    )
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(plain_pdf())
    env = {**os.environ, "EDOC_PKCS11_PIN": "0000-not-the-pin"}
    for args in (["keys", "check"], ["sign", str(plain), str(tmp_path / "out.pdf")]):
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "from edoc.cli import run; run()",
                "--home",
                str(home.path),
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("edoc: ") and "wrong PIN" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (tmp_path / "out.pdf").exists()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("pkcs11_token_label", "unplugged", "no token labelled 'unplugged'"),
        ("pkcs11_seal_key_label", "never-generated", "no private key with label 'never-generated'"),
        (
            "pkcs11_module",
            "/opt/vendor/libnothere.so",
            "no PKCS#11 module at /opt/vendor/libnothere.so",
        ),
    ],
)
def test_misconfigured_token_exits_1_with_what_to_fix(
    make_home, softhsm, token_keys, cli, setting, value, message
):
    values = {
        "seal_key_source": "pkcs11",
        "pkcs11_module": softhsm.module,
        "pkcs11_token_label": TOKEN,
        "pkcs11_seal_key_label": token_keys["seal-ecdsa-p256"],
        setting: value,
    }
    home = make_home("ecdsa-p256", **values)
    code, _, err = cli(home, "keys", "check")
    assert code == 1 and message in err and "Traceback" not in err


def test_pkcs11_source_without_module_says_which_setting_is_missing(make_home, cli):
    home = make_home("ecdsa-p256", seal_key_source="pkcs11")
    code, _, err = cli(home, "keys", "check")
    assert code == 1 and "pkcs11_module and pkcs11_token_label are not set" in err
