"""A stranger's PKI: another producer's root, unknown to the test home."""

from __future__ import annotations

import pytest

from edoc.home import Home
from edoc.settings import Settings
from tests.fixtures.pki import BASE_URL, PASSPHRASE


@pytest.fixture(scope="session")
def stranger_root(tmp_path_factory):
    return tmp_path_factory.mktemp("stranger")


@pytest.fixture
def stranger(stranger_root, monkeypatch) -> Home:
    """A home of another agency, with its own root CA (names unlike the test home's)."""
    monkeypatch.setenv("EDOC_KEY_PASSPHRASE", PASSPHRASE)
    settings = Settings(
        home=stranger_root,
        key_type="ecdsa-p256",
        key_passphrase=PASSPHRASE,
        public_base_url=BASE_URL,
        agency_id="other-university",
        agency_name_en="Other University",
        agency_name_th="มหาวิทยาลัยอื่น",
    )
    if (stranger_root / "pki" / "seal.pem").exists():
        return Home.open(settings)
    return Home.create(settings)
