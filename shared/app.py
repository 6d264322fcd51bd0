"""The steps every service's create_app shares: config, proxy headers, logging, db, errors, health."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import auth, db, logs, metrics
from shared.config import load_config
from shared.errors import BadRequest, ValidationFailed, register_error_handlers


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
    app.session_interface = LazyCookieSessions()
    logs.init_app(app)
    db.init_app(app)
    metrics.init_app(app)
    auth.init_app(app)
    register_error_handlers(app)
    register_security_headers(app)
    refuse_deep_json(app)
    refuse_nul_characters(app)


class LazyCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that brings
    no session cookie: the API, feeds and most page views (a hot path's fixed cost)."""

    def open_session(self, app, request):
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


HSTS = "max-age=31536000"


def register_security_headers(app: Flask) -> None:
    """Headers on every answer, API or page (pages add their CSP and friends in shared.pages).

    API answers and anything reached by a secret token hold personal data: never cached.
    HSTS only over TLS, which behind the proxy ProxyFix learns from X-Forwarded-Proto.
    """

    @app.after_request
    def _security_headers(response: Response) -> Response:
        defaults = {"X-Content-Type-Options": "nosniff"}
        if "/api/" in request.path or "token" in (request.view_args or {}):
            defaults["Cache-Control"] = "no-store"
        if request.is_secure:
            defaults["Strict-Transport-Security"] = HSTS
        set_missing_headers(response, defaults)
        return response


def set_missing_headers(response: Response, defaults: Mapping[str, str]) -> None:
    """`response.headers.setdefault` for several headers in one pass.

    werkzeug's lookup of a header that is not there raises BadRequestKeyError, an HTTP
    exception that is slow to make, and setdefault catches one per missing header: the hooks
    of every answer made several.
    """
    present = {key.lower() for key, _ in response.headers}
    for key, value in defaults.items():
        if key.lower() not in present:
            response.headers.add(key, value)


# Deeper than any body the API takes, far shallower than the parser's recursion limit.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings ignored)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.finditer(_JSON_STRING.sub(b"", body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def refuse_deep_json(app: Flask) -> None:
    """A 400 for a JSON body nested deeper than MAX_JSON_DEPTH, before anything parses it.

    Python's json parser recurses once per level: 100k nested brackets raise RecursionError
    (a 500) in whichever code reads the body first, so the depth is checked once, here.
    """

    @app.before_request
    def _refuse_deep_json():
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
            return
        body = request.get_data(cache=True)
        if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:  # the usual body: no scan
            return
        if json_depth(body) > MAX_JSON_DEPTH:
            raise BadRequest(
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.", code="json_too_deep"
            )


def _has_nul(value: Any) -> bool:
    """True when a NUL character is anywhere in a parsed JSON value (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _may_hold_nul(body: bytes) -> bool:
    """False when a JSON text cannot hold a NUL: JSON writes it as the escape \\u0000 (or a
    lax sender raw), so a body with neither needs no walk through its parsed values."""
    return b"\\u0000" in body or b"\x00" in body


def refuse_nul_characters(app: Flask) -> None:
    """A 422 for text with a NUL character, in the path, the query, a form or a JSON body.

    No field means one (PostgreSQL cannot even store it), so it is refused in one place
    before any view, rather than failing as a database error after validation.
    """

    @app.before_request
    def _refuse_nul():
        values: list[Any] = []
        environ = request.environ
        # A NUL reaches the path decoded and the query as %00 (or raw, from a lax server): a GET
        # with neither (all of them, nearly) is let through without parsing its query here.
        query = environ.get("QUERY_STRING", "")
        if "\x00" in environ.get("PATH_INFO", "") or "%00" in query or "\x00" in query:
            values += [*(request.view_args or {}).values(), *request.args.items(multi=True)]
        if request.method not in ("GET", "HEAD", "OPTIONS"):  # no view reads a GET's body
            if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                values += request.form.items(multi=True)
            elif request.is_json and _may_hold_nul(request.get_data(cache=True)):
                values.append(request.get_json(silent=True))
        if any(_has_nul(value) for value in values):
            raise ValidationFailed(
                "Text must not contain NUL characters.",
                code="nul_character",
                errors={"_body": ["Text must not contain NUL characters."]},
            )


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
