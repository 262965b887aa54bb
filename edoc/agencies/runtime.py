"""What a running home keeps per agency: its seal signer, sealers, templates and issuer.

Parsing a key or a certificate chain per document would dominate issuance, so
each agency's are built once and kept until its record or seal certificate
changes (rotation, import, branding, disabling - in this process or another).
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from certs.errors import CertsError
from certs.pki import Credential
from storage.agencies import AgencyRecord

from ..errors import ConfigurationError, EdocError
from . import seal as sealfiles


class SealNotReady(EdocError):
    """The agency has a seal key but no certificate yet (outside CA)."""

    kind = "seal-not-ready"
    http_status = 409


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


class AgencyState:
    """One agency's collaborators, built lazily from its record."""

    def __init__(self, home, record: AgencyRecord):
        self._home = home
        self.record = record
        self._cert_mtime = _mtime(self._cert_path)
        self._sealers: dict[str, object] = {}

    @property
    def first(self) -> bool:
        """The home's original agency: its seal is the home's own ``pki/seal.pem``."""
        return self.record.seal_dir == "pki"

    @property
    def folder(self) -> Path:
        return sealfiles.seal_folder(self._home.path, self.record)

    @property
    def _cert_path(self) -> Path:
        return self.folder / sealfiles.CERT

    def current(self, record: AgencyRecord) -> bool:
        """Whether this state still matches ``record`` and the seal certificate on disk."""
        return record == self.record and _mtime(self._cert_path) == self._cert_mtime

    @cached_property
    def credential(self) -> Credential:
        if self.first:
            return self._home.pki.seal
        try:
            cred = sealfiles.load_credential(self.folder)
        except CertsError as exc:
            raise ConfigurationError(exc.diagnostics()) from exc
        if cred is None:
            raise SealNotReady(
                f"agency {self.record.id} has no seal certificate yet: send `edoc agency csr "
                f"{self.record.id}` to its CA and install the answer with `edoc agency import-cert`"
            )
        return cred

    def signer(self):
        """The pyHanko signer of the agency's seal (key opened and checked once)."""
        if self.first:
            return self._home.seal_signer
        if "_signer" not in self.__dict__:
            from ..keysources import FileKeySource, Pkcs11KeySource

            if self.record.seal_key_source == "pkcs11":
                source = Pkcs11KeySource(sealfiles.token_config(self._home.settings, self.record))
            else:
                source = FileKeySource(self._home.settings.passphrase())
            try:
                self.__dict__["_signer"] = source.signer(self.credential)
            except CertsError as exc:
                raise ConfigurationError(exc.diagnostics()) from exc
        return self.__dict__["_signer"]

    def sealer(self, level: str | None = None):
        """A sealer at ``level`` (default: the agency's default level, else the platform's)."""
        level = level or self.record.signing_level or self._home.settings.signing_level
        if level not in self._sealers:
            self._sealers[level] = self._home.build_sealer(
                level, signer=self.signer(), seal_cert=self.credential.cert)
        return self._sealers[level]  # type: ignore[return-value]

    def templates(self):
        """Built-in templates plus the agency's own."""
        return self._home.builtin_and(self._home.agency_templates_dir(self.record))

    def logo_path(self) -> Path | None:
        """The agency's logo as a file for the renderer (written from its record)."""
        if self.record.logo is None:
            return self._home.settings.emblem if self.first else None
        path = self._home.path / "run" / "logos" / f"{self.record.id}.img"
        if not path.exists() or path.read_bytes() != self.record.logo:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(self.record.logo)
            tmp.replace(path)
        return path

    def branding(self):
        """The agency as its documents show it."""
        from ..render import Agency

        r = self.record
        return Agency(name_th=r.name_th, name_en=r.name_en, emblem=self.logo_path(),
                      address_th=r.address_th, address_en=r.address_en)

    def issuer(self):
        """The agency's issuance workflow."""
        if "_issuer" not in self.__dict__:
            from ..issuance import Issuer
            from .service import require_active

            home, agency_id = self._home, self.record.id

            def check_active() -> None:
                # read per issuance: a disabling in another process counts at once
                require_active(home.registry().agencies.get(agency_id))

            s = home.settings
            self.__dict__["_issuer"] = Issuer(
                agency_id=agency_id,
                agency=self.branding(),
                templates=self.templates(),
                sealer_for=self.sealer,
                store=home.store(),
                registry=home.registry(),
                public_base_url=s.public_base_url,
                holder_link_key=home.holder_link_key(),
                claim_timeout=timedelta(seconds=s.idempotency_claim_seconds),
                check_active=check_active,
            )
        return self.__dict__["_issuer"]
