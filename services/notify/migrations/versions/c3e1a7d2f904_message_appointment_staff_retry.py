"""messages: appointment_id and staff_id set by the sender, retried_at

Revision ID: c3e1a7d2f904
Revises: a1c0e5f7d203
Create Date: 2026-12-05 01:05:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "c3e1a7d2f904"
down_revision = "a1c0e5f7d203"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("retried_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index(batch.f("ix_messages_appointment_id"), ["appointment_id"])
        batch.create_index(batch.f("ix_messages_staff_id"), ["staff_id"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(batch.f("ix_messages_staff_id"))
        batch.drop_index(batch.f("ix_messages_appointment_id"))
        batch.drop_column("retried_at")
        batch.drop_column("staff_id")
        batch.drop_column("appointment_id")
