"""appointments: phone-only clients and how each client hears from us; verbal consent

client_email may be empty when the client gave a phone number; notify_by says whether the
client's messages go by email, SMS or both; the daily booking cap and the one-seat rule look
a phone number's bookings up by (client_phone, created_at). services.verbal_consent: staff may
read a service's consent forms out (clients we only text are told so).

Revision ID: e3a7c5d2f816
Revises: e3a8c5f1d720
Create Date: 2026-12-05 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e3a7c5d2f816"
down_revision = "e3a8c5f1d720"
branch_labels = None
depends_on = None


# SQLite's batch mode copies the table and cannot reflect an expression index: it is dropped
# before and made again after.
EMAIL_INDEX = "ix_appointments_client_email_lower"


def _create_email_index() -> None:
    op.create_index(EMAIL_INDEX, "appointments", [sa.text("lower(client_email)"), "created_at"])


def upgrade() -> None:
    op.drop_index(EMAIL_INDEX, table_name="appointments")
    with op.batch_alter_table("appointments") as batch:
        batch.alter_column("client_email", existing_type=sa.String(length=320), nullable=True)
        batch.add_column(
            sa.Column("notify_by", sa.String(length=8), server_default="email", nullable=False)
        )
        batch.create_check_constraint("notify_by", "notify_by in ('email', 'sms', 'both')")
        batch.create_index("ix_appointments_client_phone", ["client_phone", "created_at"])
    _create_email_index()
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("verbal_consent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # Phone-only appointments keep an empty address (the column cannot hold NULL before this).
    op.execute("UPDATE appointments SET client_email = '' WHERE client_email IS NULL")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("verbal_consent")
    op.drop_index(EMAIL_INDEX, table_name="appointments")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_index("ix_appointments_client_phone")
        batch.drop_constraint("notify_by", type_="check")
        batch.drop_column("notify_by")
        batch.alter_column("client_email", existing_type=sa.String(length=320), nullable=False)
    _create_email_index()
