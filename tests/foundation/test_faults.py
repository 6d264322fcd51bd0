"""Faults in the shared core: a database connection killed mid-request gives a clean 503 and
nothing changed; the retry works on a fresh connection."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import Blueprint, jsonify

from shared import db

ON_POSTGRESQL = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(scope="module")
def fault_app(database_urls):
    """A notify app with a route that loses its database connection halfway through."""
    from services.notify.app import create_app

    app = create_app({"DATABASE_URL": database_urls["notify"], "TESTING": True})
    routes = Blueprint("faults", __name__)

    @routes.post("/api/v1/fault/write-then-die")
    def write_then_die():
        session = db.session()
        session.execute(
            sa.text(
                "INSERT INTO api_tokens (token_hash, role, name, created_at) VALUES ('f', 'admin', 'fault', CURRENT_TIMESTAMP)"
            )
        )
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with db.get_db().engine.connect() as killer:
            killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        session.execute(sa.text("SELECT 1"))  # the connection is gone now
        return jsonify({"unreachable": True})

    @routes.get("/api/v1/fault/count")
    def count():
        value = (
            db.session()
            .execute(sa.text("SELECT count(*) FROM api_tokens WHERE name = 'fault'"))
            .scalar_one()
        )
        return jsonify({"count": value})

    app.register_blueprint(routes)
    return app


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="pg_terminate_backend needs PostgreSQL: runs in the PostgreSQL pass of .ci/run",
)
def test_connection_killed_mid_request_gives_503_and_retry_works(fault_app, apps):
    client = fault_app.test_client()
    response = client.post("/api/v1/fault/write-then-die", json={})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "1"
    retry = client.get("/api/v1/fault/count")
    assert retry.status_code == 200
    assert retry.get_json() == {"count": 0}  # the half-done write was rolled back
