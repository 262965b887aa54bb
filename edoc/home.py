"""An edoc home: the folder holding configuration, keys, objects and the registry.

:class:`Home` assembles the collaborators the workflows need (sealer, TSA,
trust policy) from :class:`~edoc.settings.Settings`, once, and caches them:
parsing a private key or a certificate chain per document would dominate the
cost of issuance.

>>> home = Home.create(Settings(home=Path("/tmp/edoc")))  # doctest: +SKIP
>>> home.sealer().seal(pdf)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import secrets
from functools import cached_property
from pathlib import Path

from certs.errors import CertsError
from certs.pki import Pki, create_builtin_pki
from signing.seal import Sealer, SealSettings
from signing.serials import SerialCounter
from signing.timestamps import InProcessTimeStamper, http_timestamper
from signing.tsa import TimeStampAuthority, TsaSettings
from signing.validate import TrustPolicy

from .errors import ConfigurationError
from .keysources import KeyStatus, Role, key_source_for
from .settings import CONFIG_NAME, Settings

log = logging.getLogger(__name__)

_PASSPHRASE_FILE = "secrets/key-passphrase"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if hasattr(value, "get_secret_value"):
        raise ValueError("secrets are never written to edoc.toml")
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


_SECRET_FIELDS = {"home", "key_passphrase", "s3_secret_key"}
_ALWAYS_WRITTEN = ("public_base_url", "agency_id", "agency_name_th", "agency_name_en", "key_type",
                   "signing_level")


def _config_text(settings: Settings, extra: dict[str, object]) -> str:
    """The first edoc.toml: the settings given explicitly, never a secret."""
    names = [*_ALWAYS_WRITTEN, *sorted(settings.model_fields_set - set(_ALWAYS_WRITTEN))]
    values = {n: getattr(settings, n) for n in names if n not in _SECRET_FIELDS}
    values.update(extra)
    lines = ["# edoc configuration; EDOC_* environment variables override these.\n"]
    lines += [f"{k} = {_toml_value(v)}\n" for k, v in values.items() if v is not None]
    return "".join(lines)


class Home:
    """A configured installation; build once per process and share."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @property
    def path(self) -> Path:
        """The home folder."""
        return self.settings.home

    @classmethod
    def create(cls, settings: Settings, *, passphrase: bytes | None = None) -> Home:
        """Create a home with a config file and a built-in PKI (idempotent on an existing home)."""
        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)
        config = home / CONFIG_NAME
        extra: dict[str, object] = {}
        passphrase = passphrase or settings.passphrase()
        if passphrase is None:
            # No passphrase given: make a strong one and keep it beside the keys,
            # readable by the service account only. Production sets EDOC_KEY_PASSPHRASE.
            from certs.keys import write_private_file

            passphrase = secrets.token_urlsafe(32).encode()
            write_private_file(home / _PASSPHRASE_FILE, passphrase + b"\n")
            (home / _PASSPHRASE_FILE).parent.chmod(0o700)
            extra["key_passphrase_file"] = Path(_PASSPHRASE_FILE)
        if not config.exists():
            config.write_text(_config_text(settings, extra), encoding="utf-8")
        settings = settings.model_copy(update=extra)
        for sub in ("objects", "templates"):
            (home / sub).mkdir(exist_ok=True)
        if not (settings.pki_dir / "seal.pem").exists():
            create_builtin_pki(
                settings.pki_dir,
                agency=settings.agency_name_en,
                public_base_url=settings.public_base_url,
                key_type=settings.key_type,
                passphrase=passphrase,
            )
        return cls(settings)

    @classmethod
    def open(cls, settings: Settings) -> Home:
        """Open an existing home; a clear error when there is none."""
        if not (settings.pki_dir / "seal.pem").exists():
            raise ConfigurationError(
                f"no edoc home at {settings.home}: run `edoc init` (or set EDOC_HOME)"
            )
        return cls(settings)

    @cached_property
    def pki(self) -> Pki:
        """The loaded PKI folder."""
        try:
            return Pki.load(self.settings.pki_dir)
        except CertsError as exc:
            raise ConfigurationError(exc.diagnostics()) from exc

    def _passphrase(self) -> bytes | None:
        return self.settings.passphrase()

    def _signer_for(self, role: Role, credential):
        """The signer for ``role``'s key, from the key source the settings name (file or token)."""
        try:
            return key_source_for(self.settings, role).signer(credential)
        except CertsError as exc:
            raise ConfigurationError(exc.diagnostics()) from exc

    @cached_property
    def seal_signer(self):
        """The pyHanko signer for the agency seal (key opened and checked once)."""
        return self._signer_for("seal", self.pki.seal)

    def check_keys(self) -> list[KeyStatus]:
        """Open and test every private key now; ConfigurationError when one cannot sign.

        Entry points call this at start-up, so that a wrong PIN, a missing token or
        key, or a key that does not match its certificate stops the service before
        it accepts a request.
        """
        checked = [("seal", self.pki.seal, lambda: self.seal_signer)]
        if self.pki.tsa is not None:
            checked.append(("tsa", self.pki.tsa, lambda: self.tsa))
        statuses = []
        for role, credential, build in checked:
            build()
            source = key_source_for(self.settings, role)  # type: ignore[arg-type]
            statuses.append(
                KeyStatus(
                    role=role,
                    source=source.name,
                    location=source.describe(),
                    subject=credential.cert.subject.rfc4514_string(),
                    not_after=f"{credential.cert.not_valid_after_utc:%Y-%m-%d}",
                )
            )
        return statuses

    @cached_property
    def tsa(self) -> TimeStampAuthority | None:
        """The built-in TSA, when this home has a TSA key."""
        if self.pki.tsa is None:
            return None
        return TimeStampAuthority(
            signer=self._signer_for("tsa", self.pki.tsa),
            serials=SerialCounter(self.settings.pki_dir / "tsa-serial"),
            settings=TsaSettings(policy_oid=self.settings.tsa_policy_oid),
        )

    def timestamper(self):
        """The external TSA when configured, else the built-in one in-process."""
        if self.settings.tsa_url:
            return http_timestamper(self.settings.tsa_url)
        if self.tsa is None:
            raise ConfigurationError("no TSA: configure tsa_url or create a built-in TSA key")
        return InProcessTimeStamper(self.tsa)

    def seal_settings(self, level: str | None = None) -> SealSettings:
        """Seal settings for a level (default: the configured one)."""
        # The renderer typesets the stamp's text (Thai) into the page itself; the
        # signature widget over it stays blank, so pyHanko never subsets a font.
        return SealSettings(
            level=level or self.settings.signing_level,  # type: ignore[arg-type]
            stamp_text="",
            signature_size=self.settings.signature_size or self._signature_room(),
        )

    def _signature_room(self) -> int:
        tsa = None if self.settings.tsa_url or self.pki.tsa is None else self.pki.tsa.cert
        return _signature_room(
            self.pki.seal.cert,
            tsa,
            external_tsa=bool(self.settings.tsa_url),
            content_timestamp=SealSettings.content_timestamp,
        )

    def sealer(self, level: str | None = None, agency: str | None = None) -> Sealer:
        """A sealer at ``level`` (default: the agency's level, else the configured one) with
        ``agency``'s seal key and certificate (default: the home's first agency)."""
        return self._agency_state(agency or self.settings.agency_id).sealer(level)

    def build_sealer(self, level: str | None, *, signer, seal_cert) -> Sealer:
        """A new sealer at ``level`` for one seal key (agencies cache theirs)."""
        settings = self.seal_settings(level)
        timestamper = self.timestamper() if settings.level != "B-B" else None
        vc = None
        if settings.level in ("B-LT", "B-LTA"):
            vc = self.validation_data(sealing=True, seal_cert=seal_cert) or self.trust_policy().validation_context
        return Sealer(settings, signer=signer, timestamper=timestamper, validation_context=vc)

    def issue_credential(self, role: str, *, public_key=None, why: str = "new keys are stored encrypted"):
        """Have the built-in CA certify a new ``role`` key (rollover; ``public_key`` for an HSM key)."""
        from datetime import UTC, datetime

        from certs.pki import issue_credential

        passphrase = self.settings.passphrase()
        if passphrase is None:
            raise ConfigurationError(f"set EDOC_KEY_PASSPHRASE: {why}")
        s = self.settings
        return issue_credential(
            self.pki,
            role,
            passphrase=passphrase,
            key_type=s.key_type,
            public_base_url=s.public_base_url,
            agency=s.agency_name_en,
            now=datetime.now(UTC),
            public_key=public_key,
        )

    # -- storage and documents ----------------------------------------------------

    def registry(self):
        """The registry (opened and migrated once per process)."""
        if "_registry" not in self.__dict__:
            from storage.registry import Registry

            from .agencies.upgrade import schema_before, upgrade_registry

            before = schema_before(self)
            registry = Registry.open(self.settings.effective_database_url)
            self.__dict__["_registry"] = registry
            # a home of the previous version becomes a platform on first use (edoc/agencies/upgrade.py)
            if registry.agencies.find(self.settings.agency_id) is None:
                self.__dict__["_upgraded"] = upgrade_registry(self, registry, before=before)
            _bind_older_documents(registry, self.store)
        return self.__dict__["_registry"]

    def store(self):
        """The object store the settings name (local folder by default)."""
        if "_store" not in self.__dict__:
            self.__dict__["_store"] = _open_store(self.settings)
        return self.__dict__["_store"]

    def templates(self, agency: str | None = None):
        """Built-in templates plus the agency's own (``templates/`` in the home for the first one)."""
        if agency is not None and agency != self.settings.agency_id:
            return self._agency_state(agency).templates()
        return self._agency_state(self.settings.agency_id).templates()

    def builtin_and(self, folder: Path):
        """The built-in templates plus those in ``folder`` (loaded once per folder)."""
        cache = self.__dict__.setdefault("_template_dirs", {})
        if folder not in cache:
            from .templates import BUILTIN_DIR, TemplateLibrary

            cache[folder] = TemplateLibrary.from_dirs(BUILTIN_DIR, folder)
        return cache[folder]

    def agency(self, agency: str | None = None):
        """The issuing agency as documents show it (default: the home's first agency)."""

        return self._agency_state(agency or self.settings.agency_id).branding()

    def settings_branding(self):
        """The first agency as the settings describe it (what an upgrade records)."""
        from .render import Agency

        s = self.settings
        return Agency(
            name_th=s.agency_name_th,
            name_en=s.agency_name_en,
            emblem=s.emblem,
            address_th=s.agency_address_th,
            address_en=s.agency_address_en,
        )

    # -- the platform's agencies (edoc/agencies) ------------------------------------

    def agency_record(self, agency: str | None = None):
        """The registry's record of ``agency`` (default: the first); NotFound for an unknown one.

        The first agency's record is written on first use of an upgraded home.
        """
        from .agencies import known_agency

        agency = agency or self.settings.agency_id
        registry = self.registry()
        return known_agency(registry, agency)

    def agency_templates_dir(self, record) -> Path:
        """Where ``record``'s own templates live."""
        if record.seal_dir == "pki":
            return self.settings.templates_dir
        return self.path / record.seal_dir / "templates"

    #: how long an agency's cached collaborators are used before its record is read again
    AGENCY_RECHECK_SECONDS = 2.0

    def _agency_state(self, agency: str):
        import time

        from .agencies.runtime import AgencyState

        states = self.__dict__.setdefault("_agency_states", {})
        cached = states.get(agency)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.AGENCY_RECHECK_SECONDS:
            return cached[0]
        record = self.agency_record(agency)
        state = cached[0] if cached is not None else None
        if state is None or not state.current(record):
            state = AgencyState(self, record)
        states[agency] = (state, now)
        return state

    def forget_agency(self, agency: str) -> None:
        """Drop what is cached for ``agency`` (after its key, certificate or settings changed)."""
        self.__dict__.setdefault("_agency_states", {}).pop(agency, None)
        self.__dict__.setdefault("_template_dirs", {}).clear()
        if agency == self.settings.agency_id:  # its seal is the home's own pki/seal.pem
            for name in ("pki", "seal_signer", "_revocation"):
                self.__dict__.pop(name, None)

    def holder_link_key(self) -> bytes:
        """The secret that derives holders' download tokens (created on first use)."""
        from certs.keys import create_private_file_once

        return create_private_file_once(
            self.path / "secrets" / "holder-link-key", secrets.token_bytes(32)
        )

    def issuer(self, agency: str | None = None):
        """The issuance workflow for ``agency`` (default: the home's first agency)."""
        return self._agency_state(agency or self.settings.agency_id).issuer()

    def trust_policy(self) -> TrustPolicy:
        """What this installation's verifier trusts: its anchors, and its own CA's word on
        revocation (so a revoked seal or TSA key counts offline)."""
        pki = self.pki
        revocation = self.revocation()
        anchors = self.trust_store().certificates()  # pki/trust/*.pem plus `edoc trust`'s
        return TrustPolicy(
            trust_anchors=anchors,
            other_certs=tuple(c for c in pki.all_certificates() if c not in anchors),
            revocation_evidence=revocation.evidence_for_verifier if revocation else None,
        )

    def trust_store(self):
        """The named anchors (certs/truststore.py): the home's own roots and those added."""
        from certs.truststore import TrustStore

        return TrustStore(self.path / "truststore", legacy_dir=self.settings.pki_dir / "trust")

    # -- long-term validity (signing/ltv.py, certs/revocation.py) ------------------

    def revocation(self):
        """The built-in CA's revocation services (CRLs, OCSP); None when the seal is imported."""
        if "_revocation" not in self.__dict__:
            from certs.revocation import RevocationService

            pki, service = self.pki, None
            # only when the seal comes from the built-in CA: an imported seal's own CA
            # speaks for it, and our CA's CRL must not be confused with that CA's
            built_in = pki.issuing_ca is not None and pki.seal.chain[:1] == (pki.issuing_ca.cert,)
            if built_in and (self.settings.pki_dir / "issuing-ca.key.pem").exists():
                service = RevocationService(self.settings.pki_dir, passphrase=self._passphrase())
            self.__dict__["_revocation"] = service
        return self.__dict__["_revocation"]

    def validation_data(self, *, sealing: bool = False, seal_cert=None):
        """Validation contexts with the built-in CA's revocation data (None without one).

        For sealing, OCSP answers cover the seal and the built-in TSA; for archive
        renewal, every certificate the CA vouches for.
        """
        from signing.ltv import ValidationData

        revocation = self.revocation()
        if revocation is None:
            return None
        certificates = None
        if sealing:
            def certificates():
                pki = self.pki
                return [seal_cert or pki.seal.cert] + ([pki.tsa.cert] if pki.tsa is not None else [])
        return ValidationData(
            revocation=revocation,
            policy=self.trust_policy(),
            certificates=certificates,
            allow_fetching=bool(self.settings.tsa_url),
        )


