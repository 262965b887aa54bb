"""The ``edoc`` command line.

Each command group lives in its own module exposing ``register(subparsers)``;
:func:`main` wires them together and turns every expected error into a
message on stderr and an exit code: 0 success, 1 failure or a verdict other
than valid, 2 usage error. A traceback is never the answer to bad input.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ._common import CliError, handle_errors

#: modules under edoc.cli that contribute commands, in help order
COMMAND_MODULES = (
    "pki_cmds",
    "sign_cmds",
    "document_cmds",
    "serve_cmd",
    "storage_cmds",
    "archive_cmds",
    "batch_cmds",
    "agency_cmds",
    "trust_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available command."""
    parser = argparse.ArgumentParser(
        prog="edoc",
        description="Issue, seal, store and verify official electronic documents.",
    )
    parser.add_argument("--home", help="edoc home folder (default: $EDOC_HOME or ~/.edoc)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # pyHanko logs expected validation failures (untrusted chains) with tracebacks.
        for noisy in ("pyhanko", "pyhanko_certvalidator", "fontTools"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
    with handle_errors() as status:
        from edoc import compat

        compat.install()  # patches of other libraries, after their version check
        status.code = args.func(args)
    return status.code


def run() -> None:
    """Console-script entry point."""
    try:
        sys.exit(main())
    except BrokenPipeError:  # `edoc ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        sys.exit(1)


__all__ = ["CliError", "build_parser", "main", "run"]
