"""appointments.client_email_key: the mailbox key per-client limits compare

The daily booking cap compared lower(client_email): Ana+1@, "ana"@ and (on SQLite, whose
lower() folds ASCII only) ÉMILE@ each counted as a new client. The key is computed in Python
(shared.email_addresses.mailbox_key) and stored beside the address as typed.

Revision ID: 4d8e2f6a9b13
Revises: 9c2e5a1f7d34
Create Date: 2026-12-04 22:20:00
"""

import sqlalchemy as sa
from alembic import op

from shared.email_addresses import mailbox_key

revision = "4d8e2f6a9b13"
down_revision = "9c2e5a1f7d34"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "appointments",
        sa.Column("client_email_key", sa.String(length=320), server_default="", nullable=False),
    )
    appointments = sa.table(
        "appointments", sa.column("id"), sa.column("client_email"), sa.column("client_email_key")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(appointments.c.id, appointments.c.client_email)).all()
    if rows:
        connection.execute(
            appointments.update()
            .where(appointments.c.id == sa.bindparam("row_id"))
            .values(client_email_key=sa.bindparam("key")),
            [{"row_id": row.id, "key": mailbox_key(row.client_email)} for row in rows],
        )
    op.create_index(
        "ix_appointments_client_email_key",
        "appointments",
        ["client_email_key", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_client_email_key", table_name="appointments")
    op.drop_column("appointments", "client_email_key")
