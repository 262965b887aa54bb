"""Fixtures for the browser tests: Debian's chromium driven by Playwright, and the app on loopback.

Never ``playwright install``: the tests drive the system's ``/usr/bin/chromium``
(``EDOC_CHROMIUM`` to use another). Thai text needs a Thai font; the runner
may have none, so chromium is pointed (through fontconfig) at the Sarabun
font the renderer already depends on. The page itself ships no font.

Without chromium or ``node_modules/axe-core`` the tests are skipped with the
reason, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must install it: see tests/browser/conftest.py)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system chromium executable."""
    path = os.environ.get("EDOC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _missing("no chromium: apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core, installed from npm (``npm ci`` at the repository root)."""
    if not AXE.exists():
        _missing("no node_modules/axe-core: run `npm ci` at the repository root")
    return AXE


@pytest.fixture(scope="session")
def fontconfig_file(tmp_path_factory) -> Path:
    """A fontconfig file adding Sarabun to the system's fonts, for Thai on a bare runner."""
    from fontpkg_sarabun import ROOT as SARABUN

    folder = tmp_path_factory.mktemp("fontconfig")
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{SARABUN / 'files'}</dir>\n"
        f"  <cachedir>{folder / 'cache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


@pytest.fixture(scope="module")
def browser(chromium_path, fontconfig_file) -> Iterator:
    """A headless chromium for one test module.

    Module scope, not session: while Playwright's sync API is active it keeps an
    event loop marked running on the main thread, and later tests that seal
    (``asyncio.run``) would fail if it outlived this module.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
            env={**os.environ, "FONTCONFIG_FILE": str(fontconfig_file)},
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def browser_home(make_home):
    """A fresh home for the served app."""
    return make_home()


@pytest.fixture
def live_server(browser_home) -> Iterator[str]:
    """The real app (``create_app``) in uvicorn on 127.0.0.1, on a port the OS picks."""
    from api.app import create_app
    from tests.api.conftest import serve_in_thread

    yield from serve_in_thread(create_app(browser_home.settings, home=browser_home))


@pytest.fixture
def screenshots() -> Path:
    """Where the tests keep their screenshots (an artefact of the run, not in git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
