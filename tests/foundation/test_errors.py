"""Bad input gets one problem+json shape from every service, never HTML or a stack trace."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint

from shared.auth import require

SERVICES = ("booking", "consent", "notify")


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(body)
    assert body["status"] == status
    assert body["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_route_gets_404_problem(apps, service):
    assert_problem(apps[service].test_client().get("/api/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize("service", SERVICES)
def test_wrong_method_gets_405_problem_with_allow(apps, service):
    response = apps[service].test_client().delete("/health")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("service", SERVICES)
def test_missing_token_gets_401(apps, service):
    assert_problem(apps[service].test_client().get("/api/v1/whoami"), 401, "token_missing")


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_token_gets_401(apps, service):
    response = (
        apps[service]
        .test_client()
        .get("/api/v1/whoami", headers={"Authorization": "Bearer fda_not-a-real-token"})
    )
    assert_problem(response, 401, "token_invalid")


@pytest.mark.parametrize("service", SERVICES)
def test_valid_token_is_recognised_with_its_role(apps, make_token, service):
    token = make_token(service, "staff", staff_id=7)
    response = (
        apps[service]
        .test_client()
        .get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    )
    assert response.status_code == 200
    assert response.get_json() == {"role": "staff", "staff_id": 7}


@pytest.mark.parametrize("service", SERVICES)
def test_request_id_is_echoed_or_made(apps, service):
    client = apps[service].test_client()
    assert (
        client.get("/health", headers={"X-Request-ID": "abc123-xyz"}).headers["X-Request-ID"]
        == "abc123-xyz"
    )
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "X-Request-ID"
    ]
    assert made and " " not in made


@pytest.fixture(scope="module")
def _probe_app(database_urls):
    """A booking app with a few extra routes that exercise the error paths."""
    from services.booking.app import create_app

    app = create_app({"DATABASE_URL": database_urls["booking"], "TESTING": True})
    import marshmallow as ma
    from flask_smorest import Blueprint as ApiBlueprint

    class ProbeSchema(ma.Schema):
        name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5))
        count = ma.fields.Integer(required=True)

    blp = ApiBlueprint("probe", __name__, url_prefix="/api/v1/probe")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(ProbeSchema)
    @blp.response(201, ProbeSchema)
    def echo(data):
        return data

    @blp.route("/admin-echo", methods=["POST"])
    @blp.arguments(ProbeSchema)
    @blp.response(201, ProbeSchema)
    @require("admin")
    def admin_echo(data):
        return data

    @blp.route("/admin-only")
    @blp.response(200)
    @require("admin")
    def admin_only():
        return {"ok": True}

    plain = Blueprint("probe_boom", __name__)

    @plain.get("/api/v1/probe/boom")
    def boom():
        raise RuntimeError("kaboom: secret internals")

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    app.register_blueprint(plain)
    return app


@pytest.fixture
def probe_app(_probe_app, apps):
    return _probe_app


def test_schema_violation_gets_422_with_failing_fields(probe_app):
    response = probe_app.test_client().post("/api/v1/probe/echo", json={"name": "toolongname"})
    body = assert_problem(response, 422, "validation_failed")
    assert set(body["errors"]) == {"name", "count"}


def test_valid_body_passes(probe_app):
    response = probe_app.test_client().post("/api/v1/probe/echo", json={"name": "ok", "count": 2})
    assert response.status_code == 201
    assert response.get_json() == {"name": "ok", "count": 2}


def test_malformed_json_gets_400(probe_app):
    response = probe_app.test_client().post(
        "/api/v1/probe/echo", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400, "bad_request")


def test_wrong_content_type_gets_415(probe_app):
    response = probe_app.test_client().post(
        "/api/v1/probe/echo", data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_body_over_limit_gets_413(probe_app):
    limit = probe_app.config["MAX_CONTENT_LENGTH"]
    response = probe_app.test_client().post(
        "/api/v1/probe/echo", data=b"x" * (limit + 1), content_type="application/json"
    )
    assert_problem(response, 413, "body_too_large")


def test_wrong_role_gets_403(probe_app, make_token):
    token = make_token("booking", "staff", staff_id=1)
    response = probe_app.test_client().get(
        "/api/v1/probe/admin-only", headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 403, "role_forbidden")
    admin = make_token("booking", "admin")
    ok = probe_app.test_client().get(
        "/api/v1/probe/admin-only", headers={"Authorization": f"Bearer {admin}"}
    )
    assert ok.status_code == 200


def test_unexpected_exception_gets_500_problem_and_logged_traceback(probe_app, caplog):
    probe_app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        with caplog.at_level(logging.ERROR, logger="frontdesk.errors"):
            logging.getLogger("frontdesk").propagate = True
            response = probe_app.test_client().get("/api/v1/probe/boom")
    finally:
        logging.getLogger("frontdesk").propagate = False
        probe_app.config["PROPAGATE_EXCEPTIONS"] = None
    body = assert_problem(response, 500, "internal_error")
    assert "kaboom" not in response.get_data(as_text=True)
    assert body["request_id"]
    assert any(record.exc_info and "kaboom" in str(record.exc_info[1]) for record in caplog.records)


def test_token_is_checked_before_the_body_is_validated(probe_app, make_token):
    client = probe_app.test_client()
    assert_problem(client.post("/api/v1/probe/admin-echo", json={}), 401, "token_missing")
    staff = make_token("booking", "staff", staff_id=1)
    response = client.post(
        "/api/v1/probe/admin-echo", json={}, headers={"Authorization": f"Bearer {staff}"}
    )
    assert_problem(response, 403, "role_forbidden")
    admin = make_token("booking", "admin")
    response = client.post(
        "/api/v1/probe/admin-echo", json={}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert_problem(response, 422, "validation_failed")


def test_openapi_documents_roles_and_bearer_security(probe_app):
    spec = probe_app.test_client().get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/probe/admin-echo"]["post"]
    assert operation["x-roles"] == ["admin"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "422"} <= set(operation["responses"])
