"""SoftHSM2 for the HSM tests: a token directory of its own, tokens, keys and an OCSP responder.

The PKCS#11 module is loaded once per process and reads ``SOFTHSM2_CONF`` and
the token list only then, so the session fixture writes the configuration and
creates every token before any test opens one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certs.pkcs11 import Pkcs11KeyConfig, Pkcs11Token
from certs.pki import issue_credential
from edoc.home import Home
from tests.fixtures.pki import PASSPHRASE

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian/Ubuntu package softhsm2
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
)
PIN = "4321-test-pin"
SO_PIN = "8765-test-so-pin"
TOKEN = "edoc-hsm"
#: a token nobody logs in to successfully: the wrong-PIN tests use it
PIN_TEST_TOKEN = "edoc-pin-test"
#: a token whose PIN a test changes while edoc is logged in
PIN_CHANGE_TOKEN = "edoc-pin-change"
KEY_TYPES = ("ecdsa-p256", "rsa-3072")


@dataclass(frozen=True)
class SoftHsm:
    """The test SoftHSM: module path, configuration file and user PIN."""

    module: str
    conf: Path
    pin: str

    def config(self, key_label: str | None = None, *, token: str = TOKEN, **kw) -> Pkcs11KeyConfig:
        """A key config for a key in the test token (PIN from $EDOC_PKCS11_PIN)."""
        return Pkcs11KeyConfig(
            module=self.module,
            token_label=token,
            key_label=key_label,
            pin_env=kw.pop("pin_env", "EDOC_PKCS11_PIN"),
            **kw,
        )

    def token(self) -> Pkcs11Token:
        """The main test token, logged in."""
        os.environ.setdefault("EDOC_PKCS11_PIN", self.pin)
        return Pkcs11Token.open(self.config("-"))


def _module() -> str | None:
    override = os.environ.get("SOFTHSM2_MODULE")
    for path in (override,) if override else SOFTHSM_MODULES:
        if path and Path(path).is_file():
            return path
    return None


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory) -> Iterator[SoftHsm]:
    """A SoftHSM2 token directory with the test tokens (skips only if SoftHSM2 is absent)."""
    module = _module()
    if module is None or shutil.which("softhsm2-util") is None:
        reason = (
            "SoftHSM2 is not installed (Debian package softhsm2: /usr/lib/softhsm/libsofthsm2.so)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason + "; .ci/run must install it")
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN, PIN_TEST_TOKEN, PIN_CHANGE_TOKEN):
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                SO_PIN,
            ],
            check=True,
            capture_output=True,
        )
    yield SoftHsm(module=module, conf=conf, pin=PIN)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(autouse=True)
def _pin_in_environment(monkeypatch):
    monkeypatch.setenv("EDOC_PKCS11_PIN", PIN)


@pytest.fixture(scope="session")
def token_keys(softhsm) -> dict[str, str]:
    """A seal and a TSA key of each type in the test token, generated once: role-type → label."""
    os.environ.setdefault("EDOC_PKCS11_PIN", PIN)
    token = softhsm.token()
    labels = {}
    for key_type in KEY_TYPES:
        for role in ("seal", "tsa"):
            label = f"{role}-{key_type}"
            token.generate_key(key_type, label=label)
            labels[f"{role}-{key_type}"] = label
    return labels


class OcspResponder:
    """Answers "good" for the certificates registered with it (pdfsig needs an answer, see below)."""

    def __init__(self):
        self._known: dict[int, tuple[x509.Certificate, x509.Certificate, object]] = {}
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                der = responder.answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(der)))
                self.end_headers()
                self.wfile.write(der)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """A public_base_url whose /ocsp is this responder."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def register(self, cert: x509.Certificate, issuer: x509.Certificate, issuer_key) -> None:
        self._known[cert.serial_number] = (cert, issuer, issuer_key)

    def answer(self, request_der: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(request_der)
        if request.serial_number not in self._known:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        cert, issuer, key = self._known[request.serial_number]
        now = datetime.now(UTC)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=cert,
                issuer=issuer,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.GOOD,
                this_update=now - timedelta(minutes=1),
                next_update=now + timedelta(hours=1),
                revocation_time=None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
        )
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="session")
def ocsp_responder() -> Iterator[OcspResponder]:
    """An OCSP responder on loopback.

    pdfsig (poppler 22) reads NSS's last error code after verifying a chain even
    when verification succeeded, so ``-no-ocsp`` and an unanswered OCSP fetch
    both leave a stale error and "Unknown issue with Certificate". With a real
    answer pdfsig reports the chain as it is.
    """
    responder = OcspResponder()
    yield responder
    responder.close()


@pytest.fixture
def make_hsm_home(make_home, softhsm, token_keys, ocsp_responder) -> Callable[..., Home]:
    """A home whose seal (and TSA, unless ``tsa_in_token=False``) keys are in the test token."""

    def make(key_type: str = "ecdsa-p256", *, tsa_in_token: bool = True, **overrides) -> Home:
        roles = ("seal", "tsa") if tsa_in_token else ("seal",)
        values = {
            "seal_key_source": "pkcs11",
            "tsa_key_source": "pkcs11" if tsa_in_token else "file",
            "pkcs11_module": softhsm.module,
            "pkcs11_token_label": TOKEN,
            "pkcs11_seal_key_label": token_keys[f"seal-{key_type}"],
            "pkcs11_tsa_key_label": token_keys[f"tsa-{key_type}"],
            "public_base_url": ocsp_responder.base_url,
            **overrides,
        }
        home = make_home(key_type, **values)
        certify_token_keys(home, roles, ocsp_responder)
        return Home.open(home.settings)

    return make


def certify_token_keys(home: Home, roles, responder: OcspResponder | None = None) -> None:
    """Have the home's built-in CA issue certificates for its token keys (as hsm-init does)."""
    from certs.pkcs11 import TokenKey
    from edoc.keysources import pkcs11_config

    settings = home.settings
    for role in roles:
        key = TokenKey.open(pkcs11_config(settings, role))
        cert = issue_credential(
            home.pki,
            role,
            passphrase=PASSPHRASE.encode(),
            key_type=settings.key_type,
            public_base_url=settings.public_base_url,
            agency=settings.agency_name_en,
            public_key=key.public_key(),
        )
        if responder is not None:
            issuing = home.pki.issuing_ca
            responder.register(cert, issuing.cert, issuing.load_key(PASSPHRASE.encode()))
