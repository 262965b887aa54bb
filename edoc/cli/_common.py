"""Helpers shared by the CLI command modules."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

from certs.errors import CertsError
from signing.errors import SigningError
from storage.errors import StorageError

from ..errors import EdocError
from ..home import Home
from ..settings import Settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A message for the user and the exit status to end with."""

    def __init__(self, message: str, code: int = EXIT_FAIL):
        super().__init__(message)
        self.code = code


@dataclass
class _Status:
    code: int = EXIT_OK


@contextlib.contextmanager
def handle_errors():
    """Turn expected errors into ``edoc: message`` and an exit status."""
    status = _Status()
    try:
        yield status
    except CliError as exc:
        print(f"edoc: {exc}", file=sys.stderr)
        status.code = exc.code
    except (EdocError, CertsError, SigningError) as exc:
        print(f"edoc: {exc.diagnostics()}", file=sys.stderr)
        status.code = EXIT_FAIL
    except StorageError as exc:
        print(f"edoc: {exc.diagnostics()}", file=sys.stderr)
        status.code = EXIT_FAIL
    except KeyboardInterrupt:
        print("edoc: interrupted", file=sys.stderr)
        status.code = 130


def settings_from(args) -> Settings:
    """Settings for this invocation (``--home`` wins over EDOC_HOME)."""
    try:
        if getattr(args, "home", None):
            return Settings(home=Path(args.home).expanduser())
        return Settings()
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise CliError(f"invalid configuration: {exc}", EXIT_USAGE) from exc


def open_home(args) -> Home:
    """The existing home of this invocation."""
    return Home.open(settings_from(args))


def read_input_file(path: str) -> bytes:
    """Read a file named on the command line, with a clear error when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from exc
