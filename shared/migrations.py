"""Alembic, run per service from code: each service has its own `migrations/` folder.

No alembic.ini: the caller names the folder of the service's migrations and its models'
metadata (the composition root, `frontdesk.migrations`, knows the services; shared does
not), and the URL comes from the service's configuration.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from shared.db import create_engine


@dataclass(frozen=True)
class Migrations:
    """One service's migration scripts and the models they must build."""

    folder: Path
    metadata: sa.MetaData


def alembic_config(source: Migrations, url: str) -> Config:
    """An Alembic Config for one service's migrations and database."""
    config = Config()
    config.set_main_option("script_location", str(source.folder))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(source: Migrations, url: str, revision: str = "head") -> None:
    """Apply the service's migrations up to `revision`."""
    command.upgrade(alembic_config(source, url), revision)


def revision(source: Migrations, url: str, message: str) -> None:
    """Autogenerate a new migration for the service from its models."""
    command.revision(alembic_config(source, url), message=message, autogenerate=True)


def current_heads(url: str) -> set[str]:
    """Revisions the database is at."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def script_heads(source: Migrations) -> set[str]:
    """Head revisions of the service's migration scripts."""
    return set(ScriptDirectory.from_config(alembic_config(source, "sqlite://")).get_heads())


def compared(name: str | None, type_: str, _parents: dict) -> bool:
    """Whether alembic compares a reflected object with the models: all but the full-text
    search a migration makes for one dialect (named with `_fts`: SQLite's FTS5 tables,
    PostgreSQL's tsvector columns and their indexes), which the models cannot describe."""
    return not (type_ in ("table", "column", "index") and name is not None and "_fts" in name)


def drift(source: Migrations, url: str) -> list:
    """Differences between the migrated database and the models (empty when in sync)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": False,
                    "include_name": compared,
                },
            )
            with warnings.catch_warnings():
                # SQLite cannot reflect an index on an expression, so alembic skips comparing
                # those there (and says so); on PostgreSQL they are compared.
                warnings.filterwarnings("ignore", message=".*expression-based index")
                return compare_metadata(context, source.metadata)
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
            include_name=compared,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
