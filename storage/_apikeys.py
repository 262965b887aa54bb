"""API keys: random secrets stored only as their SHA-256, scoped to one agency and some roles."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage._db import read_tx, write_tx
from storage.models import api_keys

#: every role a key can carry
ROLES = frozenset({"issuer", "auditor", "admin", "platform", "metrics"})  # metrics: may read /metrics only
#: roles an agency admin may give (platform keys come from `edoc platform-key` only)
AGENCY_ROLES = frozenset({"issuer", "auditor", "admin", "metrics"})
#: the ``agency`` of platform keys: never a valid agency id, so it names no agency's data
PLATFORM_AGENCY = "_platform"
SECRET_PREFIX = "edoc_"
_SECRET_RE = re.compile(r"edoc_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class ApiKey:
    """An API key as the registry knows it; the secret itself is never stored."""

    id: str
    """Public identifier (``ak_`` + 16 hex), safe to log and show."""
    agency: str
    """The agency whose documents the key may act on."""
    roles: frozenset[str]
    """Subset of :data:`ROLES`."""
    label: str
    """A note for people, e.g. who holds the key."""
    created_at: datetime
    """When it was created (UTC)."""
    revoked_at: datetime | None = None
    """When it was revoked; a revoked key never authenticates."""

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _from_row(row) -> ApiKey:
    return ApiKey(
        id=row.id,
        agency=row.agency,
        roles=frozenset(r for r in row.roles.split(",") if r),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create(engine: Engine, *, agency: str, roles: set[str], label: str) -> tuple[ApiKey, str]:
    wanted = frozenset(roles)
    if not wanted:
        raise ValueError("an API key needs at least one role")
    if unknown := wanted - ROLES:
        raise ValueError(f"unknown roles {sorted(unknown)}; choose from {sorted(ROLES)}")
    if not agency:
        raise ValueError("an API key belongs to an agency")
    if ("platform" in wanted) != (agency == PLATFORM_AGENCY) or ("platform" in wanted and len(wanted) > 1):
        # the platform role is a key of its own: never an agency's, never with another role
        raise ValueError("the platform role is given alone, to a platform key (agency "
                         f"{PLATFORM_AGENCY!r}), never to an agency's key")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id="ak_" + secrets.token_hex(8),
        agency=agency,
        roles=wanted,
        label=label,
        created_at=datetime.now(UTC),
    )
    with write_tx(engine) as conn:
        conn.execute(
            api_keys.insert().values(
                id=key.id,
                agency=key.agency,
                roles=",".join(sorted(wanted)),
                label=label,
                secret_sha256=_secret_hash(secret),
                created_at=key.created_at,
            )
        )
    return key, secret


def authenticate(engine: Engine, secret: str) -> ApiKey | None:
    # The lookup is by the secret's hash, so how long it takes says nothing about
    # how much of a guessed secret was right.
    if not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret):
        return None
    with read_tx(engine) as conn:
        row = conn.execute(
            sa.select(api_keys).where(api_keys.c.secret_sha256 == _secret_hash(secret))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    return _from_row(row)


def revoke(engine: Engine, key_id: str, at: datetime | None = None) -> ApiKey | None:
    at = at or datetime.now(UTC)
    with write_tx(engine) as conn:
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    return None if row is None else _from_row(row)


def listing(engine: Engine, agency: str | None = None) -> list[ApiKey]:
    query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
    if agency is not None:
        query = query.where(api_keys.c.agency == agency)
    with read_tx(engine) as conn:
        return [_from_row(row) for row in conn.execute(query)]
