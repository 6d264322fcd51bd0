"""messages.segments: the segments an SMS takes (GSM-7 or UCS-2), what it costs to send

Revision ID: c7e2b9d4a613
Revises: c3e1a7d2f904
Create Date: 2026-12-05 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c7e2b9d4a613"
down_revision = "c3e1a7d2f904"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("segments", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("segments")
