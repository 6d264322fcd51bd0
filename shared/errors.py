"""The one error hierarchy and the one place that renders errors as problem+json (RFC 9457).

Every error a service raises derives from FrontdeskError, carrying its HTTP status and a
stable machine `code`. Werkzeug's HTTP errors (404, 405, 413, 415, ...) and flask-smorest's
422 are rendered in the same shape; anything unexpected becomes a 500 problem with the
request id, and its traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy.exc
from flask import Flask, Response, g, json, request
from werkzeug.exceptions import HTTPException

from shared.logs import redact

log = logging.getLogger("frontdesk.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://frontdesk.invalid/problems/"


class FrontdeskError(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class BadRequest(FrontdeskError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(FrontdeskError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(FrontdeskError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(FrontdeskError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(FrontdeskError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(FrontdeskError):
    status, code, title = 410, "gone", "No longer available"


class UnsupportedMediaType(FrontdeskError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(FrontdeskError):
    status, code, title = 422, "validation_failed", "The request has invalid fields"


class TooManyRequests(FrontdeskError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(FrontdeskError):
    status, code, title = 503, "unavailable", "Service unavailable"


def raise_every(problems: Sequence[FrontdeskError]) -> None:
    """Raise one error for every problem an operation found: the problem itself when it is
    alone (with its own code), else one ValidationFailed with every field error."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        errors = {
            key: value for problem in problems for key, value in (problem.errors or {}).items()
        }
        raise ValidationFailed(" ".join(problem.detail for problem in problems), errors=errors)


# Errors of shared plumbing, beside the tree they belong to.
class CsrfFailed(BadRequest):
    code = "csrf_failed"
    title = "The form expired"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key already used with another request"


class ServiceCallFailed(ServiceUnavailable):
    """Another service could not be reached or answered with a server error."""

    code = "upstream_unavailable"


# What a database that went away (restart, dropped connection, unwritable file) raises.
DATABASE_UNAVAILABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


# Stable codes for the HTTP errors Werkzeug raises on its own.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def problem(
    status: int,
    *,
    code: str,
    title: str,
    detail: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Build an application/problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "request_id": g.get("request_id"),
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_smorest_errors(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """flask-smorest nests field errors by location ({'json': {...}}); keep the fields."""
    if not data:
        return None
    errors = data.get("errors") or data.get("messages")
    if not isinstance(errors, dict):
        return None
    flat: dict[str, Any] = {}
    for location, fields in errors.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def render_http_exception(exc: HTTPException) -> Response:
    """Render a Werkzeug/flask-smorest HTTP error as a problem."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = _flatten_smorest_errors(data)
    detail = exc.description
    if status == 422:
        detail = "Some fields are invalid: " + ", ".join(sorted(errors or {})) if errors else detail
    elif status == 400 and errors:
        detail = "The request body is not valid JSON."
        errors = None
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem(
        status,
        code=_HTTP_CODES.get(status, "http_error"),
        title=exc.name,
        detail=detail,
        errors=errors,
        headers=headers,
    )


def render_frontdesk_error(exc: FrontdeskError) -> Response:
    """Render one of our own errors as a problem."""
    return problem(
        exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        **exc.extra,
    )


HtmlRenderer = Callable[[int, str, str], Response | None]


def wants_html() -> bool:
    """True for page requests (not the API, not JSON clients)."""
    if "/api/" in request.path or request.path.endswith((".json", ".ics", ".pdf")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def register_error_handlers(app: Flask) -> None:
    """Render every error in one shape; pages may install an HTML renderer in app.extensions."""

    def _maybe_html(status: int, code: str, detail: str) -> Response | None:
        renderer: HtmlRenderer | None = app.extensions.get("frontdesk_html_errors")
        if renderer is not None and wants_html():
            return renderer(status, code, detail)
        return None

    @app.errorhandler(FrontdeskError)
    def _frontdesk(exc: FrontdeskError):
        return _maybe_html(exc.status, exc.code, exc.detail) or render_frontdesk_error(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        # An error after the view (the request's commit, in an after_request hook) reaches
        # here as a 500 wrapping it: a database that went away is still the designed 503.
        if isinstance(getattr(exc, "original_exception", None), DATABASE_UNAVAILABLE):
            return _database_unavailable(exc.original_exception)
        status = exc.code or 500
        html = _maybe_html(status, _HTTP_CODES.get(status, "http_error"), exc.description or "")
        return html or render_http_exception(exc)

    @app.errorhandler(sqlalchemy.exc.OperationalError)
    @app.errorhandler(sqlalchemy.exc.InterfaceError)
    def _database_unavailable(exc: Exception):
        # A dropped connection or an unwritable database: the request did not happen (its
        # transaction is rolled back); the pool then recycles its older connections, so a
        # retry gets a fresh one.
        log.warning("database unavailable", extra={"error": type(exc.__cause__ or exc).__name__})
        page = _maybe_html(503, "database_unavailable", "")
        if page is not None:
            page.headers["Retry-After"] = "1"
            return page
        return problem(
            503,
            code="database_unavailable",
            title="Database unavailable",
            detail="The database did not answer; nothing was changed. Please retry.",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"path": redact(request.path)})
        return _maybe_html(500, "internal_error", "") or problem(
            500,
            code="internal_error",
            title="Internal server error",
            detail="Something went wrong on our side. Quote the request id if you report it.",
        )
