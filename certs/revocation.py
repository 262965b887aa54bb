"""Revocation services of the built-in CA: who was revoked, the CRLs, and an OCSP responder.

The certificates the CA issued are the ones in the PKI folder (current and
``retired/``); revocations are kept in ``revocation.json`` beside them, written
atomically under a lock so the CLI and several service workers can share it.
CRLs are regenerated on every revocation and when they get old; OCSP answers
(RFC 6960) are signed by the delegated responder certificate. A key-compromise
revocation is dated back to the compromise: the revocation time is what
relying parties compare with a document's timestamp.

:meth:`RevocationService.evidence` is what the rest of edoc consumes: OCSP
answers and the root CRL as of a time, for the DSS of B-LT documents, for
archive renewal and for our own verifier.

>>> service = RevocationService(Path("/srv/edoc/pki"), passphrase=b"s3cret")  # doctest: +SKIP
>>> service.revoke(pki.seal.cert, reason="key-compromise", at=when)  # doctest: +SKIP
>>> der = service.ocsp_response(der_request)  # what POST /ocsp answers  # doctest: +SKIP
>>> crl = service.current_crl("issuing-ca")  # what GET /pki/issuing-ca.crl serves  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import CertsError, KeyLoadError, PkiNotFound
from .keys import PrivateKey, load_certificates, load_private_key
from .ocsp import CertStatus, OcspResponder
from .profiles import signature_hash

log = logging.getLogger(__name__)

#: CAs of the built-in PKI that publish a CRL
CRL_ISSUERS = ("issuing-ca", "root-ca")

#: revocation reasons accepted on the command line (RFC 5280 §5.3.1); holds are not
#: supported because a reversible revocation would undo proofs already embedded in documents
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "privilege-withdrawn": x509.ReasonFlags.privilege_withdrawn,
}
_DB_NAME = "revocation.json"
_CRL_DIR = "crl"


class RevocationError(CertsError):
    """A revocation request that cannot be carried out (unknown certificate, bad time or reason)."""


@dataclass(frozen=True)
class RevocationSettings:
    """How long CRLs and OCSP answers are valid. Every period is named here, once."""

    crl_validity: timedelta = timedelta(days=7)
    """``nextUpdate - thisUpdate`` of each CRL: relying parties may cache it this long."""
    crl_refresh: timedelta = timedelta(days=1)
    """A CRL older than this is regenerated when asked for (and by ``edoc ca crl``)."""
    ocsp_validity: timedelta = timedelta(days=1)
    """``nextUpdate - thisUpdate`` of each OCSP answer."""
    ocsp_cache: timedelta = timedelta(hours=1)
    """How long an OCSP answer made for sealing (B-LT) is reused before a fresh one is signed."""
    max_backdate: timedelta = timedelta(days=3650)
    """How far in the past a revocation time may be set (key compromise is found late)."""


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate as the CA records it."""

    issuer: str
    """Label of the issuing CA: ``issuing-ca`` or ``root-ca``."""
    serial: int
    subject: str
    """Subject of the revoked certificate (RFC 4514), for people reading the file."""
    reason: str
    """One of :data:`REASONS`."""
    revoked_at: datetime
    """When the certificate stopped being trustworthy (for key compromise: when it happened)."""
    recorded_at: datetime
    """When the CA recorded the revocation."""

    def to_json(self) -> dict:
        data = asdict(self)
        data["serial"] = format(self.serial, "x")
        data["revoked_at"] = self.revoked_at.isoformat()
        data["recorded_at"] = self.recorded_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> Revocation:
        return cls(
            issuer=data["issuer"],
            serial=int(data["serial"], 16),
            subject=data["subject"],
            reason=data["reason"],
            revoked_at=datetime.fromisoformat(data["revoked_at"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
        )


@dataclass(frozen=True)
class CertificateStatus:
    """What the CA says about one certificate."""

    status: Literal["good", "revoked", "unknown"]
    revocation: Revocation | None = None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware, e.g. datetime.now(UTC)")
    return value.astimezone(UTC)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fp:
        fp.write(data)
        fp.flush()
        os.fsync(fp.fileno())
    os.replace(tmp, path)


class CertificateDatabase:
    """The built-in CA's record of issued certificates (the PKI folder) and revocations."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._path = directory / _DB_NAME
        self._issued: tuple[tuple[int, ...], dict[tuple[str, int], x509.Certificate]] | None = None
        self._cache: tuple[tuple[int, int], dict] | None = None

    @contextlib.contextmanager
    def locked(self, name: str = "revocation") -> Iterator[None]:
        """Hold the exclusive lock ``name`` (between processes too); not re-entrant."""
        fd = os.open(self.directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return {"version": 1, "revoked": [], "crl_numbers": {}}
        key = (stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, json.loads(self._path.read_bytes()))
        return json.loads(json.dumps(self._cache[1]))  # a copy the caller may change

    def _write(self, data: dict) -> None:
        _atomic_write(self._path, json.dumps(data, indent=2, sort_keys=True).encode())

    def state_token(self) -> tuple[int, ...]:
        """Changes whenever a revocation is recorded or a certificate is added or retired."""
        token = []
        for path in (self._path, self.directory, self.directory / "retired", self.directory / "issued"):
            try:
                token.append(path.stat().st_mtime_ns)
            except FileNotFoundError:
                token.append(0)
        return tuple(token)

    def revocations(self, issuer: str | None = None) -> list[Revocation]:
        """Recorded revocations (of one issuing CA, or all)."""
        items = [Revocation.from_json(r) for r in self._read()["revoked"]]
        return [r for r in items if issuer is None or r.issuer == issuer]

    def issued(self) -> dict[tuple[str, int], x509.Certificate]:
        """Every certificate of the folder issued by the built-in CAs, by (issuer label, serial)."""
        token = self.state_token()
        if self._issued is not None and self._issued[0] == token:
            return self._issued[1]
        found = self._scan()
        self._issued = (token, found)
        return found

    def _scan(self) -> dict[tuple[str, int], x509.Certificate]:
        cas = {label: self._ca_cert(label) for label in CRL_ISSUERS}
        found: dict[tuple[str, int], x509.Certificate] = {}
        # issued/: copies of the certificates the CA gave the platform's agencies' seals
        paths = [*self.directory.glob("*.pem"), *(self.directory / "retired").glob("*.pem"),
                 *(self.directory / "issued").glob("*.pem")]
        for path in paths:
            if path.name.endswith(".key.pem"):
                continue
            try:
                cert = load_certificates(path)[0]
            except KeyLoadError:
                continue
            for label, ca in cas.items():
                if ca is not None and cert.issuer == ca.subject and cert != ca:
                    found[(label, cert.serial_number)] = cert
        return found

    def _ca_cert(self, label: str) -> x509.Certificate | None:
        path = self.directory / f"{label}.pem"
        return load_certificates(path)[0] if path.exists() else None

    def issuer_of(self, cert: x509.Certificate) -> str:
        """The label of the built-in CA that issued ``cert``; RevocationError if none did."""
        for (label, serial), known in self.issued().items():
            if serial == cert.serial_number and known == cert:
                return label
        raise RevocationError(
            f"certificate {cert.serial_number:x} ({cert.subject.rfc4514_string()}) "
            "was not issued by this home's built-in CA"
        )

    def status(self, issuer: str, serial: int, *, at: datetime | None = None) -> CertificateStatus:
        """good / revoked / unknown (never issued by that CA), as of ``at`` (default: now)."""
        for rev in self.revocations(issuer):
            if rev.serial == serial and (at is None or rev.revoked_at <= at):
                return CertificateStatus("revoked", rev)
        if (issuer, serial) in self.issued():
            return CertificateStatus("good")
        return CertificateStatus("unknown")

    def record(self, revocation: Revocation) -> Revocation:
        """Record a revocation; an existing one is kept unless this one is key compromise.

        RFC 5280 lets a CA move a revocation earlier and change its reason to
        keyCompromise when it learns of a compromise; nothing else is undone.
        """
        with self.locked():
            data = self._read()
            kept = []
            for raw in data["revoked"]:
                old = Revocation.from_json(raw)
                if old.issuer == revocation.issuer and old.serial == revocation.serial:
                    upgrade = revocation.reason == "key-compromise" and (
                        old.reason != "key-compromise" or revocation.revoked_at < old.revoked_at
                    )
                    if not upgrade:
                        return old
                    continue
                kept.append(raw)
            kept.append(revocation.to_json())
            data["revoked"] = kept
            self._write(data)
        return revocation

    def next_crl_number(self, issuer: str) -> int:
        """A CRL number for ``issuer`` larger than every one handed out before."""
        with self.locked():
            data = self._read()
            number = int(data.setdefault("crl_numbers", {}).get(issuer, 0)) + 1
            data["crl_numbers"][issuer] = number
            self._write(data)
        return number


def build_crl(
    *,
    issuer_cert: x509.Certificate,
    issuer_key: PrivateKey,
    revocations: list[Revocation],
    number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """A DER CRL (v2, with CRL number, AKI and per-entry reasons)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for rev in sorted(revocations, key=lambda r: r.serial):
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(rev.serial)
            .revocation_date(rev.revoked_at)
        )
        if rev.reason != "unspecified":  # RFC 5280: omit rather than say unspecified
            entry = entry.add_extension(x509.CRLReason(REASONS[rev.reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuer_key, signature_hash(issuer_key))  # type: ignore[arg-type]
    return crl.public_bytes(serialization.Encoding.DER)


class RevocationService:
    """The built-in CA's revocation services over one PKI folder; share one per process.

    Private keys are read from disk (with ``passphrase``) only when something
    must be signed: a CRL that is due, or the first OCSP answer.
    """

    def __init__(
        self,
        directory: Path,
        *,
        passphrase: bytes | None,
        settings: RevocationSettings = RevocationSettings(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if not (directory / "issuing-ca.pem").exists():
            raise PkiNotFound(f"{directory} has no built-in issuing CA, so no revocation services")
        self.directory = directory
        self.database = CertificateDatabase(directory)
        self.settings = settings
        self._passphrase = passphrase
        self._clock = clock
        self._lock = threading.Lock()
        self._responders: dict[Path, tuple[float, OcspResponder]] = {}
        self._evidence_cache: dict[int, tuple[tuple[int, ...], datetime, bytes]] = {}

    def now(self) -> datetime:
        """The service's clock (UTC)."""
        return _utc(self._clock())

    # -- revocation -----------------------------------------------------------------

    def revoke(
        self, cert: x509.Certificate, *, reason: str, at: datetime | None = None
    ) -> Revocation:
        """Revoke a certificate issued by the built-in CA, then regenerate its CRL."""
        if reason not in REASONS:
            raise RevocationError(f"unknown reason {reason!r}; choose one of {', '.join(REASONS)}")
        now = self.now()
        at = _utc(at) if at is not None else now
        if at > now + timedelta(minutes=5):
            raise RevocationError("a revocation time cannot be in the future")
        at = min(at, now)
        if at < now - self.settings.max_backdate or at < cert.not_valid_before_utc:
            raise RevocationError(
                f"revocation time {at:%Y-%m-%d %H:%M} is before the certificate was issued "
                "or too far in the past"
            )
        issuer = self.database.issuer_of(cert)
        rev = self.database.record(
            Revocation(
                issuer=issuer,
                serial=cert.serial_number,
                subject=cert.subject.rfc4514_string(),
                reason=reason,
                revoked_at=at.replace(microsecond=0),
                recorded_at=now,
            )
        )
        self.refresh_crls(force=True, only=issuer)
        return rev

    def status(self, cert: x509.Certificate) -> CertificateStatus:
        """What the CA says about ``cert`` now."""
        try:
            issuer = self.database.issuer_of(cert)
        except RevocationError:
            return CertificateStatus("unknown")
        return self.database.status(issuer, cert.serial_number)

    # -- CRLs -----------------------------------------------------------------------

    def crl_path(self, name: str) -> Path:
        """Where the current CRL of ``name`` is kept."""
        if name not in CRL_ISSUERS:
            raise ValueError(f"no CRL called {name!r}; choose one of {', '.join(CRL_ISSUERS)}")
        return self.directory / _CRL_DIR / f"{name}.crl"

    def current_crl(self, name: str) -> bytes:
        """The DER CRL of ``name`` (``issuing-ca`` or ``root-ca``), regenerated when due."""
        path = self.crl_path(name)
        data = path.read_bytes() if path.exists() else None
        if data is None or self._due(name, data):
            if self._passphrase is None and data is not None:
                return data  # cannot sign here; serve the last one rather than nothing
            return self.refresh_crls(force=data is None, only=name)[name]
        return data

    def refresh_crls(self, *, force: bool = False, only: str | None = None) -> dict[str, bytes]:
        """Regenerate the CRLs that are due (all with ``force``); returns the current ones."""
        out: dict[str, bytes] = {}
        for name in CRL_ISSUERS if only is None else (only,):
            path = self.crl_path(name)
            with self.database.locked("crl"):
                data = path.read_bytes() if path.exists() else None
                if force or data is None or self._due(name, data):
                    data = self._sign_crl(name)
                    path.parent.mkdir(exist_ok=True)
                    _atomic_write(path, data)
            out[name] = data
        return out

    def _due(self, name: str, crl_der: bytes) -> bool:
        crl = x509.load_der_x509_crl(crl_der)
        now = self.now()
        return (
            crl.last_update_utc + self.settings.crl_refresh <= now
            or crl.last_update_utc > now + timedelta(minutes=5)  # the clock was moved back
            # another process (the CLI) recorded a revocation since this CRL was made
            or len(crl) != len(self.database.revocations(name))
        )

    def _sign_crl(self, name: str, *, at: datetime | None = None) -> bytes:
        cert = load_certificates(self.directory / f"{name}.pem")[0]
        key = self._load_key(name)
        now = (at or self.now()).replace(microsecond=0)
        return build_crl(
            issuer_cert=cert,
            issuer_key=key,
            revocations=[r for r in self.database.revocations(name) if r.revoked_at <= now],
            number=self.database.next_crl_number(name),
            this_update=now,
            next_update=now + self.settings.crl_validity,
        )

    def _load_key(self, role: str) -> PrivateKey:
        path = self.directory / f"{role}.key.pem"
        if not path.exists():
            raise PkiNotFound(f"the {role} key is not in {self.directory}; cannot sign for it")
        return load_private_key(path, passphrase=self._passphrase)

    # -- OCSP -----------------------------------------------------------------------

    def responder(self, at: datetime | None = None) -> OcspResponder:
        """The OCSP responder for answers as of ``at`` (default now).

        The delegated responder certificate valid then (current, or retired for a
        time in the past); when there is none (it lapsed, or ``at`` is beyond it)
        the issuing CA signs its answers itself, as RFC 6960 §2.6 allows.
        """
        when = _utc(at) if at is not None else self.now()
        retired = sorted((self.directory / "retired").glob("ocsp-*[0-9].pem"), reverse=True)
        for cert_path in [self.directory / "ocsp.pem", *retired, self.directory / "issuing-ca.pem"]:
            if not cert_path.exists():
                continue
            cert = load_certificates(cert_path)[0]
            if cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                return self._responder_for(cert_path)
        raise RevocationError(f"no OCSP responder certificate is valid at {when:%Y-%m-%d %H:%M}")

    def _responder_for(self, cert_path: Path) -> OcspResponder:
        token = cert_path.stat().st_mtime
        with self._lock:
            cached = self._responders.get(cert_path)
            if cached is None or cached[0] != token:
                key_path = cert_path.with_name(cert_path.name[: -len(".pem")] + ".key.pem")
                responder = OcspResponder(
                    issuer_cert=load_certificates(self.directory / "issuing-ca.pem")[0],
                    responder_cert=load_certificates(cert_path)[0],
                    responder_key=load_private_key(key_path, passphrase=self._passphrase),
                    status_of=self._ocsp_status,
                    validity=self.settings.ocsp_validity,
                    clock=self._clock,
                )
                cached = self._responders[cert_path] = (token, responder)
            return cached[1]

    def _ocsp_status(self, serial: int, at: datetime) -> CertStatus:
        state = self.database.status("issuing-ca", serial, at=at)
        rev = state.revocation
        if rev is None:
            return CertStatus(state.status)  # type: ignore[arg-type]
        flag = REASONS[rev.reason] if rev.reason != "unspecified" else None
        return CertStatus("revoked", rev.revoked_at, flag)

    def ocsp_response(self, der_request: bytes) -> bytes:
        """Answer a DER OCSP request (what ``POST /ocsp`` serves)."""
        return self.responder().respond(der_request)

    # -- evidence for sealing, renewal and verification -------------------------------

    def evidence(
        self, *, at: datetime | None = None, certificates: list[x509.Certificate] | None = None
    ) -> Evidence:
        """Revocation data as of ``at`` (default now) for ``certificates`` (default: all issued).

        An OCSP answer for each certificate of the issuing CA that is valid at
        ``at`` or revoked by then, and the root CA's CRL while the issuing CA is
        valid. Nothing is said about certificates that had already expired: a
        "not revoked" issued after expiry proves nothing (CAs stop tracking
        expired certificates), and pyHanko's time-sliding would wrongly anchor
        an old signature's validation at that later time.
        """
        live = at is None
        when = _utc(at) if at is not None else self.now()
        if certificates is None:
            certificates = [c for (issuer, _), c in self.database.issued().items()
                            if issuer == "issuing-ca"]
        ocsps: list[bytes] = []
        try:
            self.responder(None if live else when)
        except (RevocationError, FileNotFoundError) as exc:
            log.warning("no OCSP evidence at %s: %s", when, exc)
            certificates = []
        for cert in certificates:
            try:
                if self.database.issuer_of(cert) != "issuing-ca":
                    continue
            except RevocationError:
                continue  # not ours: someone else's CA speaks for it
            if _ocsp_nocheck(cert):
                continue  # responders need no status; an answer about itself makes a loop
            state = self.database.status("issuing-ca", cert.serial_number, at=when)
            in_validity = cert.not_valid_before_utc <= when <= cert.not_valid_after_utc
            if not in_validity and state.status != "revoked":
                continue
            ocsps.append(self._ocsp_evidence(cert.serial_number, when, live=live))
        crls: list[bytes] = []
        issuing = load_certificates(self.directory / "issuing-ca.pem")[0]
        if issuing.not_valid_before_utc <= when <= issuing.not_valid_after_utc:
            root_crl = self._crl_covering("root-ca", when)
            if root_crl is not None:
                crls.append(root_crl)
        return Evidence(ocsps=tuple(ocsps), crls=tuple(crls))

    def evidence_for_verifier(
        self, at: datetime | None = None
    ) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """(OCSP answers, CRLs) for a verifier at ``at``; only what is on disk when keys are not.

        Never raises: a verifier without the key passphrase still gets the
        published CRLs, and without any the embedded data has to do.
        """
        try:
            found = self.evidence(at=at)
            return found.ocsps, found.crls
        except (CertsError, OSError, ValueError) as exc:
            log.warning("no revocation evidence from the built-in CA: %s", exc)
            # not the issuing CA's CRL: it vouches for expired certificates too (see evidence)
            root = self.crl_path("root-ca")
            return (), (root.read_bytes(),) if at is None and root.exists() else ()

    def _ocsp_evidence(self, serial: int, when: datetime, *, live: bool) -> bytes:
        if not live:
            return self.responder(when).answer(serial, at=when)
        token = self.database.state_token()
        cached = self._evidence_cache.get(serial)
        if cached and cached[0] == token and cached[1] <= when < cached[1] + self.settings.ocsp_cache:
            return cached[2]
        der = self.responder().answer(serial, at=when)
        self._evidence_cache[serial] = (token, when, der)
        return der

    def _crl_covering(self, name: str, when: datetime) -> bytes | None:
        """The published CRL if it is valid at ``when``, else one made for ``when`` (if we can sign)."""
        path = self.crl_path(name)
        if abs((when - self.now()).total_seconds()) < 300:
            return self.current_crl(name)
        if path.exists():
            crl = x509.load_der_x509_crl(path.read_bytes())
            next_update = crl.next_update_utc
            if crl.last_update_utc <= when and (next_update is None or when <= next_update):
                return path.read_bytes()
        if self._passphrase is None:
            return None
        return self._sign_crl(name, at=when)


def _ocsp_nocheck(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    except x509.ExtensionNotFound:
        return False
    return True


@dataclass(frozen=True)
class Evidence:
    """Revocation data (DER) the built-in CA vouches for at one time."""

    ocsps: tuple[bytes, ...]
    crls: tuple[bytes, ...]


__all__ = [
    "CRL_ISSUERS",
    "REASONS",
    "CertificateDatabase",
    "CertificateStatus",
    "Evidence",
    "OcspResponder",
    "Revocation",
    "RevocationError",
    "RevocationService",
    "RevocationSettings",
    "build_crl",
]
