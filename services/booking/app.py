"""Create the booking service's Flask app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

from services.booking import availability, gauges, models, rate_limits, resources
from services.booking.pages import register_pages
from shared import changes, db
from shared.api import create_api
from shared.app import configure, register_health
from shared.pages import init_pages
from shared.rate_limits import limit_routes

# Migration 7a3c9e2d41f0's triggers NOTIFY it at the commit of writes to the calendars, the
# staff, the services and the feed tokens.
CHANGES_CHANNEL = "frontdesk_booking"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the booking app: configuration, extensions, API blueprints, health, public pages,
    rate limits."""
    app = Flask(__name__)
    configure(app, "booking", config, token_model=models.ApiToken)
    app.extensions["frontdesk_slot_cache"] = availability.SlotCache(app.config["SLOT_CACHE_SIZE"])
    # The API's JSON of recent answers (~100 KB for a month of a busy service): fewer of them.
    app.extensions["frontdesk_slot_bodies"] = availability.SlotCache(
        min(app.config["SLOT_CACHE_SIZE"], 64)
    )
    watcher = changes.watch(
        db.get_db(app).engine, CHANGES_CHANNEL, enabled=app.config["LISTEN_FOR_CHANGES"]
    )
    app.extensions["frontdesk_memo"] = changes.Memo(watcher)
    register_api(app)
    register_health(app)
    gauges.register(app)
    limiter = init_pages(app)
    register_pages(app, limiter)
    limit_routes(app, rate_limits.LIMITS)
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
