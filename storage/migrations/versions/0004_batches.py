"""Batches: submitted files and their rows, the source of truth for batch issuance.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "batches",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("template", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("finished_at", ts, nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("webhook_secret", sa.Text, nullable=True),
        sa.Column("webhook_state", sa.String(16), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'rejected', 'cancelled')",
            name="ck_batches_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
    )
    op.create_index("ix_batches_agency_created_at", "batches", ["agency", "created_at"])
    op.create_table(
        "batch_rows",
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("row", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.Column("doc_id", sa.String(128), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'issued', 'failed', 'invalid', 'cancelled')",
            name="ck_batch_rows_state",
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_batch_rows_batch_id_batches"),
        sa.PrimaryKeyConstraint("batch_id", "row", name="pk_batch_rows"),
        sa.UniqueConstraint("batch_id", "key", name="uq_batch_rows_batch_id_key"),
    )
    op.create_index("ix_batch_rows_batch_id_state", "batch_rows", ["batch_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_batch_rows_batch_id_state", table_name="batch_rows")
    op.drop_table("batch_rows")
    op.drop_index("ix_batches_agency_created_at", table_name="batches")
    op.drop_table("batches")
