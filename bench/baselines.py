"""Baseline apps measured beside the real ones: hello-world JSON and one INSERT + COMMIT; and
the booking app as the benchmarks load it.

Run under gunicorn as `bench.baselines:hello` or `bench.baselines:create_insert_app()` (the
latter writes to FRONTDESK_BENCH_INSERT_URL), and `bench.baselines:create_booking_app()`.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, jsonify

hello = Flask("hello")


@hello.get("/health")
@hello.get("/hello")
def say_hello():
    return jsonify({"hello": "world"})


def create_insert_app() -> Flask:
    """A bare Flask endpoint doing one INSERT + COMMIT per request."""
    app = Flask("insert")
    url = os.environ.get("FRONTDESK_BENCH_INSERT_URL", "sqlite:///var/bench-insert.db")
    engine = (
        sa.create_engine(url, pool_size=4)
        if url.startswith("postgresql")
        else sa.create_engine(url)
    )
    metadata = sa.MetaData()
    rows = sa.Table(
        "bench_rows",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("payload", sa.String(200)),
    )
    metadata.create_all(engine)

    @app.get("/health")
    def health():
        return jsonify({"ok": True})

    @app.post("/insert")
    def insert():
        with engine.begin() as connection:
            new_id = connection.execute(
                rows.insert().values(payload="x" * 64)
            ).inserted_primary_key[0]
        return jsonify({"id": new_id}), 201

    return app


def create_booking_app() -> Flask:
    """The booking app from FRONTDESK_* settings with its public rate limits off.

    wrk sends everything from one address (and the feed benchmark with one token), so the
    limits meant for the anonymous public (slot search and the booking page included) would
    turn the run into 429 answers within a second.
    """
    from services.booking.app import create_app

    return create_app({"RATELIMIT_ENABLED": False})


def create_suite_app():
    """`frontdesk serve`'s all-in-one suite (the three apps under /booking, /consent, /notify,
    SQLite files from FRONTDESK_*_DATABASE_URL) with its public rate limits off, already
    migrated by the benchmark."""
    from frontdesk.suite import create_suite

    return create_suite({"RATELIMIT_ENABLED": False}, migrate=False)
