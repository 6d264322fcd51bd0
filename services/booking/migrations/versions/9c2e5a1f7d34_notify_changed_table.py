"""The change notification names the table written (per-table generations in shared.changes)

A process can then keep an answer that depends on a few tables (a service with its staff)
across writes to others (every booking writes appointments and feed_versions).

Revision ID: 9c2e5a1f7d34
Revises: 3f6b2d9a8c10
Create Date: 2026-11-30 12:00:00
"""

from alembic import op

revision = "9c2e5a1f7d34"
down_revision = "3f6b2d9a8c10"
branch_labels = None
depends_on = None

CHANNEL = "frontdesk_booking"


def _replace(payload: str) -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION frontdesk_booking_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', {payload});
            RETURN NULL;
        END $$
        """
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One notification per table and transaction: PostgreSQL folds identical ones.
    _replace("TG_TABLE_NAME")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace("''")
