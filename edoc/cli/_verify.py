"""``edoc verify``: reports (text, JSON, ETSI XML), evidence and accepted data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from certs.keys import load_certificates
from signing import etsi
from signing._fields import open_pdf
from signing.revisions import revision_bytes

from ..intake import NoVerifiedData, summary_row, verified_data, write_summary
from ..verification import Verifier
from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_home


def add_arguments(v) -> None:
    """The options of ``edoc verify``."""
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--json", action="store_true", help="print the reports as JSON (docs/verify-report.md)")
    v.add_argument("--format", choices=("text", "json", "etsi"), default=None,
                   help="report format; etsi: an ETSI TS 119 102-2 validation report (XML)")
    v.add_argument("--at", help="validate at this date/time (ISO 8601), e.g. 2035-01-01")
    v.add_argument("--trust", action="append", default=[], metavar="CERT.pem",
                   help="also trust this root certificate (PEM or DER; repeatable)")
    v.add_argument(
        "--seal-only", action="store_true",
        help="check the seals only, not the registry (a PDF sealed with `edoc sign` is not on "
        "record: without this it is INDETERMINATE)",
    )
    v.add_argument("--password", help="password of an encrypted PDF (the empty one is tried anyway)")
    v.add_argument("--extract-revision", type=int, metavar="N",
                   help="write revision N (1 = the original file) to --out")
    v.add_argument("--out", metavar="PATH", help="where --extract-revision writes (default FILE.revN.pdf)")
    v.add_argument("--compare-revision", type=int, metavar="N",
                   help="render revision N and the final file, report the page regions that differ")
    v.add_argument("--diff-dir", metavar="DIR", help="with --compare-revision: write marked-up PNGs here")
    v.add_argument("--data", metavar="OUT.json",
                   help="write the data attached inside the sealed revision (valid files only)")
    v.add_argument("--summary", metavar="RESULTS.csv",
                   help="write one CSV row per file: verdict, agency, document id, status, data")


def cmd_verify(args, parse_when) -> int:
    home = open_home(args)
    at = parse_when(args.at) if args.at else None
    fmt = args.format or ("json" if args.json else "text")
    verifier = Verifier.for_home(home)
    if args.seal_only:
        verifier = Verifier(policy=home.trust_policy(), budgets=verifier.budgets)
    if args.trust:
        anchors = []
        for name in args.trust:
            try:
                anchors += load_certificates(Path(name))
            except Exception as exc:
                raise CliError(f"--trust {name}: not a certificate file ({exc})", EXIT_USAGE) from exc
        verifier = verifier.trusting(anchors)
    if fmt == "etsi" and len(args.files) > 1:
        raise CliError("--format etsi writes one report: give one file", EXIT_USAGE)
    if (args.data or args.extract_revision or args.compare_revision) and len(args.files) > 1:
        raise CliError("--data, --extract-revision and --compare-revision take one file", EXIT_USAGE)
    reports, contents = [], []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"no such file: {name}", EXIT_USAGE)
        data = path.read_bytes()
        contents.append(data)
        reports.append(verifier.verify(data, name=name, at=at, password=args.password))
    if args.extract_revision is not None:
        _extract(args, contents[0])
    if args.data:
        _write_data(args, reports[0], contents[0])
    if args.compare_revision is not None:
        _compare(args, contents[0])
    if args.summary:
        with open(args.summary, "w", encoding="utf-8", newline="") as sheet:
            write_summary((summary_row(r, d) for r, d in zip(reports, contents, strict=True)), sheet)
        print(f"summary of {len(reports)} file(s) written to {args.summary}", file=sys.stderr)
    if fmt == "etsi":
        sys.stdout.write(etsi.etsi_report(reports[0]).decode("utf-8") + "\n")
    elif fmt == "json":
        out = [r.to_dict() for r in reports]
        json.dump(out if len(out) > 1 else out[0], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for r in reports:
            _print_text(r)
    return EXIT_OK if all(r.valid for r in reports) else EXIT_FAIL


def _print_text(r) -> None:
    print(f"{r.file}: {r.verdict.upper()}")
    for reason in r.reasons:
        print(f"  - {reason}")
    for s in r.signatures:
        ts = f", timestamp {s.timestamp.time:%Y-%m-%d %H:%M:%S} by {s.timestamp.tsa}" if s.timestamp else ""
        via = f", trusted via {s.trust_anchor}" if s.trust_anchor else ""
        print(f"  {s.kind} {s.field_name}: {s.signer or 'unknown signer'}{ts}{via}; {s.ades_indication}")
    for name in r.unsigned_fields:
        print(f"  unsigned field {name}")
    for rev in r.revisions[1:]:
        verdict = {True: " (allowed)", False: f" (NOT allowed by {rev.forbidden_by})", None: ""}
        print(f"  revision {rev.number}: {rev.description or 'no change'}{verdict[rev.permitted]}")


def _extract(args, data: bytes) -> None:
    try:
        reader, _ = open_pdf(data, password=args.password)
        part = revision_bytes(data, reader, args.extract_revision)
    except ValueError as exc:
        raise CliError(f"--extract-revision: {exc}", EXIT_USAGE) from exc
    except Exception as exc:
        raise CliError(f"--extract-revision: the file cannot be read ({exc})", EXIT_FAIL) from exc
    out = args.out or f"{args.files[0]}.rev{args.extract_revision}.pdf"
    Path(out).write_bytes(part)
    print(f"revision {args.extract_revision} ({len(part)} bytes) written to {out}", file=sys.stderr)


def _write_data(args, report, data: bytes) -> None:
    try:
        found = verified_data(report, data, password=args.password)
    except NoVerifiedData as exc:
        print(f"no data written: {exc}", file=sys.stderr)
        return
    Path(args.data).write_text(json.dumps(found, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"data covered by seal {found['covered_by']} written to {args.data}", file=sys.stderr)


def _compare(args, data: bytes) -> None:
    from signing import visual

    try:
        reader, _ = open_pdf(data, password=args.password)
        signed = revision_bytes(data, reader, args.compare_revision)
        diffs = visual.compare(signed, data, out_dir=Path(args.diff_dir) if args.diff_dir else None,
                               password=args.password)
    except ValueError as exc:
        raise CliError(f"--compare-revision: {exc}", EXIT_USAGE) from exc
    except visual.RenderError as exc:
        raise CliError(f"--compare-revision: {exc}", EXIT_FAIL) from exc
    for d in diffs:
        if not d.changed:
            print(f"page {d.page}: looks the same as in revision {args.compare_revision}", file=sys.stderr)
            continue
        where = d.note or ", ".join(f"({x0:g},{y0:g})-({x1:g},{y1:g})" for x0, y0, x1, y1 in d.boxes)
        shown = f" [{d.image}]" if d.image else ""
        print(f"page {d.page}: CHANGED since revision {args.compare_revision}: {where}{shown}",
              file=sys.stderr)
