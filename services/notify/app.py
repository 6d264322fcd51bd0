"""Create the notify service's Flask app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, request

from services.notify import clients, gauges, models, resources
from shared import auth
from shared.api import create_api
from shared.app import configure, register_health
from shared.fields import time_zone_names
from shared.http import create_clients


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the notify app: configuration, extensions, API blueprints, health."""
    app = Flask(__name__)
    configure(app, "notify", config, token_model=models.ApiToken)
    app.extensions["clients"] = create_clients(app.config, clients.Clients)
    register_api(app)
    register_health(app)
    gauges.register(app)
    keep_docs_internal(app)
    return app


def keep_docs_internal(app: Flask) -> None:
    """Notify is internal: its docs and OpenAPI document only for this host or a token holder
    (in production nginx never routes to it; the all-in-one may be bound beyond loopback)."""

    @app.before_request
    def _internal_docs():
        if request.blueprint in ("api-docs", "api_docs"):  # the spec (flask-smorest), the pages
            auth.require_internal()


def register_api(app: Flask) -> None:
    """Create the OpenAPI-documented API and register the service's blueprints."""
    api = create_api(
        app,
        title="Frontdesk notify",
        description="Outbox for email (with iCal invites), SMS and signed webhooks: scheduled, retried, idempotent.",
    )
    # The time zone names a template's data may give (rendering.TIME_ZONE_REF).
    zones = {"type": "string", "enum": list(time_zone_names()), "examples": ["America/Toronto"]}
    api.spec.components.schema("TimeZoneName", zones)
    for blueprint in resources.blueprints():
        api.register_blueprint(blueprint)
