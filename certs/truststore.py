"""The trust store: the named certificates a home's verifier accepts as roots.

Anchors live in ``truststore/`` under the home: one PEM file per certificate
(named by its SHA-256) and ``index.json`` naming them. Three kinds of anchor:

- the home's own roots, still read from the loose PEM files in ``pki/trust/``
  (the built-in root, an imported seal's root), so existing homes keep working;
  they are listed with source ``pki/trust`` and cannot be removed here;
- certificates added by an operator (``edoc trust add FILE --name NAME``),
  trusted for seals, for timestamps, or both;
- services of an imported ETSI TS 119 612 trusted list, each with its service
  type and status history: such an anchor counts only while the list says the
  service is ``granted`` (or, in older lists, ``accredited``).

>>> store = TrustStore(home / "truststore", legacy_dir=home / "pki" / "trust")  # doctest: +SKIP
>>> store.add(Path("agency-b-root.pem"), name="agency-b")  # doctest: +SKIP
>>> [a.name for a in store.anchors()]  # doctest: +SKIP
['root-ca', 'agency-b']
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .errors import CertsError

Purpose = Literal["seal", "tsa", "any"]
PURPOSES: tuple[str, ...] = ("seal", "tsa", "any")

#: TS 119 612 statuses under which a service is an anchor (``accredited``: lists before v5)
TRUSTED_STATUSES = ("/granted", "/accredited")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_INDEX = "index.json"


class TrustStoreError(CertsError):
    """A trust store operation that cannot be done as asked."""


@dataclass(frozen=True)
class StatusPeriod:
    """One entry of a trusted-list service's status history: ``status`` from ``start`` on."""

    status: str
    start: datetime

    @property
    def trusted(self) -> bool:
        """Whether this status makes the service an anchor."""
        return self.status.rstrip("/").endswith(TRUSTED_STATUSES)


@dataclass(frozen=True)
class Anchor:
    """One trusted certificate, with what it is trusted for."""

    name: str
    purpose: Purpose
    cert: x509.Certificate
    source: str
    """``pki/trust`` (the home's own), ``added`` (an operator's), or ``tl:LIST`` (a trusted list)."""
    service_type: str | None = None
    """A trusted-list service's ServiceTypeIdentifier."""
    history: tuple[StatusPeriod, ...] = ()
    """A trusted-list service's status periods, newest first; empty: always trusted."""

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the certificate (its identity in the store)."""
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def serves(self, role: Literal["seal", "tsa"]) -> bool:
        """Whether this anchor vouches for seals or for timestamp authorities."""
        return self.purpose in ("any", role)

    def status_at(self, when: datetime) -> StatusPeriod | None:
        """The trusted-list status in force at ``when`` (None: not listed yet, or no list)."""
        for period in self.history:  # newest first
            if period.start <= when:
                return period
        return None

    def active_at(self, when: datetime | None = None) -> bool:
        """Whether this is an anchor at ``when`` (default now)."""
        if not self.history:
            return True
        period = self.status_at(when or datetime.now(UTC))
        return period is not None and period.trusted

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary (for ``edoc trust list``)."""
        now = datetime.now(UTC)
        current = self.status_at(now)
        return {
            "name": self.name,
            "for": self.purpose,
            "source": self.source,
            "subject": self.cert.subject.rfc4514_string(),
            "sha256": self.sha256,
            "not_after": f"{self.cert.not_valid_after_utc:%Y-%m-%d}",
            "service_type": self.service_type,
            "status": current.status if current else None,
            "active": self.active_at(now),
        }


