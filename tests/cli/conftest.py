"""Fixtures for the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli(home, run_edoc):
    """Run ``edoc --home HOME ARGS...`` on the test home; returns (status, stdout, stderr)."""
    return lambda *args: run_edoc(home, *args)
