"""Documents with versions, API keys, and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "documents",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("holder_masked", sa.Text, nullable=False),
        sa.Column("issued_at", ts, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", ts, nullable=True),
        sa.Column("revocation_reason", sa.Text, nullable=True),
        sa.Column("holder_token_hash", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint(
            "agency", "idempotency_key", name="uq_documents_agency_idempotency_key"
        ),
        sa.CheckConstraint("status IN ('issued', 'revoked')", name="ck_documents_status"),
    )
    op.create_index("ix_documents_agency_issued_at", "documents", ["agency", "issued_at"])
    op.create_index("ix_documents_issued_at", "documents", ["issued_at"])

    op.create_table(
        "document_versions",
        sa.Column("doc_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("doc_id", "seq", name="pk_document_versions"),
        sa.ForeignKeyConstraint(
            ["doc_id"], ["documents.id"], name="fk_document_versions_doc_id_documents"
        ),
        sa.UniqueConstraint("sha256", name="uq_document_versions_sha256"),
        sa.CheckConstraint(
            "kind IN ('issued', 'archive-renewal')", name="ck_document_versions_kind"
        ),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("roles", sa.String(128), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("revoked_at", ts, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("secret_sha256", name="uq_api_keys_secret_sha256"),
    )
    op.create_index("ix_api_keys_agency", "api_keys", ["agency"])

    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"])
    op.create_index("ix_audit_entries_agency_seq", "audit_entries", ["agency", "seq"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])

    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_anchors"),
    )
    op.create_index("ix_audit_anchors_seq", "audit_anchors", ["seq"])


def downgrade() -> None:
    for table in (
        "audit_anchors",
        "audit_head",
        "audit_entries",
        "api_keys",
        "document_versions",
        "documents",
    ):
        op.drop_table(table)
