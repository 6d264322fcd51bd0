"""services.translations: a service's name, description and resources in other languages

Revision ID: e4c2b7d9a15f
Revises: e3f1a9c4b702
Create Date: 2026-12-05 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e4c2b7d9a15f"
down_revision = "e3f1a9c4b702"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("translations", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("translations")
