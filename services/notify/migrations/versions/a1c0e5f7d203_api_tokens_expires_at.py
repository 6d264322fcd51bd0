"""api_tokens.expires_at: console sessions are tokens with an absolute end

Revision ID: a1c0e5f7d203
Revises: bfc649a45f49
Create Date: 2026-12-05 01:05:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0e5f7d203"
down_revision = "bfc649a45f49"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
