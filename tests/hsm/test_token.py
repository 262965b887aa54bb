"""The token itself: clear errors at start-up, keys that never leave it, a pool that heals."""

from __future__ import annotations

import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from certs.pkcs11 import (
    Pkcs11Token,
    TokenError,
    TokenKey,
    TokenKeyNotFound,
    TokenLoginFailed,
    TokenNotFound,
    build_csr,
)
from tests.tools import require, run

from .conftest import PIN_TEST_TOKEN, TOKEN

pytestmark = pytest.mark.hsm


def _verify(public, signature: bytes, data: bytes) -> None:
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_wrong_pin_is_refused_when_the_token_is_opened(softhsm, monkeypatch):
    monkeypatch.setenv("EDOC_PKCS11_PIN", "0000-not-the-pin")
    with pytest.raises(TokenLoginFailed) as err:
        TokenKey.open(softhsm.config("anything", token=PIN_TEST_TOKEN))
    text = err.value.diagnostics()
    assert "wrong PIN" in text and "$EDOC_PKCS11_PIN" in text and "0000" not in text
    # a second start-up attempt in the same process does not spend another PIN try
    with pytest.raises(TokenLoginFailed, match="not tried again"):
        TokenKey.open(softhsm.config("anything", token=PIN_TEST_TOKEN))


def test_unset_pin_variable_says_which_variable(softhsm, monkeypatch):
    monkeypatch.delenv("EDOC_PKCS11_PIN")
    with pytest.raises(TokenLoginFailed, match="EDOC_PKCS11_PIN, which is not set"):
        TokenKey.open(softhsm.config("seal-ecdsa-p256"))


def test_pin_file_is_read(softhsm, token_keys, tmp_path, monkeypatch):
    monkeypatch.delenv("EDOC_PKCS11_PIN")
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm.pin + "\n")
    pin_file.chmod(0o600)
    key = TokenKey.open(softhsm.config("seal-ecdsa-p256", pin_env=None, pin_file=pin_file))
    assert key.algorithm == "ec"


def test_missing_token_lists_the_tokens_present(softhsm):
    with pytest.raises(TokenNotFound) as err:
        TokenKey.open(softhsm.config("seal-ecdsa-p256", token="no-such-token"))
    assert "'no-such-token'" in str(err.value) and f"'{TOKEN}'" in str(err.value)


def test_missing_key_label_is_reported(softhsm, token_keys):
    with pytest.raises(TokenKeyNotFound, match="no private key with label 'no-such-key'"):
        TokenKey.open(softhsm.config("no-such-key"))


def test_missing_module_is_reported(softhsm):
    config = softhsm.config("seal-ecdsa-p256")
    config = type(config)(**{**config.__dict__, "module": "/nonexistent/libvendor-pkcs11.so"})
    with pytest.raises(TokenError, match="no PKCS#11 module at /nonexistent"):
        TokenKey.open(config)


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_token_signatures_verify_with_the_public_key(softhsm, token_keys, key_type):
    key = TokenKey.open(softhsm.config(token_keys[f"seal-{key_type}"]))
    data = b"signed attributes"
    _verify(key.public_key(), key.sign(data, "sha256"), data)


def test_generated_keys_are_sensitive_and_never_extractable(softhsm, token_keys):
    require("pkcs11-tool")  # Debian package opensc
    listing = run(
        "pkcs11-tool",
        "--module",
        softhsm.module,
        "--token-label",
        TOKEN,
        "--login",
        "--pin",
        softhsm.pin,
        "--list-objects",
        "--type",
        "privkey",
    ).stdout.decode()
    for label in token_keys.values():
        block = listing.split(f"label:      {label}\n")[1].split("Private Key Object")[0]
        assert "never extractable" in block and "sensitive" in block, block


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072"])
def test_csr_signed_in_the_token_verifies(softhsm, token_keys, key_type, tmp_path):
    key = TokenKey.open(softhsm.config(token_keys[f"seal-{key_type}"]))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "กรมตัวอย่าง Electronic Seal")])
    csr = build_csr(key, subject)
    assert csr.is_signature_valid and csr.subject == subject
    assert csr.public_key() == key.public_key()
    from cryptography.hazmat.primitives.serialization import Encoding

    path = tmp_path / "req.csr"
    path.write_bytes(csr.public_bytes(Encoding.PEM))
    require("openssl")
    assert b"verify OK" in run("openssl", "req", "-in", path, "-verify", "-noout").stderr


