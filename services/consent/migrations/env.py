"""Alembic environment of the consent service."""

from alembic import context

from services.consent.models import Base
from shared.migrations import run_env

run_env(context, Base.metadata)
