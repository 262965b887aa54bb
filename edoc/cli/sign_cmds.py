"""``edoc sign`` and ``edoc verify``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from signing.seal import LEVELS

from ..verification import Verifier
from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_home, read_input_file


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

    v = sub.add_parser("verify", help="verify sealed PDFs; exit 0 only if all are valid")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--json", action="store_true", help="print the reports as JSON")
    v.add_argument("--at", help="validate at this date/time (ISO 8601), e.g. 2035-01-01")
    v.add_argument(
        "--seal-only", action="store_true",
        help="check the seals only, not the registry (a PDF sealed with `edoc sign` is not on "
        "record: without this it is INDETERMINATE)",
    )
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
    home = open_home(args)
    at = parse_when(args.at) if args.at else None
    verifier = Verifier.for_home(home)
    if args.seal_only:
        verifier = Verifier(policy=home.trust_policy(), budgets=verifier.budgets)
    reports = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"no such file: {name}", EXIT_USAGE)
        reports.append(verifier.verify(path.read_bytes(), name=name, at=at))
    if args.json:
        out = [r.to_dict() for r in reports]
        json.dump(out if len(out) > 1 else out[0], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for r in reports:
            print(f"{r.file}: {r.verdict.upper()}")
            for reason in r.reasons:
                print(f"  - {reason}")
            for s in r.signatures:
                ts = f", timestamp {s.timestamp.time:%Y-%m-%d %H:%M:%S} by {s.timestamp.tsa}" if s.timestamp else ""
                via = f", trusted via {s.trust_anchor}" if s.trust_anchor else ""
                print(f"  {s.kind} {s.field_name}: {s.signer or 'unknown signer'}{ts}{via}; "
                      f"{s.ades_indication}")
    return EXIT_OK if all(r.valid for r in reports) else EXIT_FAIL
