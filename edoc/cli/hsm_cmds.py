"""``edoc keys hsm-init``, ``edoc keys hsm-cert`` and ``edoc keys check``: keys in a PKCS#11 token.

The token comes from the settings (``pkcs11_module``, ``pkcs11_token_label``,
``pkcs11_<role>_key_label`` / ``_key_id``); the PIN from ``$EDOC_PKCS11_PIN`` or
``pkcs11_pin_file``, never from the command line. ``hsm-init`` generates the
key in the token and has the built-in CA certify it, or writes a CSR for the
agency's own CA, whose answer ``hsm-cert`` installs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.errors import CertsError
from certs.keys import KEY_TYPES, load_certificates, save_certificates
from certs.pkcs11 import Pkcs11KeyConfig, Pkcs11Token, TokenError, TokenKey, build_csr
from certs.profiles import subject_name

from ..keysources import Role, pkcs11_config
from ._common import EXIT_OK, EXIT_USAGE, CliError, open_home

_COMMON_NAME = {"seal": "{agency} Electronic Seal", "tsa": "{agency} Time-Stamping Authority"}


def register_keys(keys) -> None:
    """Add the PKCS#11 commands under ``edoc keys``."""
    p = keys.add_parser(
        "hsm-init",
        help="generate the seal or TSA key in the PKCS#11 token and certify it",
        description="Generate the key in the token named by the settings, then have the "
        "built-in CA issue its certificate (default) or write a CSR for the agency's CA. "
        "The PIN is read from $EDOC_PKCS11_PIN or pkcs11_pin_file.",
    )
    p.add_argument("--role", choices=("seal", "tsa"), required=True)
    p.add_argument(
        "--key-type",
        choices=KEY_TYPES,
        help="key to generate (default: the key_type setting)",
    )
    p.add_argument(
        "--existing-key",
        action="store_true",
        help="do not generate: certify the key already in the token under that label/id",
    )
    p.add_argument(
        "--csr",
        metavar="FILE",
        help="write a PKCS#10 request for the agency's CA instead of using the built-in CA",
    )
    p.set_defaults(func=cmd_hsm_init)

    c = keys.add_parser(
        "hsm-cert", help="install the certificate the agency CA issued for a token key"
    )
    c.add_argument("--role", choices=("seal", "tsa"), required=True)
    c.add_argument(
        "--cert", required=True, help="PEM certificate (optionally followed by its chain)"
    )
    c.add_argument("--chain", help="PEM file with the issuing CA certificates")
    c.add_argument("--trust-anchor", help="the agency root certificate (PEM)")
    c.set_defaults(func=cmd_hsm_cert)

    k = keys.add_parser("check", help="open every private key now and test that it signs")
    k.set_defaults(func=cmd_check)


def _token_config(home, role: Role) -> Pkcs11KeyConfig:
    return pkcs11_config(home.settings, role)


def _source_hint(home, role: Role) -> None:
    if getattr(home.settings, f"{role}_key_source") != "pkcs11":
        print(
            f'now set {role}_key_source = "pkcs11" in {home.path / "edoc.toml"} '
            f"(or EDOC_{role.upper()}_KEY_SOURCE=pkcs11) so that edoc signs with the token key"
        )


