"""outbox_items on shared.outbox's columns: a status and an idempotency key of their own

Revision ID: 6b1f0c9d2e47
Revises: 513f58873042
Create Date: 2026-12-04 22:55:00

Rows already there keep working: each gets the key it has been sent with so far
(consent-outbox-<id>), delivered rows become `sent` and given-up rows `failed`.
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "6b1f0c9d2e47"
down_revision = "513f58873042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="pending")
        )
        batch_op.alter_column("delivered_at", new_column_name="sent_at")
        batch_op.alter_column(
            "last_error",
            existing_type=sa.String(length=500),
            type_=sa.Text(),
            existing_nullable=True,
        )
    op.execute("UPDATE outbox_items SET idempotency_key = 'consent-outbox-' || id")
    op.execute("UPDATE outbox_items SET status = 'sent' WHERE sent_at IS NOT NULL")
    op.execute(
        "UPDATE outbox_items SET status = 'failed' WHERE status = 'pending' AND dead_at IS NOT NULL"
    )
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.alter_column(
            "idempotency_key", existing_type=sa.String(length=100), nullable=False
        )
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=16),
            existing_nullable=False,
            server_default=None,
        )
        batch_op.drop_column("dead_at")
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_items_idempotency_key"), ["idempotency_key"]
        )
        batch_op.drop_index("ix_outbox_items_next_attempt_at")
        batch_op.create_index(
            "ix_outbox_items_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dead_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE outbox_items SET dead_at = next_attempt_at WHERE status = 'failed'")
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_items_status_next_attempt_at")
        batch_op.create_index("ix_outbox_items_next_attempt_at", ["next_attempt_at"], unique=False)
        batch_op.drop_constraint(batch_op.f("uq_outbox_items_idempotency_key"), type_="unique")
        batch_op.drop_column("status")
        batch_op.drop_column("idempotency_key")
        batch_op.alter_column("sent_at", new_column_name="delivered_at")
        batch_op.alter_column(
            "last_error",
            existing_type=sa.Text(),
            type_=sa.String(length=500),
            existing_nullable=True,
        )
