"""Fixtures for the command-line tests."""

from __future__ import annotations

import pytest

from edoc.cli import main


@pytest.fixture
def cli(home, capsys):
    """Run ``edoc --home HOME ARGS...`` in-process; returns (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home.path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
