"""Every page loads from this service alone: no request leaves for another origin (no CDN).

An agency's closed network has no Internet: a page that loads Swagger UI, a
font or a script from elsewhere is blank or broken there. Each page is loaded in
chromium with every request recorded; any whose origin is not the service's
fails the test. ``/docs`` must also really render: an operation is visible.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import example_data

pytestmark = pytest.mark.browser


@pytest.fixture
def document_id(browser_home) -> str:
    issuer = browser_home.issuer()
    data = example_data(browser_home, "certificate", "th")
    with ThreadPoolExecutor(1) as pool:  # sealing runs its own event loop; Playwright holds this one
        return pool.submit(issuer.issue, "certificate", data, lang="th").result().record.id


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _load(browser, url: str, wait_for: str) -> list[str]:
    """Load ``url``, wait until ``wait_for`` is visible, and return every request made."""
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    try:
        response = page.goto(url, wait_until="networkidle")
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        try:
            page.locator(wait_for).first.wait_for(state="visible", timeout=15_000)
        except Exception as exc:  # say what the page tried to load, e.g. a CDN
            raise AssertionError(f"{url}: {wait_for!r} never became visible; requests: {requests}") from exc
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    return requests


@pytest.mark.parametrize(
    ("path", "wait_for"),
    [
        ("/docs", ".opblock-summary"),  # Swagger UI rendered an operation of the OpenAPI
        ("/verify", "form.upload"),
        ("/verify/{id}", "#status-h"),
        ("/", "a[href^='/verify']"),
    ],
)
def test_page_loads_nothing_from_another_origin(browser, live_server, document_id, path, wait_for):
    url = live_server + path.format(id=document_id)
    requests = _load(browser, url, wait_for)
    own = _origin(live_server)
    foreign = [r for r in requests if not r.startswith(("data:", "blob:")) and _origin(r) != own]
    assert not foreign, f"{path} made requests to other origins: {foreign}"
    assert len(requests) >= 2, requests  # the page and at least one of its files


def test_swagger_ui_shows_the_issuing_operation(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(live_server + "/docs")
        operation = page.locator(".opblock-summary-path", has_text="/v1/documents").first
        operation.wait_for(state="visible", timeout=15_000)
        assert page.locator(".swagger-ui .info .title").first.inner_text().startswith("edoc")
    finally:
        context.close()
