"""appointments created_at index (the daily booking cap per email counts the last 24 hours)

Revision ID: d7da6d6b01f6
Revises: db4b72bff8d2
Create Date: 2026-11-23 19:19:38.390456
"""

from alembic import op

revision = "d7da6d6b01f6"
down_revision = "db4b72bff8d2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_created_at")
