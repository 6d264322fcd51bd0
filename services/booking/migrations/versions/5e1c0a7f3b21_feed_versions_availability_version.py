"""feed_versions.availability_version: the slot search cache's validator

Revision ID: 5e1c0a7f3b21
Revises: d7da6d6b01f6
Create Date: 2026-11-24 01:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5e1c0a7f3b21"
down_revision = "d7da6d6b01f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_versions") as batch_op:
        batch_op.add_column(
            sa.Column(
                "availability_version", sa.Integer(), server_default=sa.text("1"), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_versions") as batch_op:
        batch_op.drop_column("availability_version")
