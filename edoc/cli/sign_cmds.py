"""``edoc sign`` and ``edoc verify``."""

from __future__ import annotations

from datetime import UTC, datetime

from signing.seal import LEVELS

from . import _verify
from ._common import EXIT_OK, EXIT_USAGE, CliError, open_home, read_input_file


def register(sub) -> None:
    """Add the commands of this module."""
    p = sub.add_parser("sign", help="seal an existing PDF with the agency seal")
    p.add_argument("input", help="PDF to seal")
    p.add_argument("output", help="where to write the sealed PDF")
    p.add_argument("--level", choices=LEVELS, help="PAdES level (default: configured level)")
    p.add_argument(
        "--visible",
        metavar="PAGE,X1,Y1,X2,Y2",
        help="draw a visible stamp at this box (page from 0, PDF points)",
    )
    p.set_defaults(func=cmd_sign)

    v = sub.add_parser("verify", help="verify signed PDFs; exit 0 only if all are valid")
    _verify.add_arguments(v)
    v.set_defaults(func=cmd_verify)


def _parse_box(text: str):
    try:
        page, *coords = (float(x) for x in text.split(","))
    except ValueError:
        coords = []
    if len(coords) != 4:
        raise CliError("--visible takes PAGE,X1,Y1,X2,Y2 (five numbers)", EXIT_USAGE)
    return (int(page), *coords)


def cmd_sign(args) -> int:
    home = open_home(args)
    data = read_input_file(args.input)
    box = _parse_box(args.visible) if args.visible else None
    # in parts: a large input is written out as it was read, the signature after it
    sealed = home.sealer(args.level).seal_parts(data, stamp_box=box)
    with open(args.output, "wb") as out:
        sealed.write_to(out)
    print(f"sealed {args.input} -> {args.output} ({home.sealer(args.level).settings.level})")
    return EXIT_OK


def parse_when(text: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"--at: not an ISO 8601 date: {text!r}", EXIT_USAGE) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_verify(args) -> int:
    return _verify.cmd_verify(args, parse_when)
