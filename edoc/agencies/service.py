"""Onboarding and running the agencies of a platform.

>>> service = AgencyService(home)  # doctest: +SKIP
>>> agency, key, secret = service.add("dopa", name_th="กรมการปกครอง", name_en="Department of ...")  # doctest: +SKIP

Each agency has its own seal key and certificate (built-in CA, or an outside CA
answering ``csr``), templates, branding, default PAdES level, API keys and audit
chain. A disabled agency issues nothing; its documents keep verifying.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.agencies import AgencyNotFound, AgencyRecord, valid_agency_id
from storage.audit import AuditEvent
from storage.registry import PLATFORM_AGENCY, ApiKey

from ..errors import ConfigurationError, EdocError, NotFound
from . import seal as sealfiles

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
_LOGO_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
MAX_LOGO_BYTES = 512 * 1024


class AgencyDisabled(EdocError):
    """The agency is disabled: it issues nothing (its documents still verify)."""

    kind = "agency-disabled"
    http_status = 403


def known_agency(registry, agency_id: str) -> AgencyRecord:
    """The agency ``agency_id``, or NotFound: the one lookup every entry point uses."""
    record = registry.agencies.find(agency_id) if valid_agency_id(agency_id) else None
    if record is None:
        raise NotFound(f"no agency {agency_id!r}; `edoc agency list` shows them")
    return record


def check_logo(data: bytes) -> bytes:
    """A logo must be a PNG or JPEG of at most 512 KB."""
    if len(data) > MAX_LOGO_BYTES:
        raise EdocError(f"the logo is {len(data):,} bytes; at most {MAX_LOGO_BYTES:,} are accepted")
    if not data.startswith(_LOGO_MAGIC):
        raise EdocError("the logo must be a PNG or JPEG image")
    import io

    from reportlab.lib.utils import ImageReader

    try:
        ImageReader(io.BytesIO(data)).getSize()  # what the renderer will read it with
    except Exception as exc:
        raise EdocError(f"the logo is not a readable PNG or JPEG image ({exc})") from exc
    return data


@dataclass(frozen=True)
class NewAgency:
    """What ``add`` made: the agency, and its first admin key with the secret shown once."""

    record: AgencyRecord
    admin_key: ApiKey
    secret: str
    csr_pem: bytes | None = None
    """The seal's certificate request (``--external-ca``)."""


