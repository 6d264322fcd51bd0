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


@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="pg_terminate_backend needs PostgreSQL: runs in the PostgreSQL pass of .ci/run",
)
def test_pooled_connections_killed_while_idle_cost_one_503_then_the_pool_reconnects(fault_app):
    """No ping before each checkout: a database restart costs each worker one 503, not more."""
    client = fault_app.test_client()
    engine = db.get_db(fault_app).engine
    # Hold several pooled connections, then kill them all while they sit idle in the pool.
    held = [engine.connect() for _ in range(3)]
    pids = [c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() for c in held]
    for connection in held:
        connection.close()
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as killer:
        for pid in pids:
            killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    first = client.get("/api/v1/fault/count")
    assert first.status_code in (200, 503)
    if first.status_code == 503:
        assert first.headers["Retry-After"] == "1"
    # Every connection older than the failure is recycled: the next requests all succeed.
    assert [client.get("/api/v1/fault/count").status_code for _ in range(4)] == [200] * 4
