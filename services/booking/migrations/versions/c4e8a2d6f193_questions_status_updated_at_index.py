"""questions (status, updated_at, id) index: the answered and closed lists are paged, the most
recently updated first, and grow forever

Revision ID: c4e8a2d6f193
Revises: a7d3e9c1f524
Create Date: 2026-12-05 07:30:00
"""

from alembic import op

revision = "c4e8a2d6f193"
down_revision = "a7d3e9c1f524"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.create_index("ix_questions_status_updated_at_id", ["status", "updated_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_index("ix_questions_status_updated_at_id")
