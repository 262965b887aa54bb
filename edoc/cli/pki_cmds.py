"""``edoc init`` and ``edoc keys ...``: the home, its PKI and imported agency keys."""

from __future__ import annotations

import os
from pathlib import Path

from certs.keys import KEY_TYPES
from certs.pki import import_seal

from ..home import Home
from ._common import EXIT_USAGE, CliError, open_home, settings_from


def register(sub) -> None:
    """Add the commands of this module."""
    p = sub.add_parser("init", help="create an edoc home with a built-in PKI")
    p.add_argument("--key-type", choices=KEY_TYPES)
    p.add_argument("--public-base-url", help="public URL citizens reach (written into certificates)")
    p.add_argument("--agency-name-en")
    p.add_argument("--agency-name-th")
    p.add_argument("--agency-id")
    p.set_defaults(func=cmd_init)

    keys = sub.add_parser("keys", help="manage keys and API keys").add_subparsers(
        dest="keys_command", metavar="KEYS_COMMAND"
    )
    keys.required = True
    imp = keys.add_parser("import", help="import the agency's own seal key and chain")
    imp.add_argument("--pkcs12", help="PKCS#12 file with key, certificate and chain")
    imp.add_argument("--password-env", help="environment variable holding the PKCS#12/key password")
    imp.add_argument("--key", help="PEM/DER private key file")
    imp.add_argument("--cert", help="PEM certificate (optionally followed by its chain)")
    imp.add_argument("--chain", help="PEM file with the issuing CA certificates")
    imp.add_argument("--trust-anchor", help="the agency root certificate (PEM)")
    imp.set_defaults(func=cmd_keys_import)
    from .hsm_cmds import register_keys as register_hsm_keys  # keys in a PKCS#11 token

    register_hsm_keys(keys)
    from .apikey_cmds import register_keys  # API keys of the HTTP service

    register_keys(keys)


def cmd_init(args) -> int:
    settings = settings_from(args)
    overrides = {
        "key_type": args.key_type,
        "public_base_url": args.public_base_url,
        "agency_name_en": args.agency_name_en,
        "agency_name_th": args.agency_name_th,
        "agency_id": args.agency_id,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    existed = (settings.pki_dir / "seal.pem").exists()
    home = Home.create(settings)
    pki = home.pki
    print(f"edoc home: {home.path}" + (" (already initialised)" if existed else ""))
    print(f"seal certificate: {pki.seal.cert.subject.rfc4514_string()}")
    print(f"valid until: {pki.seal.cert.not_valid_after_utc:%Y-%m-%d}")
    return 0


def cmd_keys_import(args) -> int:
    home = open_home(args)
    password = None
    if args.password_env:
        if args.password_env not in os.environ:
            raise CliError(f"environment variable {args.password_env} is not set", EXIT_USAGE)
        password = os.environ[args.password_env].encode()
    if not args.pkcs12 and not (args.key and args.cert):
        raise CliError("give --pkcs12 FILE, or --key FILE and --cert FILE", EXIT_USAGE)
    passphrase = home.settings.passphrase()
    if passphrase is None:
        raise CliError("set EDOC_KEY_PASSPHRASE: imported keys are stored encrypted")
    pki = import_seal(
        home.settings.pki_dir,
        passphrase=passphrase,
        pkcs12_path=Path(args.pkcs12) if args.pkcs12 else None,
        pkcs12_password=password,
        key_path=Path(args.key) if args.key else None,
        key_passphrase=password,
        cert_path=Path(args.cert) if args.cert else None,
        chain_path=Path(args.chain) if args.chain else None,
        trust_anchor_path=Path(args.trust_anchor) if args.trust_anchor else None,
    )
    print(f"imported seal: {pki.seal.cert.subject.rfc4514_string()}")
    return 0
