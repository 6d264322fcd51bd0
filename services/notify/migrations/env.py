"""Alembic environment of the notify service."""

from alembic import context

from services.notify.models import Base
from shared.migrations import run_env

run_env(context, Base.metadata)
