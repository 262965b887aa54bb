"""``edoc archive renew``, ``edoc ca revoke-cert|crl`` and ``edoc keys rollover``: long-term validity.

``archive renew`` is meant for cron (daily is plenty): it exits 0 when every
due document was renewed, 1 when one failed, and stops cleanly after the
current document on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import json
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from certs.keys import load_certificate
from certs.revocation import REASONS, RevocationError
from signing.ltv import AlgorithmSchedule

from ..archive import ArchiveRenewal, RenewalSettings
from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_home
from .sign_cmds import parse_when

#: an OCSP responder certificate this close to expiry is replaced by ``edoc ca crl``
RESPONDER_RENEWAL = timedelta(days=30)


def register(sub) -> None:
    """Add the commands of this module."""
    archive = _group(sub, "archive", "keep stored documents verifiable for decades")
    r = archive.add_parser(
        "renew",
        help="add fresh validation data and a new archive timestamp where one is due",
        description="Find documents whose last archive timestamp's TSA certificate (or seal "
        "certificate, without an archive timestamp) expires before DATE, or whose digest is "
        "retired by then, and renew them: the new version is stored beside the old one.",
    )
    r.add_argument("--before", help="renew what expires before this date (default: in 180 days)")
    r.add_argument("--dry-run", action="store_true", help="only list the documents that are due")
    r.add_argument("--limit", type=int, help="renew at most this many documents in this run")
    r.add_argument("--json", action="store_true", help="print the results as JSON")
    r.add_argument(
        "--retire",
        action="append",
        default=[],
        metavar="DIGEST=DATE",
        help="a digest algorithm retired from DATE (e.g. sha256=2035-01-01): documents whose "
        "last timestamp uses it are renewed with a stronger one; repeatable",
    )
    r.set_defaults(func=cmd_archive_renew)

    ca = _group(sub, "ca", "the built-in certificate authority: revocation and CRLs")
    rv = ca.add_parser("revoke-cert", help="revoke a seal, TSA or OCSP certificate")
    which = rv.add_mutually_exclusive_group(required=True)
    which.add_argument("--role", choices=("seal", "tsa", "ocsp"), help="the current certificate")
    which.add_argument("--serial", help="serial number (hex) of a current or retired certificate")
    which.add_argument("--cert", help="PEM or DER file of the certificate")
    rv.add_argument("--reason", required=True, choices=tuple(REASONS))
    rv.add_argument(
        "--at",
        help="when it stopped being trustworthy (ISO 8601; default now). For key compromise: "
        "when the compromise happened; documents sealed before then stay valid.",
    )
    rv.set_defaults(func=cmd_revoke_cert)

    crl = ca.add_parser(
        "crl", help="regenerate the CRLs when due (cron) and renew an expiring OCSP responder"
    )
    crl.add_argument("--force", action="store_true", help="regenerate even if not due")
    crl.add_argument("--out", help="also copy the CRLs into this folder")
    crl.set_defaults(func=cmd_crl)

    keys = _group(sub, "keys", "manage keys and API keys")
    ro = keys.add_parser(
        "rollover",
        help="activate a new seal, TSA or OCSP key; earlier documents stay valid",
        description="The built-in CA issues a certificate for a fresh key; the old certificate "
        "and key move to pki/retired/. Restart the service afterwards.",
    )
    ro.add_argument("--role", choices=("seal", "tsa", "ocsp"), required=True)
    ro.set_defaults(func=cmd_rollover)


def _group(sub, name: str, help: str):
    """The sub-command group ``name``, created here or reused when another module made it."""
    parser = sub.choices.get(name) or sub.add_parser(name, help=help)
    for action in parser._actions:  # argparse offers no public way to find them again
        if action.__class__.__name__ == "_SubParsersAction":
            return action
    group = parser.add_subparsers(dest=f"{name}_command", metavar=f"{name.upper()}_COMMAND")
    group.required = True
    return group


# -- archive renew ----------------------------------------------------------------


def cmd_archive_renew(args) -> int:
    home = open_home(args)
    before = parse_when(args.before) if args.before else None
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1", EXIT_USAGE)
    stop = {"asked": False}

    def ask_stop(signum, frame):  # finish the current document, then stop
        stop["asked"] = True

    settings = RenewalSettings(schedule=AlgorithmSchedule(retire=_retirements(args.retire)))
    previous = signal.signal(signal.SIGTERM, ask_stop)
    try:
        summary = ArchiveRenewal.for_home(home, settings=settings).run(
            before=before, dry_run=args.dry_run, limit=args.limit, should_stop=lambda: stop["asked"]
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    acted = [r for r in summary.results if r.outcome != "not-due"]
    if args.json:
        json.dump(
            {
                "before": summary.before.isoformat(),
                "interrupted": summary.interrupted,
                "checked": len(summary.results),
                "results": [
                    {
                        "id": r.doc_id,
                        "outcome": r.outcome,
                        "reasons": list(r.reasons),
                        "old_sha256": r.old_sha256,
                        "new_sha256": r.new_sha256,
                        "version": r.version,
                        "seconds": round(r.seconds, 3),
                    }
                    for r in acted
                ],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
    else:
        for r in acted:
            version = f" -> version {r.version}" if r.version else ""
            print(f"{r.doc_id}: {r.outcome}{version}")
            for reason in r.reasons:
                print(f"  - {reason}")
        print(
            f"checked {len(summary.results)} documents before {summary.before:%Y-%m-%d}: "
            f"{summary.count('renewed')} renewed, {summary.count('due')} due, "
            f"{summary.count('failed')} failed"
            + (" (stopped early)" if summary.interrupted else "")
        )
    return EXIT_OK if summary.ok else EXIT_FAIL


def _retirements(items: list[str]) -> dict[str, datetime]:
    retire = {}
    for item in items:
        name, sep, when = item.partition("=")
        if not sep or name.lower() not in ("sha256", "sha384", "sha512"):
            raise CliError(f"--retire takes DIGEST=DATE with sha256, sha384 or sha512: {item!r}",
                           EXIT_USAGE)
        retire[name.lower()] = parse_when(when)
    return retire


# -- ca revoke-cert / crl -----------------------------------------------------------


def _revocation(home):
    service = home.revocation()
    if service is None:
        raise CliError("this home's seal is not issued by the built-in CA; ask the agency's CA")
    return service


def _certificate(home, args) -> x509.Certificate:
    if args.role:
        credential = getattr(home.pki, args.role)
        if credential is None:
            raise CliError(f"this home has no {args.role} certificate", EXIT_USAGE)
        return credential.cert
    if args.cert:
        return load_certificate(Path(args.cert))
    try:
        serial = int(args.serial, 16)
    except ValueError as exc:
        raise CliError("--serial takes a hexadecimal serial number", EXIT_USAGE) from exc
    for (_, number), cert in _revocation(home).database.issued().items():
        if number == serial:
            return cert
    raise CliError(f"the built-in CA issued no certificate with serial {args.serial}")


def cmd_revoke_cert(args) -> int:
    home = open_home(args)
    service = _revocation(home)
    cert = _certificate(home, args)
    at = parse_when(args.at) if args.at else None
    try:
        revocation = service.revoke(cert, reason=args.reason, at=at)
    except RevocationError as exc:
        raise CliError(exc.diagnostics()) from exc
    home.registry().audit.append(
        "ca.certificate-revoked",
        actor="cli",
        agency=home.settings.agency_id,
        subject=f"{revocation.serial:x}",
        details={
            "certificate": revocation.subject,
            "reason": revocation.reason,
            "revoked_at": revocation.revoked_at.isoformat(),
        },
    )
    print(f"revoked {revocation.subject} (serial {revocation.serial:x})")
    print(f"reason: {revocation.reason}; revoked at {revocation.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
    print(f"CRL regenerated: {service.crl_path(revocation.issuer)}")
    if args.role in ("seal", "tsa"):
        print(f"activate a new key: edoc keys rollover --role {args.role}")
    return EXIT_OK


def cmd_crl(args) -> int:
    home = open_home(args)
    service = _revocation(home)
    responder = home.pki.ocsp
    if responder is not None and responder.cert.not_valid_after_utc - service.now() < RESPONDER_RENEWAL:
        cert = _rollover(home, "ocsp")
        print(f"renewed the OCSP responder certificate, valid until {cert.not_valid_after_utc:%Y-%m-%d}")
    for name, der in service.refresh_crls(force=args.force).items():
        crl = x509.load_der_x509_crl(der)
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        print(
            f"{name}: CRL #{number}, {len(crl)} revoked, {len(der)} bytes, "
            f"next update {crl.next_update_utc:%Y-%m-%d %H:%M} UTC"
        )
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.crl").write_bytes(der)
    return EXIT_OK


# -- keys rollover ------------------------------------------------------------------


def _rollover(home, role: str) -> x509.Certificate:
    return home.issue_credential(role)


def cmd_rollover(args) -> int:
    home = open_home(args)
    source = getattr(home.settings, f"{args.role}_key_source", "file")
    if source != "file":
        raise CliError(
            f"the {args.role} key is in a PKCS#11 token: roll it over with "
            f"`edoc keys hsm-init --role {args.role}`"
        )
    if _revocation(home) is None:  # pragma: no cover - _revocation raises
        return EXIT_FAIL
    old = getattr(home.pki, args.role)
    cert = _rollover(home, args.role)
    home.registry().audit.append(
        "ca.key-rollover",
        actor="cli",
        agency=home.settings.agency_id,
        subject=args.role,
        details={
            "new_serial": f"{cert.serial_number:x}",
            "old_serial": f"{old.cert.serial_number:x}" if old else None,
        },
    )
    print(f"new {args.role} certificate {cert.serial_number:x}, valid until "
          f"{cert.not_valid_after_utc:%Y-%m-%d}")
    if old is not None:
        print(f"the previous one ({old.cert.serial_number:x}) is kept in pki/retired/; "
              "documents sealed with it stay valid")
    print("restart `edoc serve` so that it uses the new key")
    return EXIT_OK
