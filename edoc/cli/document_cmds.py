"""``edoc templates``, ``edoc issue``, ``edoc revoke`` and ``edoc show``: documents from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from signing.seal import LEVELS

from ..revocation_reasons import CATEGORIES, label
from ._common import EXIT_OK, EXIT_USAGE, CliError, open_home, read_input_file


def register(sub) -> None:
    """Add the commands of this module."""
    t = sub.add_parser("templates", help="list templates, or show one's fields and example")
    t.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    t.add_argument("name", nargs="?", help="template name (for show)")
    t.add_argument("--lang", help="example language for show (default: the template's first)")
    t.add_argument("--example-json", action="store_true",
                   help="show: print only the example data, as JSON (edoc templates show "
                        "certificate --example-json > holder.json)")
    t.add_argument("--csv", action="store_true",
                   help="show: print a CSV header and the example row, to start a batch spreadsheet")
    t.set_defaults(func=cmd_templates)

    i = sub.add_parser("issue", help="render, seal, store and register a document")
    i.add_argument("template")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="JSON file with the document's data ('-' for stdin)")
    src.add_argument("--example", action="store_true", help="use the template's example data")
    i.add_argument("--lang", help="document language (th or en)")
    i.add_argument("--level", choices=LEVELS, help="PAdES level (default: template/agency)")
    i.add_argument("--out", help="also write the sealed PDF here")
    i.add_argument("--idempotency-key", help="retrying with the same key never issues twice")
    i.add_argument("--agency", help="the issuing agency, sealed with its key (default: the home's first)")
    i.set_defaults(func=cmd_issue)

    r = sub.add_parser("revoke", help="revoke an issued document (it stays on record)")
    r.add_argument("id")
    r.add_argument("--reason", required=True)
    r.add_argument("--category", choices=CATEGORIES,
                   help="what citizens are shown instead of the reason (the reason stays with the agency)")
    r.set_defaults(func=cmd_revoke)

    s = sub.add_parser("show", help="show a document's registry record")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)


def cmd_templates(args) -> int:
    library = open_home(args).templates()
    if args.action == "list":
        for name in library.names():
            tpl = library.get(name)
            langs = ",".join(tpl.languages)
            print(f"{name:<14} [{langs}] {tpl.title.get('en') or next(iter(tpl.title.values()))}")
        return EXIT_OK
    if not args.name:
        raise CliError("templates show needs a template name", EXIT_USAGE)
    tpl = library.get(args.name)
    if args.csv:
        from .batch_cmds import print_template_csv

        return print_template_csv(tpl, args.lang)
    lang = args.lang or tpl.languages[0]
    if lang not in tpl.examples:
        raise CliError(f"{tpl.name} has no {lang} example; it has {', '.join(tpl.examples)}", EXIT_USAGE)
    example = json.dumps(tpl.examples[lang], ensure_ascii=False, indent=2)
    if args.example_json:
        print(example)
        return EXIT_OK
    print(f"{tpl.name}: {tpl.title.get('th', '')} / {tpl.title.get('en', '')}")
    for code, text in tpl.description.items():
        print(f"  {code}: {text}")
    print("\nfields:")
    for f in tpl.fields():
        req = "required" if f.required else "optional"
        desc = f" - {f.description}" if f.description else ""
        print(f"  {f.path:<28} {f.type:<18} {req}{desc}")
    print(f"\nexample ({lang}; as a file to edit: edoc templates show {tpl.name} --lang {lang}"
          f" --example-json > data.json):")
    print(example)
    return EXIT_OK


def _load_data(args, home) -> tuple[dict, str | None]:
    if args.example:
        tpl = home.templates(getattr(args, "agency", None)).get(args.template)
        lang = args.lang or tpl.languages[0]
        if lang not in tpl.examples:
            raise CliError(f"{tpl.name} has no {lang} example", EXIT_USAGE)
        return tpl.examples[lang], lang
    if args.data == "-":
        import sys

        raw = sys.stdin.buffer.read()
    else:
        raw = read_input_file(args.data)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"{args.data} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CliError(f"{args.data} must hold a JSON object")
    return data, args.lang


def cmd_issue(args) -> int:
    home = open_home(args)
    data, lang = _load_data(args, home)
    issuer = home.issuer(args.agency)
    doc = issuer.issue(
        args.template,
        data,
        lang=lang,
        level=args.level,
        idempotency_key=args.idempotency_key,
        actor="cli",
    )
    if args.out:
        Path(args.out).write_bytes(issuer.pdf(doc.record))
    note = "" if doc.created else " (already issued with this idempotency key)"
    print(f"id: {doc.id}{note}")
    print(f"verify: {doc.verify_url}")
    print(f"sha256: {doc.record.sha256}")
    if args.out:
        print(f"written: {args.out}")
    return EXIT_OK


def cmd_revoke(args) -> int:
    record = open_home(args).issuer().revoke(args.id, reason=args.reason, actor="cli",
                                             category=getattr(args, "category", None))
    shown = label(record.revocation_category, "en")
    print(f"{record.id}: revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S} UTC ({record.revocation_reason}; "
          f"citizens see: {shown})")
    return EXIT_OK


def cmd_show(args) -> int:
    import dataclasses

    record = open_home(args).issuer().get(args.id)
    values = dataclasses.asdict(record)
    values.pop("holder_token_hash", None)
    if args.json:
        print(json.dumps(values, default=str, ensure_ascii=False, indent=2))
    else:
        for k, v in values.items():
            if v is not None:
                print(f"{k:<18} {v}")
    return EXIT_OK
