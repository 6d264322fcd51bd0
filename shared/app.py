"""The steps every service's create_app shares: config, proxy headers, logging, db, errors, health."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask, Response, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import auth, db, logs, metrics
from shared.config import load_config
from shared.errors import register_error_handlers
from shared.http import ServiceClient


def configure(
    app: Flask, service: str, config: Mapping[str, Any] | None, token_model: type
) -> None:
    """Load configuration, trust the configured proxies, and set up logging and the database."""
    app.config.update(load_config(service, config))
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.config["JSON_SORT_KEYS"] = False
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    app.extensions["frontdesk_token_model"] = token_model
    logs.init_app(app)
    db.init_app(app)
    metrics.init_app(app)
    auth.init_app(app)
    register_error_handlers(app)
    register_security_headers(app)


HSTS = "max-age=31536000"


def register_security_headers(app: Flask) -> None:
    """Headers on every answer, API or page (pages add their CSP and friends in shared.pages).

    API answers and anything reached by a secret token hold personal data: never cached.
    HSTS only over TLS, which behind the proxy ProxyFix learns from X-Forwarded-Proto.
    """

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if "/api/" in request.path or "token" in (request.view_args or {}):
            response.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def register_health(app: Flask) -> None:
    """GET /health: 200 when the service's database answers, 503 when it does not."""

    @app.get("/health")
    def health():
        try:
            with db.get_db(app).engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            body = {
                "status": "unavailable",
                "service": app.config["SERVICE_NAME"],
                "database": type(exc).__name__,
            }
            return jsonify(body), 503
        return jsonify({"status": "ok", "service": app.config["SERVICE_NAME"], "database": "ok"})


def service_client(app: Flask, service: str) -> ServiceClient:
    """A client for another service, from FRONTDESK_<SERVICE>_URL and FRONTDESK_SERVICE_TOKEN.

    In the all-in-one suite `IN_PROCESS_WSGI` holds the suite's WSGI app and calls stay in
    the process; they still go through HTTP semantics, routing, auth and serialization.
    """
    key = f"frontdesk_client_{service}"
    if key not in app.extensions:
        wsgi = app.config.get("IN_PROCESS_WSGI")
        app.extensions[key] = ServiceClient(
            app.config[f"{service.upper()}_URL"],
            token=app.config["SERVICE_TOKEN"],
            timeout=app.config["HTTP_TIMEOUT"],
            transport=httpx.WSGITransport(app=wsgi) if wsgi is not None else None,
        )
    return app.extensions[key]
