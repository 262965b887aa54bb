"""The registry's tables (SQLAlchemy Core). Alembic migrations in ``storage/migrations`` create them.

Change a table here only together with a new migration; a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage._db import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("agency", sa.String(64), nullable=False),
    sa.Column("template", sa.String(128), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("lang", sa.String(16), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("holder_masked", sa.Text, nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("revocation_reason", sa.Text, nullable=True),
    # what citizens are shown instead of the reason (edoc.revocation_reasons); 0006
    sa.Column("revocation_category", sa.String(32), nullable=True),
    sa.Column("holder_token_hash", sa.String(128), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(128), nullable=True),
    # the arbiter of idempotent issuance across processes: NULL keys never clash
    sa.UniqueConstraint("agency", "idempotency_key"),
    sa.CheckConstraint("status IN ('issued', 'revoked')", name="status"),
    sa.Index(None, "agency", "issued_at"),
    sa.Index(None, "issued_at"),
)

document_versions = sa.Table(
    "document_versions",
    metadata,
    sa.Column("doc_id", sa.String(128), sa.ForeignKey("documents.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("kind IN ('issued', 'archive-renewal')", name="kind"),
)

# What each document's seals cover: the SHA-256 of the bytes a signature (the seal,
# a document timestamp) signs. Verification finds a document from the signed bytes
# of an uploaded file, never from its unsigned metadata, so an update appended to
# a revoked document cannot detach it from its record (issue 17).
seal_bindings = sa.Table(
    "seal_bindings",
    metadata,
    sa.Column("signed_sha256", sa.String(64), primary_key=True),
    sa.Column("doc_id", sa.String(128), sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("field_name", sa.Text, nullable=False),
    sa.CheckConstraint("kind IN ('signature', 'document-timestamp')", name="kind"),
    sa.Index(None, "doc_id", "seq"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("agency", sa.String(64), nullable=False),
    sa.Column("roles", sa.String(128), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Index(None, "agency"),
)

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("agency", sa.String(64), nullable=True),
    sa.Column("subject", sa.String(255), nullable=True),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "at"),
    sa.Index(None, "agency", "seq"),
)

# One row (id = 1): the newest entry's seq and hash. Appenders lock it, which
# serialises them; verify() compares it with the last entry to catch a cut tail.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_anchors = sa.Table(
    "audit_anchors",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("token", sa.LargeBinary, nullable=False),
    sa.Index(None, "seq"),
)

# Who is issuing under an idempotency key right now: concurrent retries of one
# request wait for the first instead of rendering and sealing a second copy.
idempotency_claims = sa.Table(
    "idempotency_claims",
    metadata,
    sa.Column("agency", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(128), nullable=False),
    sa.Column("doc_id", sa.String(128), nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
)

# Batches (edoc/batches): one row per submitted file, one row per record in it. The
# registry is the source of truth for their state; a task queue only carries work.
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("agency", sa.String(64), nullable=False),
    sa.Column("template", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("source_name", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("webhook_url", sa.Text, nullable=True),
    sa.Column("webhook_secret", sa.Text, nullable=True),
    sa.Column("webhook_state", sa.String(16), nullable=True),
    sa.CheckConstraint(
        "state IN ('queued', 'running', 'done', 'rejected', 'cancelled')", name="state"
    ),
    sa.Index(None, "agency", "created_at"),
)

batch_rows = sa.Table(
    "batch_rows",
    metadata,
    sa.Column("batch_id", sa.String(32), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # the row's document data until it is issued (cleared then: it is personal data)
    sa.Column("data", sa.Text, nullable=True),
    sa.Column("doc_id", sa.String(128), nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # one key per batch: with the issuer's (agency, key) claim, a row is issued once
    sa.UniqueConstraint("batch_id", "key"),
    sa.CheckConstraint(
        "state IN ('queued', 'issued', 'failed', 'invalid', 'cancelled')", name="state"
    ),
    sa.Index(None, "batch_id", "state"),
)

# The agencies a platform serves (migration 0005). The seal's key and certificate live in
# files (``seal_dir`` in the home) or a PKCS#11 token (``seal_key_label``); branding is
# what documents and the public page show.
agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name_th", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("address_th", sa.Text, nullable=True),
    sa.Column("address_en", sa.Text, nullable=True),
    sa.Column("contact", sa.Text, nullable=True),
    sa.Column("logo", sa.LargeBinary, nullable=True),
    sa.Column("signing_level", sa.String(16), nullable=True),
    sa.Column("seal_dir", sa.String(255), nullable=False),
    sa.Column("seal_key_source", sa.String(16), nullable=False),
    sa.Column("seal_key_label", sa.String(255), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    sa.CheckConstraint("status IN ('active', 'disabled')", name="status"),
    sa.CheckConstraint("seal_key_source IN ('file', 'pkcs11')", name="seal_key_source"),
)

# Each agency's own audit chain: one link per entry of that agency, chaining the
# entry's hash to the agency's previous link, so its auditors check it alone.
agency_audit_links = sa.Table(
    "agency_audit_links",
    metadata,
    sa.Column("agency", sa.String(64), primary_key=True),
    sa.Column("aseq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Platform-wide checkpoints: the global head and every agency's chain head at one
# moment, timestamped by the TSA, so no agency's history is rewritten unseen.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("token", sa.LargeBinary, nullable=False),
    sa.Index(None, "seq"),
)

#: every table in the order rows can be inserted (parents first)
ALL_TABLES: tuple[sa.Table, ...] = tuple(metadata.sorted_tables)
