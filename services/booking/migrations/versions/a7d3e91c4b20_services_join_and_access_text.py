"""services.join_instructions and services.access_notes: how to join, how to get in

Revision ID: a7d3e91c4b20
Revises: f4b2c8d1e903
Create Date: 2026-12-05 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7d3e91c4b20"
down_revision = "f4b2c8d1e903"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("join_instructions", sa.Text(), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("access_notes", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("access_notes")
        batch.drop_column("join_instructions")