def _signature_room(
    seal_cert, tsa_cert=None, *, external_tsa: bool = False, content_timestamp: bool = True
) -> int:
    """Hex digits to reserve for the CMS blob, so pyHanko signs once instead of twice.

    Measured: an ECDSA B-T blob with its chain and timestamp takes ~10,000 hex
    digits, an RSA-3072 one ~19,000, an ECDSA seal with an RSA-3072 TSA ~17,800;
    the rest is headroom for longer names. The timestamp token is inside the blob,
    so the TSA's key counts too (an external TSA's is unknown: assume RSA).
    A content timestamp (SealSettings.content_timestamp) is a second token in the
    blob: with 64-byte Thai names, ECDSA 18,400 and RSA-3072 32,100 digits in all.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    certs = [c for c in (seal_cert, tsa_cert) if c is not None]
    any_rsa = external_tsa or any(isinstance(c.public_key(), rsa.RSAPublicKey) for c in certs)
    room = 32768 if any_rsa else 16384
    return room + (room // 2 if content_timestamp else 0)


def _bind_older_documents(registry, store) -> None:
    """Bind documents issued before seal bindings existed to their seals (issue 17)."""
    from .sealbindings import backfill

    try:
        bound = backfill(registry, store())
    except Exception as exc:  # never stop the home from opening: unbound reads "not on record"
        log.warning("binding older documents to their seals failed: %s", exc)
        return
    if bound:
        log.info("bound %d older document versions to their seals", bound)


def _open_store(settings: Settings):
    """The object store backend named by the settings."""
    if settings.storage_backend == "s3":
        from storage.objects import S3Config, S3ObjectStore

        if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
            raise ConfigurationError(
                "storage_backend = s3 needs s3_endpoint, s3_access_key and s3_secret_key"
            )
        return S3ObjectStore.from_config(
            S3Config(
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key.get_secret_value(),
                bucket=settings.s3_bucket,
                region=settings.s3_region,
                secure=settings.s3_secure,
                retention_mode=settings.retention_mode,
                retention_days=settings.retention_days,
            )
        )
    from storage.objects import LocalObjectStore

    return LocalObjectStore(settings.objects_dir)
