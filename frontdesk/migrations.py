"""Each service's migrations by name: the composition root tells `shared.migrations` where a
service's scripts are and which models they build (shared never imports a service)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

import services.booking.models
import services.consent.models
import services.console.models
import services.notify.models
from shared import migrations
from shared.migrations import Migrations, current_heads

__all__ = [
    "SERVICES",
    "alembic_config",
    "current_heads",
    "drift",
    "revision",
    "script_heads",
    "upgrade",
]

_MODELS = {
    "booking": services.booking.models,
    "consent": services.consent.models,
    "notify": services.notify.models,
    "console": services.console.models,
}
SERVICES = tuple(_MODELS)


def source(service: str) -> Migrations:
    """Where `service`'s migration scripts are and the metadata of its models."""
    models = _MODELS[service]
    return Migrations(
        folder=Path(models.__file__).parent / "migrations", metadata=models.Base.metadata
    )


def alembic_config(service: str, url: str) -> Config:
    """An Alembic Config for `service`'s migrations and database."""
    return migrations.alembic_config(source(service), url)


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Apply `service`'s migrations up to `revision`."""
    migrations.upgrade(source(service), url, revision)


def revision(service: str, url: str, message: str) -> None:
    """Autogenerate a new migration for `service` from its models."""
    migrations.revision(source(service), url, message)


def script_heads(service: str) -> set[str]:
    """Head revisions of `service`'s migration scripts."""
    return migrations.script_heads(source(service))


def drift(service: str, url: str) -> list:
    """Differences between `service`'s migrated database and its models (empty when in sync)."""
    return migrations.drift(source(service), url)
