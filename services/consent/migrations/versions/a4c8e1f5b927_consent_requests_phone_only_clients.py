"""consent_requests: phone-only clients and how each client hears from us

client_email may be empty when the client gave a phone number; notify_by says whether the
signing link and notices go by email, SMS or both.

Revision ID: a4c8e1f5b927
Revises: a1c0e5f7d202
Create Date: 2026-12-05 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a4c8e1f5b927"
down_revision = "a1c0e5f7d202"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_requests") as batch:
        batch.alter_column("client_email", existing_type=sa.String(length=320), nullable=True)
        batch.add_column(
            sa.Column("notify_by", sa.String(length=8), server_default="email", nullable=False)
        )
        batch.create_check_constraint("notify_by", "notify_by in ('email', 'sms', 'both')")


def downgrade() -> None:
    # Phone-only requests keep an empty address (the column cannot hold NULL before this).
    op.execute("UPDATE consent_requests SET client_email = '' WHERE client_email IS NULL")
    with op.batch_alter_table("consent_requests") as batch:
        batch.drop_constraint("notify_by", type_="check")
        batch.drop_column("notify_by")
        batch.alter_column("client_email", existing_type=sa.String(length=320), nullable=False)
