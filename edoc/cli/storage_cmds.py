"""``edoc doctor``, ``edoc backup``, ``edoc restore`` and ``edoc audit verify|export``.

Thin wrappers over :mod:`storage.maintenance` and :mod:`storage.audit`; the
home's settings choose the object store and the registry.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from ._common import EXIT_FAIL, EXIT_OK, open_home


def register(sub) -> None:
    """Add the commands of this module."""
    d = sub.add_parser("doctor", help="check that stored objects, registry and audit log agree")
    d.add_argument("--quick", action="store_true", help="do not re-hash every object")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.set_defaults(func=cmd_doctor)

    b = sub.add_parser("backup", help="write registry and objects into one tar archive")
    b.add_argument("dest", help="archive to create (never overwritten)")
    b.set_defaults(func=cmd_backup)

    r = sub.add_parser("restore", help="load a backup archive into an empty home")
    r.add_argument("archive")
    r.set_defaults(func=cmd_restore)

    a = sub.add_parser("audit", help="check or export the hash-chained audit log")
    a_sub = a.add_subparsers(dest="audit_command", metavar="ACTION")
    a_sub.required = True
    v = a_sub.add_parser("verify", help="recompute the chain; exit 1 if it is broken")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_audit_verify)
    e = a_sub.add_parser("export", help="write entries and anchors as JSON lines")
    e.add_argument("--out", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_audit_export)


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

    home = open_home(args)
    report = doctor(home.store(), home.registry(), check_contents=not args.quick)
    if args.json:
        print(json.dumps({"ok": report.ok, **_jsonable(report)}, indent=2, ensure_ascii=False))
        return EXIT_OK if report.ok else EXIT_FAIL
    print(f"objects checked: {report.objects_checked}, versions checked: {report.versions_checked}")
    for key in report.orphans:
        print(f"orphan object (no document refers to it): {key}")
    for version in report.missing:
        print(f"missing object for {version.doc_id} version {version.seq}: {version.sha256}")
    for key in report.corrupt:
        print(f"corrupt object (bytes do not match the digest): {key}")
    if report.audit is not None and not report.audit.ok:
        print(f"audit log broken at entry {report.audit.first_broken_seq}: {report.audit.reason}")
    print("ok" if report.ok else "problems found")
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_backup(args) -> int:
    from storage.maintenance import backup

    home = open_home(args)
    manifest = backup(home.store(), home.registry(), Path(args.dest))
    rows = sum(manifest.table_rows.values())
    print(f"wrote {args.dest}: {manifest.object_count} objects ({manifest.object_bytes} bytes), {rows} rows")
    return EXIT_OK


def cmd_restore(args) -> int:
    from storage.maintenance import restore

    home = open_home(args)
    manifest = restore(Path(args.archive), home.store(), home.registry())
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
    audit = open_home(args).registry().audit
    if args.out:
        with open(args.out, "x", encoding="utf-8") as fh:
            count = audit.export(fh)
        print(f"wrote {count} entries to {args.out}", file=sys.stderr)
    else:
        audit.export(sys.stdout)
    return EXIT_OK
