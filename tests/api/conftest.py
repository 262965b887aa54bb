"""Fixtures for the HTTP service: an app on a fresh home, clients, API keys, issued documents,
and the service running in a real uvicorn on loopback.

- ``app`` / ``client``: the FastAPI app for a fresh home (shared session PKI) and a TestClient.
  Change settings with ``@pytest.mark.parametrize("api_settings", [{"max_upload_bytes": 1000}])``
  or build more apps with ``make_app(**settings)``.
- ``keys``: API keys of the home's agency (``issuer``, ``auditor``, ``admin``) and of another
  agency (``other_issuer``, ``other_auditor``); each has ``.secret``, ``.key`` and ``.headers``.
- ``issue(...)``: issue through the API and return the JSON answer; ``document`` is one such.
- ``other_agency_document``: a document another agency issued into the same registry.
- ``live_server``: uvicorn serving ``app`` in a thread on 127.0.0.1, port chosen by the OS;
  yields the base URL (``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from edoc.home import Home
from storage.registry import ApiKey, DocumentRecord

AGENCY = "test-agency"
OTHER_AGENCY = "other-agency"


@dataclass(frozen=True)
class Credential:
    """An API key and its secret."""

    key: ApiKey
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        """Request headers authenticating with this key."""
        return {"Authorization": f"Bearer {self.secret}"}


@dataclass(frozen=True)
class Keys:
    """One key per role of the home's agency, and keys of another agency."""

    issuer: Credential
    auditor: Credential
    admin: Credential
    other_issuer: Credential
    other_auditor: Credential
    other_admin: Credential
    platform: Credential


@pytest.fixture
def api_settings() -> dict[str, Any]:
    """Settings overrides for ``api_home`` (parametrize this to change them)."""
    return {}


@pytest.fixture
def api_home(make_home, api_settings) -> Home:
    """A fresh home of agency ``test-agency`` for the service."""
    return make_home(**api_settings)


@pytest.fixture
def app(api_home) -> FastAPI:
    """The edoc app on ``api_home``."""
    return create_app(api_home.settings, home=api_home)


@pytest.fixture
def make_app(make_home) -> Callable[..., FastAPI]:
    """Build another app on a fresh home with these settings overrides."""

    def make(**settings: Any) -> FastAPI:
        home = make_home(**settings)
        return create_app(home.settings, home=home)

    return make


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    """A TestClient for ``app`` (lifespan run)."""
    with TestClient(app) as c:
        yield c


def add_key(home: Home, agency: str, *roles: str, label: str = "test") -> Credential:
    """Create an API key directly in the home's registry."""
    key, secret = home.registry().create_api_key(agency=agency, roles=set(roles), label=label)
    return Credential(key, secret)


def add_agency(home: Home, agency: str, name_en: str = "Other Agency", name_th: str = "หน่วยงานอื่น") -> None:
    """Onboard ``agency`` onto the home's platform (its own seal from the built-in CA)."""
    from edoc.agencies import AgencyService

    if home.registry().agencies.find(agency) is None:
        AgencyService(home, actor="test").add(agency, name_th=name_th, name_en=name_en)


def add_platform_key(home: Home) -> Credential:
    """A platform key (manages agencies; no agency's data)."""
    from storage.registry import PLATFORM_AGENCY

    key, secret = home.registry().create_api_key(agency=PLATFORM_AGENCY, roles={"platform"}, label="platform")
    return Credential(key, secret)


@pytest.fixture
def keys(api_home) -> Keys:
    """API keys of every role, for this agency and another one (both agencies of the platform)."""
    add_agency(api_home, OTHER_AGENCY)
    return Keys(
        issuer=add_key(api_home, AGENCY, "issuer", label="issuer"),
        auditor=add_key(api_home, AGENCY, "auditor", label="auditor"),
        admin=add_key(api_home, AGENCY, "admin", label="admin"),
        other_issuer=add_key(api_home, OTHER_AGENCY, "issuer", label="other issuer"),
        other_auditor=add_key(api_home, OTHER_AGENCY, "auditor", label="other auditor"),
        other_admin=add_key(api_home, OTHER_AGENCY, "admin", label="other admin"),
        platform=add_platform_key(api_home),
    )


def example_data(home: Home, template: str = "certificate", lang: str = "th") -> dict[str, Any]:
    """A copy of a built-in template's example data."""
    return copy.deepcopy(dict(home.templates().get(template).examples[lang]))


@pytest.fixture
def issue(client, keys, api_home) -> Callable[..., dict[str, Any]]:
    """Issue a document through the API (as ``keys.issuer`` unless told) and return its JSON."""

    def issue(template: str = "certificate", lang: str = "th", data: dict | None = None, *,
              idempotency_key: str | None = None, credential: Credential | None = None,
              expect: int = 201) -> dict[str, Any]:
        headers = dict((credential or keys.issuer).headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        body = {"template": template, "lang": lang,
                "data": data if data is not None else example_data(api_home, template, lang)}
        r = client.post("/v1/documents", json=body, headers=headers)
        assert r.status_code == expect, r.text
        return r.json()

    return issue


@pytest.fixture
def document(issue) -> dict[str, Any]:
    """A certificate issued through the API by ``keys.issuer``."""
    return issue()


@pytest.fixture
def other_agency_document(api_home) -> DocumentRecord:
    """A document of ``other-agency``, another agency of the same platform, sealed with its own key."""
    add_agency(api_home, OTHER_AGENCY)
    issuer = api_home.issuer(OTHER_AGENCY)
    return issuer.issue("certificate", example_data(api_home, "certificate", "en"), lang="en").record


def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run ``app`` in uvicorn on a loopback port the OS picks; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """``app`` served by a real uvicorn on 127.0.0.1; the base URL."""
    yield from serve_in_thread(app)
