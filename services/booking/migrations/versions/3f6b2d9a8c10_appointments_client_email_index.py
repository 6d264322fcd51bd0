"""appointments by client email, lower-cased, and creation time

The daily booking cap counts one address's bookings of the last 24 hours on every booking; with
only the created_at index that was a scan of every appointment made that day (all of them in a
busy day), and the privacy export and erasure look clients up by the same expression.

Revision ID: 3f6b2d9a8c10
Revises: 7a3c9e2d41f0
Create Date: 2026-11-30 07:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3f6b2d9a8c10"
down_revision = "7a3c9e2d41f0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_appointments_client_email_lower",
        "appointments",
        [sa.text("lower(client_email)"), "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_client_email_lower", table_name="appointments")
