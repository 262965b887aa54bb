"""The agencies a platform serves: one row each (``agencies`` table).

Storage knows an agency's names, branding, where its seal key lives and whether
it may issue; making keys and certificates is edoc's job (``edoc/agencies``).

>>> registry.agencies.add(AgencyRecord(id="moi", name_th="...", name_en="...", ...))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage._db import read_tx, write_tx
from storage.audit import AuditEvent, append_in
from storage.errors import StorageError
from storage.models import agencies

#: what an agency id looks like (lowercase, digits, dashes; it appears in URLs and file names)
AGENCY_ID_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
_AGENCY_ID = re.compile(AGENCY_ID_PATTERN)


class AgencyNotFound(StorageError):
    """No agency with this id."""

    kind = "not-found"
    http_status = 404

    def __init__(self, agency_id: str):
        super().__init__(f"no agency {agency_id!r}")
        self.agency_id = agency_id


class InvalidAgency(StorageError, ValueError):
    """An agency record that cannot be stored (a malformed id)."""

    kind = "invalid-agency"
    http_status = 422


class AgencyExists(StorageError):
    """An agency with this id exists already."""

    kind = "agency-exists"
    http_status = 409

    def __init__(self, agency_id: str):
        super().__init__(f"agency {agency_id!r} exists already")
        self.agency_id = agency_id


@dataclass(frozen=True)
class AgencyRecord:
    """One agency as the registry knows it."""

    id: str
    name_th: str
    name_en: str
    seal_dir: str
    """Folder (relative to the home) holding the seal certificate, its key file and retired ones."""
    seal_key_source: Literal["file", "pkcs11"] = "file"
    seal_key_label: str | None = None
    """The seal key's label in the PKCS#11 token (key source pkcs11)."""
    address_th: str | None = None
    address_en: str | None = None
    contact: str | None = None
    logo: bytes | None = None
    """A PNG or JPEG shown on its documents and its public page."""
    signing_level: str | None = None
    """Its default PAdES level (None: the platform's)."""
    status: Literal["active", "disabled"] = "active"
    created_at: datetime | None = None
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the agency may issue documents."""
        return self.status == "active"


_FIELDS = tuple(f.name for f in fields(AgencyRecord))


def valid_agency_id(agency_id: str) -> bool:
    """Whether ``agency_id`` is a well-formed agency id."""
    return isinstance(agency_id, str) and _AGENCY_ID.fullmatch(agency_id) is not None


def _from_row(row) -> AgencyRecord:
    values = {name: getattr(row, name) for name in _FIELDS}
    if values["logo"] is not None:
        values["logo"] = bytes(values["logo"])
    return AgencyRecord(**values)


class Agencies:
    """The ``agencies`` table (reached as ``registry.agencies``)."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, record: AgencyRecord, *, audit: AuditEvent | None = None) -> AgencyRecord:
        """Insert a new agency (and its audit entry in the same transaction)."""
        if not valid_agency_id(record.id):
            raise InvalidAgency(
                f"agency id {record.id!r} must be lowercase letters, digits, dots, dashes and underscores (at most 64, a letter or digit first)"
            )
        record = replace(record, created_at=record.created_at or datetime.now(UTC))
        with write_tx(self._engine) as conn:
            if conn.execute(sa.select(agencies.c.id).where(agencies.c.id == record.id)).first():
                raise AgencyExists(record.id)
            conn.execute(agencies.insert().values(**{n: getattr(record, n) for n in _FIELDS}))
            if audit is not None:
                append_in(conn, audit)
        return record

    def get(self, agency_id: str) -> AgencyRecord:
        """The agency ``agency_id``; AgencyNotFound when there is none."""
        found = self.find(agency_id)
        if found is None:
            raise AgencyNotFound(agency_id)
        return found

    def find(self, agency_id: str) -> AgencyRecord | None:
        """The agency ``agency_id``, or None."""
        if not isinstance(agency_id, str):
            return None
        with read_tx(self._engine) as conn:
            row = conn.execute(sa.select(agencies).where(agencies.c.id == agency_id)).first()
        return None if row is None else _from_row(row)

    def list(self) -> list[AgencyRecord]:
        """Every agency, oldest first."""
        with read_tx(self._engine) as conn:
            rows = conn.execute(sa.select(agencies).order_by(agencies.c.created_at, agencies.c.id)).all()
        return [_from_row(row) for row in rows]

    def update(self, agency_id: str, *, audit: AuditEvent | None = None, **changes) -> AgencyRecord:
        """Change some fields of an agency (not its id); returns the new record."""
        unknown = set(changes) - set(_FIELDS) | ({"id", "created_at"} & set(changes))
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)} of an agency")
        with write_tx(self._engine) as conn:
            done = conn.execute(agencies.update().where(agencies.c.id == agency_id).values(**changes))
            if done.rowcount == 0:
                raise AgencyNotFound(agency_id)
            if audit is not None:
                append_in(conn, audit)
            row = conn.execute(sa.select(agencies).where(agencies.c.id == agency_id)).one()
        return _from_row(row)