class AgencyService:
    """Creates and changes agencies of the platform a home runs."""

    def __init__(self, home, *, actor: str = "system"):
        self._home = home
        self._actor = actor

    @property
    def _registry(self):
        return self._home.registry()

    def _passphrase(self) -> bytes:
        passphrase = self._home.settings.passphrase()
        if passphrase is None:
            raise ConfigurationError("set EDOC_KEY_PASSPHRASE: seal keys are stored encrypted")
        return passphrase

    def _event(self, event: str, agency: str, **details) -> AuditEvent:
        return AuditEvent(event, actor=self._actor, agency=agency, subject=agency, details=details)

    # -- reading --------------------------------------------------------------------

    def get(self, agency_id: str) -> AgencyRecord:
        """The agency (NotFound when there is none)."""
        return known_agency(self._registry, agency_id)

    def list(self) -> list[AgencyRecord]:
        """Every agency, oldest first."""
        return self._registry.agencies.list()

    def folder(self, record: AgencyRecord) -> Path:
        """The agency's folder in the home (seal files, templates, logo)."""
        return sealfiles.seal_folder(self._home.path, record)

    # -- onboarding -----------------------------------------------------------------

    def add(
        self,
        agency_id: str,
        *,
        name_th: str,
        name_en: str,
        external_ca: bool = False,
        key_source: str = "file",
        key_label: str | None = None,
        address_th: str | None = None,
        address_en: str | None = None,
        contact: str | None = None,
        logo: bytes | None = None,
        level: str | None = None,
    ) -> NewAgency:
        """Create an agency with its own seal key and certificate and its first admin key."""
        if not valid_agency_id(agency_id):
            raise EdocError(f"agency id {agency_id!r}: use lowercase letters, digits, dots, dashes and underscores (at most 64, a letter or digit first)")
        if not name_th.strip() or not name_en.strip():
            raise EdocError("an agency needs a Thai and an English name")
        if level is not None and level not in LEVELS:
            raise EdocError(f"level must be one of {', '.join(LEVELS)}")
        if key_source not in ("file", "pkcs11"):
            raise EdocError("the seal key source is file or pkcs11")
        if self._registry.agencies.find(agency_id) is not None:
            raise EdocError(f"agency {agency_id!r} exists already")
        if logo is not None:
            check_logo(logo)
        record = AgencyRecord(
            id=agency_id, name_th=name_th.strip(), name_en=name_en.strip(), seal_dir=f"agencies/{agency_id}",
            seal_key_source=key_source,  # type: ignore[arg-type]
            seal_key_label=(key_label or f"edoc-seal-{agency_id}") if key_source == "pkcs11" else None,
            address_th=address_th, address_en=address_en, contact=contact, logo=logo, signing_level=level,
        )
        folder = self.folder(record)
        if folder.exists() and any(folder.iterdir()):
            raise EdocError(f"{folder} exists already; move it away or choose another id")
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        try:
            public_key, token_key = self._new_key(record, folder)
            csr = None
            if external_ca:
                csr = sealfiles.write_csr(folder, record, token_key=token_key, passphrase=self._passphrase())
            else:
                cert, chain = sealfiles.builtin_certificate(
                    self._home.pki, record, public_key, passphrase=self._passphrase(),
                    public_base_url=self._home.settings.public_base_url)
                sealfiles.install(folder, cert, chain)
            record = self._registry.agencies.add(
                record, audit=self._event("agency.created", agency_id, external_ca=external_ca,
                                          key_source=key_source))
        except BaseException:
            if record.seal_key_source == "file":
                shutil.rmtree(folder, ignore_errors=True)
            raise
        key, secret = self.create_key(agency_id, roles={"admin"}, label="first agency admin")
        return NewAgency(record, key, secret, csr)

    def _new_key(self, record: AgencyRecord, folder: Path, name: str = sealfiles.KEY):
        """A new seal key: an encrypted file, or a key generated in the PKCS#11 token."""
        settings = self._home.settings
        if record.seal_key_source == "pkcs11":
            from certs.pkcs11 import Pkcs11Token

            config = sealfiles.token_config(settings, record)
            token = Pkcs11Token.open(config)
            key = token.generate_key(settings.key_type, label=record.seal_key_label or "")
            return key.public_key(), key
        return sealfiles.new_file_key(folder, key_type=settings.key_type, passphrase=self._passphrase(),
                                      name=name), None

    def _token_key(self, record: AgencyRecord):
        from certs.pkcs11 import TokenKey

        return TokenKey.open(sealfiles.token_config(self._home.settings, record))

    def create_key(self, agency_id: str, *, roles: set[str], label: str) -> tuple[ApiKey, str]:
        """An API key of the agency (never a platform key), recorded in its audit chain."""
        known_agency(self._registry, agency_id)
        if "platform" in roles:
            raise EdocError("platform keys belong to no agency: use `edoc platform-key`")
        registry = self._registry
        key, secret = registry.create_api_key(agency=agency_id, roles=roles, label=label)
        registry.audit.append("apikey.created", actor=self._actor, agency=agency_id, subject=key.id,
                              details={"roles": sorted(key.roles), "label": key.label})
        return key, secret

    # -- outside CA -----------------------------------------------------------------

    def csr(self, agency_id: str) -> bytes:
        """A (new) PKCS#10 request for the agency's current seal key."""
        record = self.get(agency_id)
        folder = self.folder(record)
        token_key = self._token_key(record) if record.seal_key_source == "pkcs11" else None
        return sealfiles.write_csr(folder, record, token_key=token_key, passphrase=self._passphrase())

    def import_cert(self, agency_id: str, cert_path: Path, chain_path: Path | None = None) -> AgencyRecord:
        """Install an outside CA's certificate for the seal key, once it matches and chains to a trusted root."""
        record = self.get(agency_id)
        folder = self.folder(record)
        cert, chain = sealfiles.load_answer(cert_path, chain_path)
        if record.seal_key_source == "pkcs11":
            public_key = self._token_key(record).public_key()
        else:
            if not (folder / sealfiles.KEY).exists():
                raise EdocError(f"agency {agency_id} has no seal key file to certify")
            from certs.keys import load_private_key

            public_key = load_private_key(folder / sealfiles.KEY, passphrase=self._passphrase()).public_key()
        sealfiles.check_answer(cert, chain, public_key=public_key,
                               trust_anchors=self._home.trust_policy().trust_anchors)
        sealfiles.install(folder, cert, chain)
        self._registry.audit.append("agency.certificate-imported", actor=self._actor, agency=agency_id,
                                    subject=agency_id, details={"serial": f"{cert.serial_number:x}",
                                                                "issuer": cert.issuer.rfc4514_string()})
        self._home.forget_agency(agency_id)
        return record

    # -- changes --------------------------------------------------------------------

    def rotate_key(self, agency_id: str):
        """A new seal key and certificate from the built-in CA; the old ones are retired, not deleted."""
        record = self.get(agency_id)
        folder = self.folder(record)
        now = datetime.now(UTC)
        if record.seal_dir == "pki" and record.seal_key_source == "pkcs11":
            raise EdocError("the first agency's seal key is the home's own: roll it over with "
                            "`edoc keys rollover --role seal` (docs/hsm.md)")
        if record.seal_key_source == "pkcs11":
            label = f"{record.seal_key_label}-{now:%Y%m%d%H%M%S}"
            from dataclasses import replace

            record = replace(record, seal_key_label=label)
            public_key, _ = self._new_key(record, folder)
            new_key = None
        else:
            public_key, _ = self._new_key(record, folder, name="seal.next.key.pem")
            new_key = "seal.next.key.pem"
        cert, chain = sealfiles.builtin_certificate(
            self._home.pki, record, public_key, passphrase=self._passphrase(),
            public_base_url=self._home.settings.public_base_url, now=now)
        sealfiles.install(folder, cert, chain, now=now, new_key=new_key)
        self._registry.agencies.update(
            agency_id, seal_key_label=record.seal_key_label,
            audit=self._event("agency.key-rotated", agency_id, serial=f"{cert.serial_number:x}"))
        self._home.forget_agency(agency_id)
        return cert

    def set_status(self, agency_id: str, active: bool) -> AgencyRecord:
        """Disable an agency (it issues nothing more) or enable it again."""
        self.get(agency_id)
        record = self._registry.agencies.update(
            agency_id, status="active" if active else "disabled",
            disabled_at=None if active else datetime.now(UTC),
            audit=self._event("agency.enabled" if active else "agency.disabled", agency_id))
        self._home.forget_agency(agency_id)
        return record

    def brand(self, agency_id: str, **changes) -> AgencyRecord:
        """Change names, address, contact, logo or default level."""
        self.get(agency_id)
        changes = {k: v for k, v in changes.items() if v is not None}
        if "logo" in changes:
            check_logo(changes["logo"])
        if changes.get("signing_level") not in (None, *LEVELS):
            raise EdocError(f"level must be one of {', '.join(LEVELS)}")
        allowed = {"name_th", "name_en", "address_th", "address_en", "contact", "logo", "signing_level"}
        if unknown := set(changes) - allowed:
            raise EdocError(f"cannot change {', '.join(sorted(unknown))}")
        record = self._registry.agencies.update(
            agency_id, audit=self._event("agency.updated", agency_id, fields=sorted(changes)), **changes)
        self._home.forget_agency(agency_id)
        return record

    def add_template(self, agency_id: str, source: Path) -> str:
        """Validate a template folder and add it to the agency's own templates; returns its name."""
        from ..templates import Template

        record = self.get(agency_id)
        template = Template.from_dir(source)  # TemplateInvalid names what is wrong
        from ..render import render

        for lang, example in template.examples.items():  # it must render its own examples
            render(template, dict(example), doc_id="template-check", verify_url="http://127.0.0.1/verify/x",
                   agency=self._home.agency(agency_id), lang=lang if lang in template.languages else None,
                   issued_at=datetime.now(UTC))
        target = self._home.agency_templates_dir(record) / template.name
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target)
        self._registry.audit.append("agency.template-added", actor=self._actor, agency=agency_id,
                                    subject=template.name, details={})
        self._home.forget_agency(agency_id)
        return template.name


def require_active(record: AgencyRecord) -> None:
    """AgencyDisabled unless the agency may issue."""
    if not record.active:
        raise AgencyDisabled(f"agency {record.id} is disabled: it issues no documents")


__all__ = [
    "PLATFORM_AGENCY",
    "AgencyDisabled",
    "AgencyNotFound",
    "AgencyService",
    "NewAgency",
    "known_agency",
    "require_active",
]
