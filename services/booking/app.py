"""Create the booking service's Flask app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

from services.booking import caches, clients, gauges, models, rate_limits, resources, versions
from services.booking.pages import register_pages
from shared import db
from shared.api import create_api
from shared.app import configure, register_health
from shared.http import create_clients
from shared.pages import init_pages
from shared.rate_limits import limit_routes


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the booking app: configuration, extensions, version hooks, caches, API blueprints,
    health, public pages, rate limits."""
    app = Flask(__name__)
    configure(app, "booking", config, token_model=models.ApiToken)
    app.extensions["clients"] = create_clients(app.config, clients.Clients)
    versions.track(db.get_db(app).sessionmaker)
    app.extensions["booking_caches"] = caches.make_caches(
        slot_searches=app.config["SLOT_CACHE_SIZE"]
    )
    register_api(app)
    register_health(app)
    gauges.register(app)
    init_pages(app)
    register_pages(app)
    limit_routes(app, rate_limits.LIMITS, rate_limits.BLUEPRINT_LIMITS)
    return app


class IdConverter(IntegerConverter):
    """A row id in a URL: 1..2**31-1, so an absurd number is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=2**31 - 1)


class ManageTokenConverter(BaseConverter):
    """A client's manage token in a URL (anything else is a 404 from the router)."""

    regex = r"fdm_[0-9a-f]{48}"


def register_api(app: Flask) -> None:
    """Create the OpenAPI-documented API and register the service's blueprints."""
    api = create_api(
        app,
        title="Frontdesk booking",
        description="Staff, services, availability, slot search, appointments, iCal invites and feeds.",
    )
    api.register_converter(
        IdConverter, lambda _converter: {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    )
    api.register_converter(
        ManageTokenConverter, lambda _converter: {"type": "string", "pattern": "^fdm_[0-9a-f]{48}$"}
    )
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["manage_token"] = ManageTokenConverter
    for blueprint in resources.blueprints():
        api.register_blueprint(blueprint)
