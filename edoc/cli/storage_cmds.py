"""``edoc doctor``, ``edoc backup``, ``edoc restore`` and ``edoc audit verify|export``.

Thin wrappers over :mod:`storage.maintenance` and :mod:`storage.audit`; the
home's settings choose the object store and the registry.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from ..home import Home
from ._common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    open_home,
    read_input_file,
    settings_from,
)

#: where `edoc backup` / `edoc restore` read the backup passphrase when no --passphrase-file is given
PASSPHRASE_ENV = "EDOC_BACKUP_PASSPHRASE"


def register(sub) -> None:
    """Add the commands of this module."""
    d = sub.add_parser("doctor", help="check that stored objects, registry and audit log agree")
    d.add_argument("--quick", action="store_true", help="do not re-hash every object")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.add_argument("--trust-sample", type=int, default=4, metavar="N",
                   help="verify N stored documents (oldest and newest) with this home's own trust "
                        "store (default 4; 0: skip)")
    d.add_argument("--fix", action="store_true",
                   help="remove orphan objects (stored, never registered) older than --grace")
    d.add_argument("--grace", type=float, default=900,
                   help="seconds an orphan must have existed before --fix removes it (default 900)")
    d.set_defaults(func=cmd_doctor)

    b = sub.add_parser("backup", help="write registry, objects and (encrypted) key material into one tar archive")
    b.add_argument("dest", help="archive to create (never overwritten)")
    b.add_argument("--passphrase-file",
                   help=f"file holding the passphrase that encrypts the key material (or ${PASSPHRASE_ENV}); "
                        "without one the backup holds no keys and says it is incomplete")
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser("restore", help="load a backup archive into an empty home (or an empty folder, with its keys)")
    r.add_argument("archive")
    r.add_argument("--passphrase-file", help=f"the backup's passphrase (or ${PASSPHRASE_ENV})")
    r.set_defaults(func=cmd_restore)

    a = sub.add_parser("audit", help="check or export the hash-chained audit log")
    a_sub = a.add_subparsers(dest="audit_command", metavar="ACTION")
    a_sub.required = True
    v = a_sub.add_parser("verify", help="recompute the chain; exit 1 if it is broken")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_audit_verify)
    e = a_sub.add_parser(
        "export", help="write entries and anchors as JSON lines, sealed (FILE.p7s) with --out"
    )
    e.add_argument("--out", help="file to write (default: stdout, unsigned)")
    e.set_defaults(func=cmd_audit_export)
    an = a_sub.add_parser("anchor", help="timestamp the chain's head with the TSA now")
    an.set_defaults(func=cmd_audit_anchor)
    c = a_sub.add_parser("check-export", help="verify a signed export's seal and hash chain")
    c.add_argument("export")
    c.add_argument("--signature", help="detached signature (default: EXPORT.p7s)")
    c.set_defaults(func=cmd_audit_check_export)


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def cmd_doctor(args) -> int:
    from storage.maintenance import doctor

    from ..agencies.upgrade import pending
    from ..trust_check import untrusted_documents

    home = open_home(args)
    todo = pending(home)  # read before anything migrates the registry
    if todo:
        for item in todo:
            print(f"upgrade needed: {item}")
        print("run `edoc upgrade` (or start `edoc serve`, which upgrades on first start)")
        return EXIT_FAIL
    report = doctor(home.store(), home.registry(), check_contents=not args.quick)
    if args.fix and report.orphans:
        from datetime import timedelta

        from storage.maintenance import remove_orphans

        removed, kept = remove_orphans(home.store(), home.registry(), report.orphans,
                                       older_than=timedelta(seconds=args.grace))
        for key in removed:
            print(f"removed orphan object: {key}", file=sys.stderr)
        for key in kept:
            print(f"kept orphan younger than {args.grace:.0f} s (may be in flight): {key}", file=sys.stderr)
        report = doctor(home.store(), home.registry(), check_contents=not args.quick)
    trusted, untrusted = untrusted_documents(home, sample=args.trust_sample) if args.trust_sample > 0 else (0, [])
    ok = report.ok and not untrusted
    if args.json:
        trust = {"checked": trusted, "untrusted": _jsonable(untrusted)}
        print(json.dumps({"ok": ok, **_jsonable(report), "trust": trust}, indent=2, ensure_ascii=False))
        return EXIT_OK if ok else EXIT_FAIL
    print(f"objects checked: {report.objects_checked}, versions checked: {report.versions_checked}")
    for key in report.orphans:
        print(f"orphan object (no document refers to it): {key}")
    for version in report.missing:
        print(f"missing object for {version.doc_id} version {version.seq}: {version.sha256}")
    for key in report.corrupt:
        print(f"corrupt object (bytes do not match the digest): {key}")
    if report.audit is not None and not report.audit.ok:
        print(f"audit log broken at entry {report.audit.first_broken_seq}: {report.audit.reason}")
    if trusted:
        print(f"documents verified with this home's own trust store: {trusted}")
    for problem in untrusted:
        print(f"document {problem.doc_id} version {problem.seq} does not validate with this home's "
              f"own trust store ({problem.verdict}): {' '.join(problem.reasons)}")
    if untrusted:
        print("  this home's PKI is not the one that sealed its documents (a backup restored without "
              "its key material?): restore into an empty folder with the backup's keys, "
              "edoc --home NEW_FOLDER restore ARCHIVE --passphrase-file FILE")
    print("ok" if ok else "problems found")
    return EXIT_OK if ok else EXIT_FAIL


def _passphrase(args, *, required: bool) -> bytes | None:
    if args.passphrase_file:
        value = read_input_file(args.passphrase_file).rstrip(b"\r\n")
    elif os.environ.get(PASSPHRASE_ENV):
        value = os.environ[PASSPHRASE_ENV].encode()
    elif required:
        raise CliError(f"this backup holds the agency's keys, encrypted: give its passphrase with "
                       f"--passphrase-file FILE (or ${PASSPHRASE_ENV})", EXIT_USAGE)
    else:
        return None
    if not value:
        raise CliError("the backup passphrase is empty", EXIT_USAGE)
    return value


def cmd_backup(args) -> int:
    from storage.maintenance import backup

    from ..home_backup import BUNDLE_NAME, check_passphrase, not_included, pack_home_keys

    home = open_home(args)
    passphrase = _passphrase(args, required=False)
    extras = {}
    if passphrase is not None:
        check_passphrase(passphrase)
        extras[BUNDLE_NAME] = pack_home_keys(home.path, passphrase)
    manifest = backup(home.store(), home.registry(), Path(args.dest), extras=extras)
    rows = sum(manifest.table_rows.values())
    print(f"wrote {args.dest}: {manifest.object_count} objects ({manifest.object_bytes} bytes), {rows} rows")
    if passphrase is None:
        print(f"INCOMPLETE: this backup holds no key material. Restored, its documents verify as "
              f"not sealed by a trusted issuer. Keep {home.settings.pki_dir} and {home.path / 'secrets'} "
              f"(and edoc.toml) separately and safely, or back up with --passphrase-file FILE to "
              f"include them encrypted.")
        return EXIT_OK
    print("key material included, encrypted with the passphrase (scrypt + AES-256-GCM): "
          "edoc.toml, pki/, secrets/, templates/")
    for what in not_included(home.settings):
        print(f"NOT included, keep separately: {what}")
    return EXIT_OK


def cmd_restore(args) -> int:
    from storage.maintenance import read_extras, restore

    from ..home_backup import BUNDLE_NAME, unpack_home_keys

    archive = Path(args.archive)
    settings = settings_from(args)
    bundle = read_extras(archive).get(BUNDLE_NAME)
    if not (settings.pki_dir / "seal.pem").exists():
        if bundle is None:
            raise CliError(f"no edoc home at {settings.home}, and this backup holds no key material: "
                           "run `edoc init` there first (its documents will then verify only with the "
                           "pki/ and secrets/ kept from the old home)")
        passphrase = _passphrase(args, required=True)
        assert passphrase is not None  # required: an error otherwise
        written = unpack_home_keys(bundle, passphrase, settings.home)
        print(f"restored the agency's configuration and keys into {settings.home}: {', '.join(written)}")
        settings = settings_from(args)  # now with the restored edoc.toml
        home = Home.open(settings)
    else:
        home = Home.open(settings)
        if bundle is not None:
            print(f"note: {settings.home} already has its own PKI; the keys in the backup were not "
                  "applied (restore into an empty folder to get them back)")
    manifest = restore(archive, home.store(), home.registry())
    print(
        f"restored {manifest.object_count} objects and"
        f" {manifest.table_rows.get('documents', 0)} documents from a backup of"
        f" {manifest.created_at.isoformat()}"
    )
    return EXIT_OK


def cmd_audit_verify(args) -> int:
    report = open_home(args).registry().audit.verify()
    if args.json:
        print(json.dumps(_jsonable(report), indent=2))
    elif report.ok:
        print(f"audit log intact: {report.checked} entries, head {report.head_seq} {report.head_hash}")
    else:
        print(f"audit log broken at entry {report.first_broken_seq}: {report.reason}")
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_audit_export(args) -> int:
    home = open_home(args)
    audit = home.registry().audit
    if not args.out:
        audit.export(sys.stdout)
        return EXIT_OK
    from ..audit import signed_export

    out = Path(args.out)
    data, signature = signed_export(audit, signer=home.seal_signer, timestamper=home.timestamper())
    with open(out, "xb") as fh:
        fh.write(data)
    Path(f"{out}.p7s").write_bytes(signature)
    entries = sum(1 for line in data.splitlines() if b'"type":"entry"' in line)
    print(f"wrote {entries} entries to {out}, sealed in {out}.p7s", file=sys.stderr)
    return EXIT_OK


def cmd_audit_anchor(args) -> int:
    from ..audit import anchor_audit

    home = open_home(args)
    anchor = anchor_audit(home.registry().audit, home.timestamper())
    if anchor is None:
        print("nothing to anchor: the head is already anchored (or the log is empty)")
    else:
        print(f"anchored entry {anchor.seq} ({anchor.head_hash}) at {anchor.at:%Y-%m-%d %H:%M:%S} UTC")
    from ..agencies.audit import checkpoint

    cp = checkpoint(home.registry(), home.timestamper())
    if cp is not None:
        print(f"checkpoint {cp.id}: {len(cp.body['agencies'])} agency chains at entry {cp.seq}")
    return EXIT_OK


def cmd_audit_check_export(args) -> int:
    from ..audit import check_signed_export

    home = open_home(args)
    data = read_input_file(args.export)
    signature = read_input_file(args.signature or f"{args.export}.p7s")
    check = check_signed_export(data, signature, policy=home.trust_policy())
    seal = f"sealed by {check.signer}" if check.signature_valid else "seal NOT valid or not trusted"
    when = f" at {check.signed_at:%Y-%m-%d %H:%M:%S} UTC" if check.signed_at else ""
    print(f"{args.export}: {seal}{when}")
    if check.chain.ok:
        print(f"  chain intact: {check.chain.checked} entries, head {check.chain.head_seq}")
    else:
        print(f"  chain broken at entry {check.chain.first_broken_seq}: {check.chain.reason}")
    return EXIT_OK if check.ok else EXIT_FAIL
