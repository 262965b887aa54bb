"""Agencies as first-class records, and each agency's own audit chain.

The first agency (the home's own, from its settings) is written by edoc when it
opens the upgraded home (``edoc upgrade``, or on first start), which also links
the existing audit entries into that agency's chain.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(64), nullable=False),
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="ck_agencies_status"),
        sa.CheckConstraint("seal_key_source IN ('file', 'pkcs11')", name="ck_agencies_seal_key_source"),
        sa.PrimaryKeyConstraint("id", name="pk_agencies"),
    )
    op.create_table(
        "agency_audit_links",
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("aseq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("agency", "aseq", name="pk_agency_audit_links"),
        sa.UniqueConstraint("seq", name="uq_agency_audit_links_seq"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("agency_audit_links")
    op.drop_table("agencies")
