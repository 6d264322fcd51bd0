"""api_tokens.expires_at (console sessions end), staff.role (who may run the console's setup)

Revision ID: a1c0e5f7d201
Revises: b5d1e7c3a902
Create Date: 2026-12-05 01:05:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "a1c0e5f7d201"
down_revision = "b5d1e7c3a902"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="staff")
        )
        batch_op.create_check_constraint(op.f("ck_staff_role"), "role in ('staff', 'admin')")


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_role"), type_="check")
        batch_op.drop_column("role")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
