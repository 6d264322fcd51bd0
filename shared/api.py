"""The flask-smorest Api factory every service uses: OpenAPI 3.1, spec at /openapi.json, docs at
/docs and /redoc (shared.api_docs).

Errors are rendered by shared.errors (one problem+json shape), so the Api's own handler is
replaced and the documented default error schema is the problem schema.
"""

from __future__ import annotations

import http

import flask_smorest
import marshmallow as ma
from flask import Flask, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response, resolve_schema_instance

from shared.api_docs import register_api_docs
from shared.errors import PROBLEM_JSON, UnsupportedMediaType


class ProblemSchema(ma.Schema):
    """application/problem+json (RFC 9457) with a stable machine code and field errors."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    request_id = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw())


class FrontdeskApi(Api):
    """Api whose errors are rendered by shared.errors in the problem shape."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled by shared.errors.register_error_handlers."""

    def _register_responses(self) -> None:
        """Document every error response as application/problem+json, as it is served."""
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with argument schemas made once.

    Given a schema class, webargs makes an instance per request, and marshmallow deep-copies
    every declared field (and each nested schema's) into it: a tenth of a booking's Python.
    One instance made here serves every request (loading keeps no state on the schema).
    """

    def arguments(self, schema, **kwargs):
        return super().arguments(resolve_schema_instance(schema), **kwargs)


# A time of day as the API takes it, by the Time field's format: 09:00, or ISO (09:00:00 too).
TIME_PATTERNS = {
    "%H:%M": r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
    None: r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
    "iso": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
}


def constraints_apispec_leaves_out(self, field: ma.fields.Field, **_kwargs) -> dict:
    """OpenAPI keywords for checks apispec does not document: a time's form, and what a
    mapping's keys must be (JSON Schema's propertyNames), so generated data passes them."""
    if isinstance(field, ma.fields.Time) and field.format in TIME_PATTERNS:
        return {"pattern": TIME_PATTERNS[field.format], "examples": ["09:00"]}
    if isinstance(field, ma.fields.Dict) and field.key_field is not None:
        names = self.field2property(field.key_field)
        if set(names) - {"type"}:
            return {"propertyNames": names}
    return {}


# Body types the API accepts; a route that takes something else lists it in `accepts`.
_JSON_TYPES = {"application/json", "application/merge-patch+json"}


def create_api(app: Flask, *, title: str, description: str) -> FrontdeskApi:
    """Create the service's Api with its docs pages and the bearer security scheme."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # flask-smorest serves the spec; the docs pages are ours (shared.api_docs), with their
    # scripts served by the app itself instead of its CDN defaults.
    api = FrontdeskApi(
        app,
        spec_kwargs={
            "info": {"description": description},
            "servers": [{"url": "."}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "API token"}
    )
    # Links are URIs (JSON Schema's format, which generators know; apispec says "url").
    api.register_field(ma.fields.URL, "string", "uri")
    api.ma_plugin.converter.add_attribute_function(constraints_apispec_leaves_out)
    register_api_docs(app, title=title, spec_endpoint="api-docs.openapi_json")

    @app.before_request
    def _require_json_body():
        if request.method not in ("POST", "PUT", "PATCH") or "/api/" not in request.path:
            return
        if not request.content_length:
            return
        view = app.view_functions.get(request.endpoint or "")
        accepted = set(getattr(getattr(view, "view_class", view), "accepts", ())) | _JSON_TYPES
        if request.mimetype not in accepted:
            raise UnsupportedMediaType(
                f"Send the body as {' or '.join(sorted(accepted))}, not {request.mimetype or 'nothing'}."
            )

    return api


class WhoAmISchema(ma.Schema):
    """The caller as the service sees it."""

    role = ma.fields.String(required=True)
    staff_id = ma.fields.Integer(allow_none=True)


def whoami_blueprint(url_prefix: str = "/api/v1"):
    """GET /api/v1/whoami: the role (and staff member) of the presented token."""

    from shared.auth import current_principal, require

    blp = Blueprint("whoami", __name__, url_prefix=url_prefix, description="The caller's token")

    @blp.route("/whoami")
    @blp.response(200, WhoAmISchema)
    @require("admin", "staff", "service")
    def whoami():
        """Who the presented token belongs to."""
        return current_principal()

    return blp
