"""Create the console's Flask app: pages for staff and admins, over the services' APIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from services.console import clients, models, pages, rate_limits, resources
from shared.app import configure
from shared.pages import init_pages
from shared.rate_limits import limit_routes


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the console app: configuration, clients, pages, health, rate limits."""
    app = Flask(__name__)
    configure(app, "console", config, token_model=models.ApiToken)
    app.extensions["clients"] = clients.service_clients(app.config)
    register_pages(app)
    resources.register(app)
    limit_routes(app, rate_limits.LIMITS)
    return app


def register_pages(app: Flask) -> None:
    """The console's pages (shared layout, language, CSRF, headers, rate limits)."""
    limiter = init_pages(app)
    pages.register(app, limiter)
