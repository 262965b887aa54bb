"""``edoc agency ...``, ``edoc platform-key`` and ``edoc upgrade``: the platform's agencies.

Whoever runs the CLI holds the home's files, so acts for the platform; the
HTTP API enforces the roles (``api/deps.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_home, read_input_file
from .apikey_cmds import cli_actor

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


def register(sub) -> None:
    """Add the commands of this module."""
    a = sub.add_parser("agency", help="onboard and manage the platform's agencies")
    s = a.add_subparsers(dest="agency_command", metavar="ACTION")
    s.required = True

    add = s.add_parser("add", help="create an agency with its own seal and print its first admin key once")
    add.add_argument("id", help="agency id: lowercase letters, digits, dots, dashes (e.g. dopa)")
    add.add_argument("--name-th", required=True, help="the agency's Thai name")
    add.add_argument("--name-en", required=True, help="the agency's English name")
    add.add_argument("--address-th")
    add.add_argument("--address-en")
    add.add_argument("--contact", help="phone, e-mail or web address citizens may use")
    add.add_argument("--logo", help="PNG or JPEG shown on its documents and public page")
    add.add_argument("--level", choices=LEVELS, help="its default PAdES level (default: the platform's)")
    add.add_argument("--external-ca", action="store_true",
                     help="create the key only; `edoc agency csr` writes the request for its CA")
    add.add_argument("--hsm", metavar="LABEL", nargs="?", const="",
                     help="generate the seal key in the configured PKCS#11 token (label: edoc-seal-ID)")
    add.add_argument("--json", action="store_true", help="print the agency and its admin key as JSON")
    add.set_defaults(func=cmd_add)

    ls = s.add_parser("list", help="list the agencies")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    sh = s.add_parser("show", help="show one agency and its seal certificate")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)

    for name, active, text in (("disable", False, "stop an agency issuing (its documents still verify)"),
                               ("enable", True, "let a disabled agency issue again")):
        p = s.add_parser(name, help=text)
        p.add_argument("id")
        p.set_defaults(func=cmd_status, active=active)

    c = s.add_parser("csr", help="write a PKCS#10 request for the agency's seal key")
    c.add_argument("id")
    c.add_argument("--out", help="file to write (default: stdout)")
    c.set_defaults(func=cmd_csr)

    i = s.add_parser("import-cert", help="install the outside CA's certificate for the seal key")
    i.add_argument("id")
    i.add_argument("cert", help="the certificate (PEM or DER; may hold the chain)")
    i.add_argument("--chain", help="the issuing CA certificates up to the root (PEM)")
    i.set_defaults(func=cmd_import_cert)

    r = s.add_parser("rotate-key", help="new seal key and certificate; old documents keep verifying")
    r.add_argument("id")
    r.set_defaults(func=cmd_rotate)

    b = s.add_parser("brand", help="change names, address, contact, logo or default level")
    b.add_argument("id")
    for flag in ("--name-th", "--name-en", "--address-th", "--address-en", "--contact", "--logo"):
        b.add_argument(flag)
    b.add_argument("--level", choices=LEVELS)
    b.set_defaults(func=cmd_brand)

    t = s.add_parser("template", help="add a template folder to the agency's own (validated first)")
    t.add_argument("id")
    t.add_argument("folder", help="folder with template.json, schema.json and examples/")
    t.set_defaults(func=cmd_template)

    k = s.add_parser("key", help="create an API key of the agency (issuer, auditor, admin)")
    k.add_argument("id")
    k.add_argument("--role", action="append", required=True, choices=("issuer", "auditor", "admin"))
    k.add_argument("--label", default="")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_key)

    v = s.add_parser("audit-verify", help="check the agency's own audit chain (and the checkpoints)")
    v.add_argument("id")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_audit_verify)

    pk = sub.add_parser("platform-key", help="create a platform key (manages agencies, reads no documents)")
    pk.add_argument("--label", default="platform admin")
    pk.add_argument("--json", action="store_true")
    pk.set_defaults(func=cmd_platform_key)

    up = sub.add_parser("upgrade", help="upgrade a single-agency home into a platform, in place")
    up.set_defaults(func=cmd_upgrade)


def _service(args):
    from ..agencies import AgencyService

    home = open_home(args)
    return home, AgencyService(home, actor=cli_actor())


def _row(record, home=None) -> dict:
    row = {
        "id": record.id, "name_th": record.name_th, "name_en": record.name_en,
        "address_th": record.address_th, "address_en": record.address_en, "contact": record.contact,
        "logo": record.logo is not None, "signing_level": record.signing_level, "status": record.status,
        "seal_key_source": record.seal_key_source, "seal_key_label": record.seal_key_label,
        "created_at": record.created_at.isoformat() if record.created_at else None,
    }
    if home is not None:
        from ..agencies import seal as sealfiles

        cred = (home.pki.seal if record.seal_dir == "pki"
                else sealfiles.load_credential(sealfiles.seal_folder(home.path, record)))
        row["seal"] = None if cred is None else {
            "subject": cred.cert.subject.rfc4514_string(), "issuer": cred.cert.issuer.rfc4514_string(),
            "serial": f"{cred.cert.serial_number:x}", "not_after": cred.cert.not_valid_after_utc.isoformat()}
    return row


def _logo(path: str | None) -> bytes | None:
    return None if path is None else read_input_file(path)


def cmd_add(args) -> int:
    home, service = _service(args)
    made = service.add(
        args.id, name_th=args.name_th, name_en=args.name_en, external_ca=args.external_ca,
        key_source="pkcs11" if args.hsm is not None else "file", key_label=args.hsm or None,
        address_th=args.address_th, address_en=args.address_en, contact=args.contact,
        logo=_logo(args.logo), level=args.level,
    )
    if args.json:
        print(json.dumps({**_row(made.record), "admin_key": made.admin_key.id, "secret": made.secret,
                          "csr": made.csr_pem.decode() if made.csr_pem else None}, ensure_ascii=False))
        return EXIT_OK
    print(f"agency: {made.record.id} ({made.record.name_th} / {made.record.name_en})")
    if made.csr_pem:
        print(f"seal key made; its certificate request is in {service.folder(made.record) / 'seal.csr.pem'}")
        print(f"  have the agency's CA sign it, then: edoc agency import-cert {made.record.id} CERT --chain CHAIN")
    else:
        print("seal certificate issued by the platform's CA")
    print(f"first admin key: {made.admin_key.id}")
    print(f"secret: {made.secret}")
    print("The secret is shown this once and stored only as a hash; keep it now.")
    return EXIT_OK


def cmd_list(args) -> int:
    home, service = _service(args)
    records = service.list()
    if args.json:
        print(json.dumps([_row(r) for r in records], ensure_ascii=False))
        return EXIT_OK
    for r in records:
        print(f"{r.id:<24} {r.status:<9} {r.seal_key_source:<7} {r.name_en} / {r.name_th}")
    return EXIT_OK


def cmd_show(args) -> int:
    home, service = _service(args)
    row = _row(service.get(args.id), home)
    if args.json:
        print(json.dumps(row, ensure_ascii=False, indent=2))
        return EXIT_OK
    for k, v in row.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                print(f"seal {kk:<13} {vv}")
        elif v is not None:
            print(f"{k:<18} {v}")
    if row["seal"] is None:
        print(f"no seal certificate yet: run `edoc agency csr {args.id}` and `edoc agency import-cert`")
    return EXIT_OK


def cmd_status(args) -> int:
    _, service = _service(args)
    record = service.set_status(args.id, args.active)
    print(f"{record.id}: {record.status}")
    return EXIT_OK


def cmd_csr(args) -> int:
    _, service = _service(args)
    pem = service.csr(args.id)
    if args.out:
        Path(args.out).write_bytes(pem)
        print(f"written: {args.out}")
    else:
        print(pem.decode(), end="")
    return EXIT_OK


def cmd_import_cert(args) -> int:
    _, service = _service(args)
    record = service.import_cert(args.id, Path(args.cert), Path(args.chain) if args.chain else None)
    print(f"{record.id}: seal certificate installed; the agency can issue")
    return EXIT_OK


def cmd_rotate(args) -> int:
    _, service = _service(args)
    cert = service.rotate_key(args.id)
    print(f"{args.id}: new seal key, certificate {cert.serial_number:x} valid until "
          f"{cert.not_valid_after_utc:%Y-%m-%d}; the old one is kept under retired/")
    return EXIT_OK


def cmd_brand(args) -> int:
    _, service = _service(args)
    record = service.brand(args.id, name_th=args.name_th, name_en=args.name_en, address_th=args.address_th,
                           address_en=args.address_en, contact=args.contact, logo=_logo(args.logo),
                           signing_level=args.level)
    print(f"{record.id}: updated")
    return EXIT_OK


def cmd_template(args) -> int:
    _, service = _service(args)
    if not Path(args.folder).is_dir():
        raise CliError(f"{args.folder} is not a folder", EXIT_USAGE)
    name = service.add_template(args.id, Path(args.folder))
    print(f"{args.id}: template {name} added")
    return EXIT_OK


def cmd_key(args) -> int:
    _, service = _service(args)
    key, secret = service.create_key(args.id, roles=set(args.role), label=args.label)
    if args.json:
        print(json.dumps({"id": key.id, "agency": key.agency, "roles": sorted(key.roles), "secret": secret}))
    else:
        print(f"id:     {key.id}\nagency: {key.agency}\nroles:  {', '.join(sorted(key.roles))}\nsecret: {secret}")
        print("The secret is shown this once and stored only as a hash; keep it now.")
    return EXIT_OK


def cmd_audit_verify(args) -> int:
    from ..agencies import known_agency
    from ..agencies.audit import token_checker

    home = open_home(args)
    registry = home.registry()
    known_agency(registry, args.id)
    report = registry.agency_audit.verify(args.id, check_token=token_checker(home.trust_policy()))
    if args.json:
        print(json.dumps(report.__dict__))
    elif report.ok:
        cp = f", agrees with checkpoint {report.checkpoint}" if report.checkpoint else ""
        print(f"{args.id}: audit chain intact ({report.checked} entries{cp})")
    else:
        print(f"{args.id}: audit chain BROKEN at link {report.first_broken}: {report.reason}")
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_platform_key(args) -> int:
    from storage.registry import PLATFORM_AGENCY

    home = open_home(args)
    registry = home.registry()
    key, secret = registry.create_api_key(agency=PLATFORM_AGENCY, roles={"platform"}, label=args.label)
    registry.audit.append("apikey.created", actor=cli_actor(), subject=key.id,
                          details={"roles": ["platform"], "label": key.label})
    if args.json:
        print(json.dumps({"id": key.id, "roles": ["platform"], "secret": secret}))
    else:
        print(f"platform key: {key.id}\nsecret: {secret}")
        print("It manages agencies (/v1/agencies) and reads no documents. Shown this once; keep it now.")
    return EXIT_OK


def cmd_upgrade(args) -> int:
    from ..agencies.upgrade import pending, upgrade

    home = open_home(args)
    todo = pending(home)
    if not todo:
        home.agency_record()
        print("nothing to upgrade: this home is a platform already")
        return EXIT_OK
    for item in todo:
        print(f"upgrading: {item}")
    result = upgrade(home, actor=cli_actor())
    if result.agency_created:
        print(f"agency {result.agency_created} is now the platform's first agency")
    print(f"audit entries linked into their agency's chain: {result.entries_linked}")
    return EXIT_OK
