"""Seal bindings: each document found by what its seals sign, not by its whole file.

The rows of documents issued before this revision are filled from the stored
objects by ``edoc.sealbindings.backfill`` (the home opens its registry and its
object store together; a migration sees only the database). Until then such a
document verifies as "sealed, but not on record", never as plainly valid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seal_bindings",
        sa.Column("signed_sha256", sa.String(64), nullable=False),
        sa.Column("doc_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("field_name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("signed_sha256", name="pk_seal_bindings"),
        sa.ForeignKeyConstraint(
            ["doc_id"], ["documents.id"], name="fk_seal_bindings_doc_id_documents"
        ),
        sa.CheckConstraint(
            "kind IN ('signature', 'document-timestamp')", name="ck_seal_bindings_kind"
        ),
    )
    op.create_index("ix_seal_bindings_doc_id_seq", "seal_bindings", ["doc_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_seal_bindings_doc_id_seq", table_name="seal_bindings")
    op.drop_table("seal_bindings")
