"""Upgrading a single-agency home into a platform, in place and without loss.

The schema migration (Alembic revision 0005) adds the tables; this step fills
them: the home's own agency (settings ``agency_id``, ``agency_name_th/en``, the
seal in ``pki/``) becomes the platform's first agency, and every existing audit
entry is linked into its agency's own chain, in chain order. Document ids,
statuses, objects and the global audit chain are not touched. It runs on first
use of the new version (``Home.agency_record``), or with ``edoc upgrade``;
running it again does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from storage.agencies import AgencyExists, AgencyRecord
from storage.audit import AuditEvent


@dataclass(frozen=True)
class UpgradeResult:
    """What an upgrade did."""

    schema_from: str | None
    agency_created: str | None
    entries_linked: int


def pending(home) -> list[str]:
    """What an upgrade still has to do (empty: nothing), read without changing the database."""
    from storage._db import create_engine, schema_revision

    engine = create_engine(home.settings.effective_database_url)
    try:
        with engine.connect() as conn:
            revision = schema_revision(conn)
            if revision is None:
                return []  # an empty registry: created at the newest schema on first use
            tables = set(sa.inspect(conn).get_table_names())
            if "agencies" not in tables:
                return [f"the registry schema is at revision {revision}, before agencies"]
            todo = []
            first = conn.execute(sa.text("SELECT id FROM agencies WHERE id = :id"),
                                 {"id": home.settings.agency_id}).first()
            if first is None:
                todo.append(f"agency {home.settings.agency_id!r} is not yet the platform's first agency")
            unlinked = conn.execute(sa.text(
                "SELECT COUNT(*) FROM audit_entries WHERE agency IS NOT NULL "
                "AND seq NOT IN (SELECT seq FROM agency_audit_links)")).scalar_one()
            if unlinked:
                todo.append(f"{unlinked} audit entries are not yet linked into their agency's chain")
            return todo
    finally:
        engine.dispose()


def schema_before(home) -> str | None:
    """The registry's schema revision now (None: no registry yet), read without migrating."""
    from storage._db import create_engine, schema_revision

    engine = create_engine(home.settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return schema_revision(conn)
    finally:
        engine.dispose()


def upgrade(home, *, actor: str = "system:upgrade") -> UpgradeResult:
    """Migrate the schema, make the home's agency the first, link the audit entries."""
    registry = home.registry()  # opening migrates and upgrades (Home.registry calls upgrade_registry)
    done = home.__dict__.pop("_upgraded", None)
    if done is not None:
        return done
    return upgrade_registry(home, registry, before=None, actor=actor)


def upgrade_registry(home, registry, *, before: str | None, actor: str = "system:upgrade") -> UpgradeResult:
    """The data step of the upgrade on an open (migrated) registry; does nothing the second time."""
    from storage.agency_audit import backfill

    linked = backfill(registry.engine)
    s = home.settings
    created = None
    if registry.agencies.find(s.agency_id) is None:
        record = AgencyRecord(
            id=s.agency_id, name_th=s.agency_name_th, name_en=s.agency_name_en, seal_dir="pki",
            seal_key_source=s.seal_key_source, seal_key_label=s.pkcs11_seal_key_label,
            address_th=s.agency_address_th, address_en=s.agency_address_en,
        )
        # an existing home's trail records the upgrade; a fresh one starts as a platform
        existing = registry.audit.head()[0] > 0 or registry.count() > 0
        event = AuditEvent("platform.upgraded", actor=actor, agency=s.agency_id, subject=s.agency_id,
                           details={"schema_from": before, "entries_linked": linked}) if existing else None
        try:
            registry.agencies.add(record, audit=event)
            created = s.agency_id
        except AgencyExists:
            pass  # another process upgraded at the same moment
    return UpgradeResult(before, created, linked)
