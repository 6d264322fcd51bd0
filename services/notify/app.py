"""Create the notify service's Flask app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from services.notify import clients, gauges, models, resources
from shared.api import create_api
from shared.app import ServiceApp, configure, register_health
from shared.http import create_clients


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the notify app: configuration, extensions, API blueprints, health."""
    app = ServiceApp(__name__)
    configure(app, "notify", config, token_model=models.ApiToken)
    app.extensions["clients"] = create_clients(app.config, clients.Clients)
    register_api(app)
    register_health(app)
    gauges.register(app)
    return app


def register_api(app: Flask) -> None:
    """Create the OpenAPI-documented API and register the service's blueprints."""
    api = create_api(
        app,
        title="Frontdesk notify",
        description="Outbox for email (with iCal invites), SMS and signed webhooks: scheduled, retried, idempotent.",
    )
    for blueprint in resources.blueprints():
        api.register_blueprint(blueprint)
