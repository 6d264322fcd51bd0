"""NOTIFY frontdesk_booking at the commit of writes that slot searches and feeds depend on

Each booking process LISTENs (shared.changes) and keeps the answers of its hot small queries
(a feed's validators, a slot search's versions) until it hears of a change. PostgreSQL only:
on SQLite every answer is read from the database.

Revision ID: 7a3c9e2d41f0
Revises: 5e1c0a7f3b21
Create Date: 2026-11-30 05:20:00
"""

from alembic import op

revision = "7a3c9e2d41f0"
down_revision = "5e1c0a7f3b21"
branch_labels = None
depends_on = None

CHANNEL = "frontdesk_booking"
TABLES = (
    "staff",
    "services",
    "service_staff",
    "availability_rules",
    "availability_exceptions",
    "busy_blocks",
    "appointments",
    "feed_tokens",
    "feed_versions",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # One notification per transaction: PostgreSQL folds identical ones, delivered at COMMIT.
    op.execute(
        f"""
        CREATE FUNCTION frontdesk_booking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER frontdesk_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_booking_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS frontdesk_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS frontdesk_booking_changed()")
