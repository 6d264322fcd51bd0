"""Each service's migrations build its schema from empty, and the models match them exactly."""

from __future__ import annotations

import pytest

from frontdesk import migrations

SERVICES = ("booking", "consent", "notify")


@pytest.mark.parametrize("service", SERVICES)
def test_migrated_database_is_at_head(database_urls, service):
    url = database_urls[service]
    assert migrations.current_heads(url) == migrations.script_heads(service)


@pytest.mark.parametrize("service", SERVICES)
def test_autogenerate_finds_no_drift(database_urls, service):
    assert migrations.drift(service, database_urls[service]) == []


@pytest.mark.parametrize("service", SERVICES)
def test_single_migration_head(service):
    assert len(migrations.script_heads(service)) == 1


@pytest.mark.parametrize("service", SERVICES)
def test_downgrade_to_base_and_up_again(tmp_path, service):
    # On a throwaway SQLite file: the full chain runs down and up cleanly.
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrations.upgrade(service, url)
    from alembic import command

    command.downgrade(migrations.alembic_config(service, url), "base")
    migrations.upgrade(service, url)
    assert migrations.current_heads(url) == migrations.script_heads(service)
