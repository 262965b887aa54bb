"""``edoc keys create|list|revoke``: API keys for the HTTP service (stored hashed, shown once)."""

from __future__ import annotations

import getpass
import json

from storage.registry import AGENCY_ROLES, ApiKey

from ..agencies import known_agency
from ..errors import NotFound
from ._common import EXIT_OK, EXIT_USAGE, CliError, open_home


def register_keys(keys) -> None:
    """Add the API key commands to the ``edoc keys`` group."""
    c = keys.add_parser("create", help="create an API key; its secret is printed once")
    c.add_argument("--agency", help="agency the key acts for (default: this home's agency_id)")
    c.add_argument("--role", action="append", required=True, choices=sorted(AGENCY_ROLES),
                   help="a role of the key (repeat for several)")
    c.add_argument("--label", default="", help="who holds the key, for people")
    c.add_argument("--json", action="store_true", help="print the key and secret as JSON")
    c.set_defaults(func=cmd_keys_create)

    ls = keys.add_parser("list", help="list API keys (never their secrets)")
    ls.add_argument("--agency", help="only this agency's keys")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_keys_list)

    r = keys.add_parser("revoke", help="revoke an API key for good")
    r.add_argument("id", help="the key id (ak_...)")
    r.set_defaults(func=cmd_keys_revoke)


def cli_actor() -> str:
    """How the audit trail names whoever runs the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def create_key(registry, *, agency: str, roles: set[str], label: str, actor: str) -> tuple[ApiKey, str]:
    """Create a key and record it in the audit trail; returns the key and its secret."""
    key, secret = registry.create_api_key(agency=agency, roles=roles, label=label)
    registry.audit.append("apikey.created", actor=actor, agency=key.agency, subject=key.id,
                          details={"roles": sorted(key.roles), "label": key.label})
    return key, secret


def _row(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "agency": key.agency,
        "roles": sorted(key.roles),
        "label": key.label,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def cmd_keys_create(args) -> int:
    home = open_home(args)
    agency = args.agency or home.settings.agency_id
    registry = home.registry()
    try:
        known_agency(registry, agency)
    except NotFound:
        known = ", ".join(a.id for a in registry.agencies.list())
        raise CliError(f"unknown agency {agency!r}: this home serves {known} (`edoc agency list`); "
                       "a key for another agency could never issue", EXIT_USAGE) from None
    key, secret = create_key(registry, agency=agency, roles=set(args.role), label=args.label,
                             actor=cli_actor())
    if args.json:
        print(json.dumps({**_row(key), "secret": secret}))
    else:
        print(f"id:     {key.id}")
        print(f"agency: {key.agency}")
        print(f"roles:  {', '.join(sorted(key.roles))}")
        print(f"secret: {secret}")
        print("The secret is shown this once and stored only as a hash; keep it now.")
    return EXIT_OK


def cmd_keys_list(args) -> int:
    keys = open_home(args).registry().list_api_keys(args.agency)
    if args.json:
        print(json.dumps([_row(k) for k in keys]))
        return EXIT_OK
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        print(f"{k.id}  {k.agency:<20} {','.join(sorted(k.roles)):<22} {state:<18} {k.label}")
    return EXIT_OK


def cmd_keys_revoke(args) -> int:
    registry = open_home(args).registry()
    key = registry.revoke_api_key(args.id)
    registry.audit.append("apikey.revoked", actor=cli_actor(), agency=key.agency, subject=key.id, details={})
    print(f"{key.id}: revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
    return EXIT_OK