def load_one_certificate(data: bytes) -> x509.Certificate:
    """The single certificate in PEM or DER ``data``; TrustStoreError otherwise."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise TrustStoreError(f"not a certificate (PEM or DER): {exc}") from None
    if len(certs) != 1:
        raise TrustStoreError(f"the file holds {len(certs)} certificates; add them one at a time")
    return certs[0]


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class TrustStore:
    """The anchors of one home (read on every call: the files are small and few)."""

    def __init__(self, directory: Path, *, legacy_dir: Path | None = None):
        self.directory = directory
        self.legacy_dir = legacy_dir

    # -- reading -----------------------------------------------------------------

    def _index(self) -> dict:
        path = self.directory / _INDEX
        if not path.exists():
            return {"anchors": [], "lists": {}}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrustStoreError(f"the trust store index {path} is unreadable: {exc}") from None

    def _legacy(self) -> list[Anchor]:
        if self.legacy_dir is None:
            return []
        found = []
        for path in sorted(self.legacy_dir.glob("*.pem")):
            certs = x509.load_pem_x509_certificates(path.read_bytes())
            for i, cert in enumerate(certs):
                name = path.stem if i == 0 else f"{path.stem}-{i + 1}"
                found.append(Anchor(name=name, purpose="any", cert=cert, source="pki/trust"))
        return found

    def anchors(self) -> tuple[Anchor, ...]:
        """Every anchor, whatever its trusted-list status (see :meth:`Anchor.active_at`)."""
        found = self._legacy()
        for entry in self._index()["anchors"]:
            try:
                cert = x509.load_pem_x509_certificate((self.directory / entry["file"]).read_bytes())
            except (OSError, ValueError) as exc:
                raise TrustStoreError(
                    f"the trust store's certificate for {entry['name']!r} is unreadable: {exc}"
                ) from None
            found.append(
                Anchor(
                    name=entry["name"],
                    purpose=entry["purpose"],
                    cert=cert,
                    source=entry["source"],
                    service_type=entry.get("service_type"),
                    history=tuple(
                        StatusPeriod(p["status"], datetime.fromisoformat(p["start"]))
                        for p in entry.get("history", ())
                    ),
                )
            )
        return tuple(found)

    def certificates(self, *, any_time: bool = False) -> tuple[x509.Certificate, ...]:
        """The distinct certificates that root chains now (``any_time``: or ever did, per the
        trusted lists' history; a verifier validating at past times then checks the time)."""
        seen: dict[bytes, x509.Certificate] = {}
        for anchor in self.anchors():
            if anchor.active_at() or (any_time and any(p.trusted for p in anchor.history)):
                seen.setdefault(anchor.cert.fingerprint(hashes.SHA256()), anchor.cert)
        return tuple(seen.values())

    def lists(self) -> dict[str, dict]:
        """The imported trusted lists by name: signer file, territory, sequence, dates."""
        return dict(self._index()["lists"])

    def pinned_signer(self, list_name: str) -> x509.Certificate | None:
        """The signer certificate a trusted list was last imported with, if any."""
        entry = self._index()["lists"].get(list_name)
        if not entry:
            return None
        return x509.load_pem_x509_certificate((self.directory / entry["signer"]).read_bytes())

    # -- writing -----------------------------------------------------------------

    def _save(self, index: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{_INDEX}.{os.getpid()}"
        tmp.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.directory / _INDEX)

    def _store_cert(self, cert: x509.Certificate) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        file = f"{cert.fingerprint(hashes.SHA256()).hex()}.pem"
        path = self.directory / file
        if not path.exists():
            path.write_bytes(_pem(cert))
        return file

    def _check_name(self, name: str, *, replacing_source: str | None = None) -> None:
        if not _NAME.fullmatch(name):
            raise TrustStoreError(
                f"invalid anchor name {name!r}: use 1-64 letters, digits, '.', '_' or '-'"
            )
        for anchor in self.anchors():
            if anchor.name == name and anchor.source != replacing_source:
                raise TrustStoreError(f"an anchor named {name!r} exists already ({anchor.source})")

    def add(self, cert: x509.Certificate, *, name: str, purpose: Purpose = "any") -> Anchor:
        """Trust ``cert`` as the anchor ``name`` (for ``seal``, ``tsa`` or ``any``)."""
        if purpose not in PURPOSES:
            raise TrustStoreError(f"--for must be one of {', '.join(PURPOSES)}, not {purpose!r}")
        self._check_name(name)
        if cert.not_valid_after_utc < datetime.now(UTC):
            raise TrustStoreError(
                f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}; not added"
            )
        index = self._index()
        index["anchors"].append(
            {"name": name, "purpose": purpose, "file": self._store_cert(cert), "source": "added"}
        )
        self._save(index)
        return next(a for a in self.anchors() if a.name == name)

    def remove(self, name: str) -> None:
        """Stop trusting the anchor ``name`` (an operator's; the home's own roots stay)."""
        index = self._index()
        for anchor in self._legacy():
            if anchor.name == name:
                raise TrustStoreError(
                    f"{name!r} is this home's own root (pki/trust/); it cannot be removed"
                )
        kept = [e for e in index["anchors"] if e["name"] != name]
        if len(kept) == len(index["anchors"]):
            raise TrustStoreError(f"no anchor named {name!r}; see `edoc trust list`")
        index["anchors"] = kept
        self._save(index)

    def replace_list(self, list_name: str, services: list[Anchor], *, signer: x509.Certificate,
                     info: dict[str, object]) -> None:
        """Install a trusted list's services as anchors, replacing its previous import."""
        source = f"tl:{list_name}"
        index = self._index()
        index["anchors"] = [e for e in index["anchors"] if e["source"] != source]
        taken = {a.name for a in self.anchors() if a.source != source}
        for anchor in services:
            if anchor.name in taken or not _NAME.fullmatch(anchor.name):
                raise TrustStoreError(f"trusted list anchor name {anchor.name!r} is taken or invalid")
            taken.add(anchor.name)
            index["anchors"].append(
                {
                    "name": anchor.name,
                    "purpose": anchor.purpose,
                    "file": self._store_cert(anchor.cert),
                    "source": source,
                    "service_type": anchor.service_type,
                    "history": [
                        {"status": p.status, "start": p.start.isoformat()} for p in anchor.history
                    ],
                }
            )
        index["lists"][list_name] = {"signer": self._store_cert(signer), **info}
        self._save(index)

    # -- lookup ------------------------------------------------------------------

    def find(self, cert_sha256: str) -> list[Anchor]:
        """The anchors holding the certificate with this SHA-256 (hex)."""
        return [a for a in self.anchors() if a.sha256 == cert_sha256]
