"""Alembic, run per service from code: each service has its own `migrations/` folder.

No alembic.ini: the script location is the service package's folder and the URL comes
from the service's configuration, so `frontdesk db upgrade booking` needs nothing else.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from shared.db import create_engine

SERVICES = ("booking", "consent", "notify")


def alembic_config(service: str, url: str) -> Config:
    """An Alembic Config for one service's migrations and database."""
    package = importlib.import_module(f"services.{service}")
    location = Path(package.__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Apply the service's migrations up to `revision`."""
    command.upgrade(alembic_config(service, url), revision)


def revision(service: str, url: str, message: str) -> None:
    """Autogenerate a new migration for the service from its models."""
    command.revision(alembic_config(service, url), message=message, autogenerate=True)


def current_heads(service: str, url: str) -> set[str]:
    """Revisions the database is at."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def script_heads(service: str) -> set[str]:
    """Head revisions of the service's migration scripts."""
    return set(ScriptDirectory.from_config(alembic_config(service, "sqlite://")).get_heads())


def drift(service: str, url: str) -> list:
    """Differences between the migrated database and the models (empty when in sync)."""
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            with warnings.catch_warnings():
                # SQLite cannot reflect an index on an expression, so alembic skips comparing
                # those there (and says so); on PostgreSQL they are compared.
                warnings.filterwarnings("ignore", message=".*expression-based index")
                return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def run_env(context: EnvironmentContext, metadata) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
