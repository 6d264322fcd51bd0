"""Drop the NOTIFY triggers of 7a3c9e2d41f0: no booking process LISTENs any more

Slot searches and feed revalidations read the staff members' versions on every request
(services.booking.versions), which is correct on every host without notifications.

Revision ID: b5d1e7c3a902
Revises: 4d8e2f6a9b13
Create Date: 2026-12-04 23:00:00
"""

from alembic import op

revision = "b5d1e7c3a902"
down_revision = "4d8e2f6a9b13"
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
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS frontdesk_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS frontdesk_booking_changed()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION frontdesk_booking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER frontdesk_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_booking_changed()"
        )
