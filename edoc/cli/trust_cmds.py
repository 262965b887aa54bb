"""``edoc trust``: the trust store (which roots this home's verifier accepts).

``add FILE --name NAME [--for seal|tsa]`` trusts one certificate, ``list``
shows every anchor (the home's own roots too), ``remove NAME`` stops trusting
one, ``import-tl FILE.xml [--signer CERT]`` installs the services of an ETSI
TS 119 612 trusted list after checking its XML signature. A running ``edoc
serve`` reads the store when it starts: restart it after a change.
"""

from __future__ import annotations

import json

from ._common import EXIT_OK, EXIT_USAGE, CliError, open_home, read_input_file


def register(sub) -> None:
    """Add the ``trust`` command group."""
    trust = sub.add_parser("trust", help="manage the trusted roots (trust store)").add_subparsers(
        dest="trust_command", metavar="SUBCOMMAND"
    )
    trust.required = True

    p = trust.add_parser("add", help="trust a root certificate (PEM or DER)")
    p.add_argument("file", help="the certificate file")
    p.add_argument("--name", required=True, help="a short name for the anchor")
    p.add_argument("--for", dest="purpose", choices=("seal", "tsa"), default=None,
                   help="trust it for seals only or for timestamp authorities only (default both)")
    p.set_defaults(func=cmd_add)

    p = trust.add_parser("list", help="list the trusted roots")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = trust.add_parser("remove", help="stop trusting a root")
    p.add_argument("name")
    p.set_defaults(func=cmd_remove)

    p = trust.add_parser("import-tl", help="import an ETSI TS 119 612 trusted list (XML)")
    p.add_argument("file", help="the trusted list (XML, signed)")
    p.add_argument("--signer", help="the list operator's certificate (needed the first time)")
    p.add_argument("--name", help="the list's name in the store (default: its territory)")
    p.set_defaults(func=cmd_import_tl)


def _certificate(path: str):
    from certs.truststore import load_one_certificate

    return load_one_certificate(read_input_file(path))


def cmd_add(args) -> int:
    store = open_home(args).trust_store()
    anchor = store.add(_certificate(args.file), name=args.name, purpose=args.purpose or "any")
    print(f"trusted {anchor.name} for {anchor.purpose}: {anchor.cert.subject.rfc4514_string()}")
    return EXIT_OK


def cmd_list(args) -> int:
    rows = [a.describe() for a in open_home(args).trust_store().anchors()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for row in rows:
        status = "" if row["status"] is None else f"  [{str(row['status']).rsplit('/', 1)[-1]}]"
        inactive = "" if row["active"] else "  (not an anchor now)"
        print(f"{row['name']:<32} {row['for']:<4} {row['source']:<10} until {row['not_after']}"
              f"  {row['subject']}{status}{inactive}")
    return EXIT_OK


def cmd_remove(args) -> int:
    open_home(args).trust_store().remove(args.name)
    print(f"no longer trusted: {args.name}")
    return EXIT_OK


def cmd_import_tl(args) -> int:
    from certs.trustlist import read_trusted_list

    store = open_home(args).trust_store()
    xml = read_input_file(args.file)
    signer = _certificate(args.signer) if args.signer else None
    pinned_for = None
    if signer is None:
        pinned_for = args.name or _territory_hint(xml)
        signer = store.pinned_signer(pinned_for) if pinned_for else None
        if signer is None:
            raise CliError(
                "name the list operator's certificate with --signer (the first import pins it)",
                EXIT_USAGE,
            )
    name, tl = read_trusted_list(xml, signer=signer, list_name=args.name)
    if pinned_for is not None and name != pinned_for:
        raise CliError(f"the list is for {name!r}, not {pinned_for!r}: name its signer with --signer")
    before = store.pinned_signer(name)
    if before is not None and before != signer:
        print(f"note: the signer of trusted list {name} changed to {signer.subject.rfc4514_string()}")
    previous = store.lists().get(name)
    if previous and int(previous.get("sequence") or 0) > tl.sequence:
        raise CliError(
            f"this list (sequence {tl.sequence}) is older than the one imported "
            f"(sequence {previous['sequence']}); not imported"
        )
    store.replace_list(name, list(tl.anchors), signer=signer, info=tl.info())
    active = sum(a.active_at() for a in tl.anchors)
    print(f"imported trusted list {name} ({tl.territory}, sequence {tl.sequence}): "
          f"{len(tl.anchors)} certificates, {active} granted now, {tl.skipped} services skipped")
    return EXIT_OK


def _territory_hint(xml: bytes) -> str | None:
    """The list's territory before its signature is checked: only to find the pinned signer."""
    import re

    match = re.search(rb"<(?:\w+:)?SchemeTerritory>\s*([A-Za-z]{2})\s*<", xml)
    return match.group(1).decode().lower() if match else None

