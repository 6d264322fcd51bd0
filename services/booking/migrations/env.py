"""Alembic environment of the booking service."""

from alembic import context

from services.booking.models import Base
from shared.migrations import run_env

run_env(context, Base.metadata)
