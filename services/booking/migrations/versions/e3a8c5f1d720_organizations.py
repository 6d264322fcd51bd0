"""organizations: the organization's profile (one row)

Revision ID: e3a8c5f1d720
Revises: a1c0e5f7d201
Create Date: 2026-12-05 01:00:00
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "e3a8c5f1d720"
down_revision = "a1c0e5f7d201"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("default_language", sa.String(length=16), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=20), nullable=True),
        sa.Column("logo_sha256", sa.String(length=64), nullable=True),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_organizations_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )


def downgrade() -> None:
    op.drop_table("organizations")
