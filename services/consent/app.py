"""Create the consent service's Flask app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from services.consent import clients, gauges, models, pages, rate_limits, resources
from shared.api import create_api
from shared.app import configure, register_health
from shared.http import create_clients
from shared.organization import ORGANIZATION_SOURCE, OrgProfile
from shared.pages import init_pages
from shared.rate_limits import limit_routes


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the consent app: configuration, extensions, API blueprints, pages, health."""
    app = Flask(__name__)
    configure(app, "consent", config, token_model=models.ApiToken)
    app.extensions["clients"] = create_clients(app.config, clients.Clients)
    app.extensions[ORGANIZATION_SOURCE] = clients.OrganizationProfile(
        app.extensions["clients"], OrgProfile.from_settings(app.config)
    )
    register_api(app)
    register_pages(app)
    limit_routes(app, rate_limits.LIMITS, rate_limits.BLUEPRINT_LIMITS)
    register_health(app)
    gauges.register(app)
    return app


def register_pages(app: Flask) -> None:
    """The client's signing pages (shared layout, language, CSRF, headers, rate limits)."""
    init_pages(app)
    pages.register(app)


def register_api(app: Flask) -> None:
    """Create the OpenAPI-documented API and register the service's blueprints."""
    api = create_api(
        app,
        title="Frontdesk consent",
        description="Versioned consent forms, signing by link, verbal consent, withdrawal and signed PDF records.",
    )
    resources.register_converters(app, api)
    for blueprint in resources.blueprints():
        api.register_blueprint(blueprint)