def test_a_session_the_token_dropped_is_reopened(softhsm, token_keys):
    key = TokenKey.open(softhsm.config(token_keys["seal-ecdsa-p256"]))
    token: Pkcs11Token = key.token
    key.sign(b"warm up", "sha256")
    before = token.stats()
    for pooled in list(token._idle):  # the token forgets our sessions behind the pool's back
        pooled.session.close()
    data = b"after the session was lost"
    _verify(key.public_key(), key.sign(data, "sha256"), data)
    after = token.stats()
    assert after.replaced > before.replaced


def test_a_lost_login_is_renewed(softhsm, token_keys):
    key = TokenKey.open(softhsm.config(token_keys["seal-rsa-3072"]))
    token: Pkcs11Token = key.token
    before = token.stats()
    token._login_session.close()  # C_Logout: every session of the process is logged out
    data = b"after the login was lost"
    _verify(key.public_key(), key.sign(data, "sha256"), data)
    assert token.stats().logins == before.logins + 1


def test_signing_from_many_threads_shares_the_pool(softhsm, token_keys):
    keys = [
        TokenKey.open(softhsm.config(token_keys[f"seal-{t}"])) for t in ("ecdsa-p256", "rsa-3072")
    ]
    publics = [k.public_key() for k in keys]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                key, public = keys[(n + i) % 2], publics[(n + i) % 2]
                data = f"thread {n} signature {i}".encode()
                _verify(public, key.sign(data, "sha256"), data)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert keys[0].token.stats().idle <= 4  # the pool never keeps more than max_sessions


def _sign_in_child(key: TokenKey, queue) -> None:
    data = b"signed in a forked worker"
    try:
        _verify(key.public_key(), key.sign(data, "sha256"), data)
        queue.put(("ok", key.token.stats().logins))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent
        queue.put(("error", repr(exc)))


def test_a_forked_worker_logs_in_for_itself(softhsm, token_keys):
    import multiprocessing

    key = TokenKey.open(softhsm.config(token_keys["seal-ecdsa-p256"]))
    key.sign(b"parent first", "sha256")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_sign_in_child, args=(key, queue))
    child.start()
    outcome = queue.get(timeout=60)
    child.join(60)
    assert outcome[0] == "ok", outcome
    data = b"parent after the fork"
    _verify(key.public_key(), key.sign(data, "sha256"), data)  # the parent's sessions still work


def test_a_pin_the_token_starts_refusing_is_not_presented_again(softhsm, monkeypatch):
    from .conftest import PIN_CHANGE_TOKEN

    token = Pkcs11Token.open(softhsm.config("-", token=PIN_CHANGE_TOKEN))
    key = token.generate_key("ecdsa-p256", label="pin-change")
    key.sign(b"before", "sha256")
    # The PIN was changed on the HSM (SoftHSM caches it per process, so we change ours),
    # then the HSM restarted: the next signature has to log in again.
    monkeypatch.setattr(token, "_pin", "the-old-pin")
    token._login_session.close()

    attempts = []
    find_token = token._module.find_token

    class CountingToken:
        def __init__(self, real):
            self._real = real

        def open(self, **kw):
            if "user_pin" in kw:
                attempts.append(1)
            return self._real.open(**kw)

    monkeypatch.setattr(token._module, "find_token", lambda label: CountingToken(find_token(label)))
    with pytest.raises(TokenLoginFailed, match="wrong PIN"):
        key.sign(b"after the PIN changed", "sha256")
    for _ in range(3):
        with pytest.raises(TokenLoginFailed):
            key.sign(b"again", "sha256")
    assert len(attempts) == 1  # one refused login, never repeated
