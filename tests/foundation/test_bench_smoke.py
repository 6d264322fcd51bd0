"""`python -m bench --quick` still works: the booking page benchmark runs end to end (real
gunicorn on PostgreSQL, wrk from its own process) and writes its JSON, in well under a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def test_quick_bench_of_the_booking_page_prints_a_table_and_writes_its_json(tmp_path):
    test_url = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "")
    # Its own database names (from the test database's name when there is one), so a smoke
    # run never drops the databases of a benchmark or of another run beside it.
    own = sa.make_url(test_url).database if test_url.startswith("postgresql") else "smoke"
    base = sa.make_url(test_url).set(database="postgres") if own != "smoke" else PG_BASE
    out = tmp_path / "quick.json"
    env = {
        **os.environ,
        "FRONTDESK_BENCH_DB_PREFIX": f"{own}_",
        "FRONTDESK_BENCH_PG": base if own == "smoke" else base.render_as_string(False),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "pages", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| booking page: time to first byte" in result.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and "cores" in report["machine"]
    rows = {row["name"]: row for row in report["rows"]}
    assert len(rows) == 4
    for row in rows.values():
        assert row["value"] > 0 and row["baseline"] > 0, row
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=0.01), row


@pytest.mark.parametrize("pipelined", [False, True], ids=["one-at-a-time", "pipelined"])
def test_the_floor_of_a_booking_does_a_bookings_work(monkeypatch, pipelined):
    """bench.baselines.create_booking_sql_app, the floor the booking POST is set against, runs a
    booking's statements for real, one at a time or pipelined: one appointment per free staff
    member at a start, with its history entry, outbox rows and version bump; a taken or
    unworked start is refused."""
    from datetime import UTC, datetime, time, timedelta

    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not an installed package
    from bench import harness
    from bench.baselines import create_booking_sql_app
    from bench.booking import STAFF, _setup

    test_url = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "")
    own = sa.make_url(test_url).database if test_url.startswith("postgresql") else "smoke"
    if own != "smoke":
        monkeypatch.setattr(
            harness,
            "PG_BASE",
            sa.make_url(test_url).set(database="postgres").render_as_string(False),
        )
    monkeypatch.setenv("FRONTDESK_BENCH_DB_PREFIX", f"{own}_")
    url = harness.fresh_pg_database(f"booking_floor_{int(pipelined)}")
    app, service_id, _ = _setup(url, rules_every_day=True, zone="UTC", horizon_days=30, buffer=0)
    monkeypatch.setenv("FRONTDESK_BENCH_BOOKING_SQL_URL", url)
    client = create_booking_sql_app(pipelined=pipelined).test_client()
    day = datetime.now(UTC).date() + timedelta(days=3)

    def book(hour: int):
        start = datetime.combine(day, time(hour), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "service_id": service_id,
            "start": start,
            "mode": "video",
            "client": {"name": "Bench client", "email": "client@bench.invalid"},
            "backup": {"callback_number": "+14165550123"},
        }
        return client.post("/api/v1/appointments", json=body)

    assert [book(10).status_code for _ in range(STAFF + 1)] == [201] * STAFF + [409]
    assert book(3).status_code == 409  # outside the working hours
    engine = sa.create_engine(url)
    with engine.connect() as connection:

        def scalar(sql: str):
            return connection.scalar(sa.text(sql))

        assert scalar("SELECT count(DISTINCT staff_id) FROM appointments") == STAFF
        # Each history entry and outbox row belongs to its own booking (the pipelined writes
        # find the new id in the session's sequence).
        assert scalar("SELECT count(DISTINCT appointment_id) FROM appointment_events") == STAFF
        # A confirmation, a staff notice and two reminders per booking.
        assert (
            scalar(
                "SELECT count(*) FROM booking_outbox o JOIN appointments a ON a.id = o.appointment_id"
            )
            == STAFF * 4
        )
        assert (
            scalar(
                "SELECT count(*) FROM (SELECT appointment_id FROM booking_outbox"
                " GROUP BY appointment_id HAVING count(*) = 4) AS each_booking"
            )
            == STAFF
        )
        assert scalar("SELECT sum(version) FROM feed_versions") >= STAFF
    engine.dispose()
    from shared import db

    db.get_db(app).engine.dispose()


def test_each_wrk_thread_of_the_booking_load_sends_its_own_bookings(monkeypatch):
    """bench.booking's wrk script: each thread seeds its own random starts and emails. With one
    seed for both (the second), the threads sent the same bookings in step, and the floor
    endpoints queued on one staff row's lock: every email came twice."""
    import http.server
    import threading

    monkeypatch.syspath_prepend(str(ROOT))
    from bench.booking import BOOKING_LUA
    from bench.harness import wrk

    emails: list[str] = []

    class Sink(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a server under wrk

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            emails.append(body["client"]["email"])
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            """Quiet: the test reads the bodies, not http.server's log lines."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = BOOKING_LUA % {"base": 1_800_000_000, "days": 700, "service": 1}
        load = wrk(
            f"http://127.0.0.1:{server.server_address[1]}/api/v1/appointments",
            seconds=1,
            connections=2,
            threads=2,
            script=script,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert load.errors == 0 and len(emails) >= 20
    assert len(set(emails)) == len(emails)
