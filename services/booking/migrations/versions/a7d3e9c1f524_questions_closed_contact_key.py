"""questions: staff close a thread (status 'closed'); contact_key for the daily ask limits

Revision ID: a7d3e9c1f524
Revises: a7d3e91c4b20
Create Date: 2026-12-05 04:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7d3e9c1f524"
down_revision = "a7d3e91c4b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("contact_key", sa.String(length=320), nullable=True))
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", "status in ('open', 'answered', 'closed')")
        batch.create_index("ix_questions_contact_key_created_at", ["contact_key", "created_at"])
    # Earlier questions: the address in lower case (close to its mailbox key), else the phone.
    op.execute("UPDATE questions SET contact_key = coalesce(lower(client_email), client_phone)")


def downgrade() -> None:
    op.execute("UPDATE questions SET status = 'answered' WHERE status = 'closed'")
    with op.batch_alter_table("questions") as batch:
        batch.drop_index("ix_questions_contact_key_created_at")
        batch.drop_constraint("status", type_="check")
        batch.create_check_constraint("status", "status in ('open', 'answered')")
        batch.drop_column("contact_key")