def cmd_hsm_init(args) -> int:
    home = open_home(args)
    role: Role = args.role
    config = _token_config(home, role)
    token = Pkcs11Token.open(config)
    if args.existing_key:
        key = TokenKey.in_token(token, label=config.key_label, key_id=config.key_id)
        print(f"using the existing key {key.description}")
    else:
        key_type = args.key_type or home.settings.key_type
        key = token.generate_key(
            key_type, label=config.key_label or f"edoc-{role}", key_id=config.key_id
        )
        print(f"generated {key_type} key {key.description}")
    settings = home.settings
    if args.csr:
        subject = subject_name(
            _COMMON_NAME[role].format(agency=settings.agency_name_en), settings.agency_name_en
        )
        csr = build_csr(key, subject)
        Path(args.csr).write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        print(
            f"wrote the certificate request to {args.csr}; once the agency CA has issued the "
            f"certificate, run: edoc keys hsm-cert --role {role} --cert CERT.pem "
            "--chain CHAIN.pem --trust-anchor ROOT.pem"
        )
        return EXIT_OK
    old = getattr(home.pki, role)
    cert = home.issue_credential(
        role,
        public_key=key.public_key(),
        why="the built-in CA key is needed to certify the token key",
    )
    key.check_certificate(cert)
    _store_on_token(token, cert, key)
    _audit(home, role, cert, old, key)
    print(
        f"{role} certificate: {cert.subject.rfc4514_string()}, valid until "
        f"{cert.not_valid_after_utc:%Y-%m-%d}, written to {home.settings.pki_dir / (role + '.pem')}"
    )
    _source_hint(home, role)
    return EXIT_OK


def _store_on_token(token: Pkcs11Token, cert: x509.Certificate, key: TokenKey) -> None:
    # The home's pki/<role>.pem is what edoc uses; the copy on the token is for other
    # tools and for whoever inspects the token, so failing to write it is not fatal.
    try:
        token.store_certificate(cert, label=key.label, key_id=key.key_id)
    except TokenError as exc:
        print(f"note: the certificate was not stored on the token ({exc.diagnostics()})")


def _audit(home, role: Role, cert: x509.Certificate, old, key: TokenKey) -> None:
    """Record the new certificate in the audit log, as ``edoc keys rollover`` does."""
    home.registry().audit.append(
        "ca.key-rollover",
        actor="cli",
        agency=home.settings.agency_id,
        subject=role,
        details={
            "new_serial": f"{cert.serial_number:x}",
            "old_serial": f"{old.cert.serial_number:x}" if old else None,
            "key": f"pkcs11 {key.description}",
        },
    )


def cmd_hsm_cert(args) -> int:
    home = open_home(args)
    role: Role = args.role
    try:
        certs = load_certificates(Path(args.cert))
        chain = certs[1:] + (load_certificates(Path(args.chain)) if args.chain else [])
        anchors = load_certificates(Path(args.trust_anchor)) if args.trust_anchor else []
    except CertsError as exc:
        raise CliError(exc.diagnostics(), EXIT_USAGE) from exc
    cert = certs[0]
    chain = [c for c in chain if c != cert]
    if not anchors and chain and chain[-1].issuer == chain[-1].subject:
        anchors = [chain[-1]]
    config = _token_config(home, role)
    key = TokenKey.open(config)
    key.check_certificate(cert)  # the certificate must be for this token key
    old = getattr(home.pki, role)
    _install_certificate(home.settings.pki_dir, role, cert, chain, anchors)
    _store_on_token(key.token, cert, key)
    _audit(home, role, cert, old, key)
    print(
        f"installed the {role} certificate {cert.subject.rfc4514_string()} for key {key.description}"
    )
    _source_hint(home, role)
    return EXIT_OK


def _install_certificate(pki_dir: Path, role: str, cert, chain, anchors) -> None:
    """Write ``pki/<role>.pem`` (chain included), keeping the previous one under ``retired/``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for suffix in (".pem", ".key.pem"):
        old = pki_dir / f"{role}{suffix}"
        if old.exists():
            (pki_dir / "retired").mkdir(exist_ok=True)
            old.rename(pki_dir / "retired" / f"{role}-{stamp}{suffix}")
    save_certificates(pki_dir / f"{role}.pem", [cert, *chain])
    if anchors:
        save_certificates(pki_dir / "trust" / f"{role}-agency-root.pem", anchors)


def cmd_check(args) -> int:
    home = open_home(args)
    for status in home.check_keys():
        print(
            f"{status.role}: OK, {status.location}; certificate {status.subject} "
            f"(valid until {status.not_after})"
        )
    return EXIT_OK
