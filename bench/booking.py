"""Booking: slot search over 30 days with 0 / 1k / 100k appointments, and booking throughput.

Slot search: GET /api/v1/services/{id}/slots for 30 days of a 5-staff service, through the app
(in-process test client, PostgreSQL), with 0, 1,000 and 100,000 confirmed appointments in the
database (the 30 days searched are fully inside the booked period). The baseline is the same
search on an empty calendar; the SQL statements per search are counted and must not grow.

Booking: POST /api/v1/appointments under gunicorn (2 sync workers) on PostgreSQL, driven by wrk
with random free-looking starts over two years (the staff-row lock, availability check, insert,
history and outbox rows), against a bare Flask endpoint doing one INSERT + COMMIT on PostgreSQL
in the same run; and against a bare Flask endpoint running a booking's own statements with
psycopg and nothing else (bench.baselines.create_booking_sql_app): the floor in this stack, one
statement at a time as the app sends them, and pipelined into as few waits for the database as
the bare INSERT's (so the floor is the statements' own cost, not their round trips).

`python -m bench.booking [--quick]`
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import sqlalchemy as sa

from bench.harness import (
    cpu_seconds,
    fresh_pg_database,
    gunicorn,
    in_turns,
    postgres_backends,
    row,
    wrk,
)

STAFF = 5
BOOKED_PER_DAY = 12  # per staff member, of 16 half-hour slots
SEARCH_DAYS = 30
SLOT_SEARCH_TARGET = "<= 1.2x the empty calendar, same query count (issue 11)"
BOOKING_TARGET = ">= 0.5x the bare endpoint running its statements, its floor (issue 21)"
SLOT_LATENCY_TARGET = "<= 2x the same app's /health p50, one round trip each (issue 21)"


def _setup(url: str, *, rules_every_day: bool, zone: str, horizon_days: int, buffer: int):
    """Migrate a fresh database and create the 5 staff and one service; return (app, ids)."""
    from frontdesk import migrations
    from services.booking.app import create_app
    from services.booking.operations import catalog
    from shared import db

    migrations.upgrade("booking", url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})
    weekdays = range(7) if rules_every_day else range(5)
    with db.get_db(app).transaction() as session:
        staff = [
            catalog.create_staff(
                session=session,
                name=f"Staff {n}",
                email=f"staff{n}@bench.invalid",
                time_zone=zone,
                video_link_template=f"https://meet.example.org/staff{n}",
                dial_in="+14165550100",
            )
            for n in range(STAFF)
        ]
        for member in staff:
            catalog.replace_rules(
                session=session,
                staff=member,
                rules=[
                    {"weekday": d, "start_time": clock(9), "end_time": clock(17)} for d in weekdays
                ],
            )
        service = catalog.create_service(
            session=session,
            staff_ids=[s.id for s in staff],
            name="Bench service",
            slug="bench",
            duration_minutes=30,
            modes=["video"],
            buffer_after_minutes=buffer,
            slot_step_minutes=30,
            horizon_days=horizon_days,
        )
        return app, service.id, [s.id for s in staff]


def _fill(app, service_id: int, staff_ids: list[int], count: int, first_day: date) -> None:
    """Insert `count` confirmed 30-minute appointments from first_day: 12 of the 16 half hours
    of each staff member's day (09:00-15:00), so some slots stay free."""
    from services.booking.models import Appointment
    from shared import db

    rows = []
    per_day = BOOKED_PER_DAY * len(staff_ids)
    for n in range(count):
        day = first_day + timedelta(days=n // per_day)
        staff_id = staff_ids[n % len(staff_ids)]
        slot = (n % per_day) // len(staff_ids)
        start = datetime.combine(day, clock(9), tzinfo=UTC) + timedelta(minutes=30 * slot)
        end = start + timedelta(minutes=30)
        rows.append(
            {
                "uid": f"{uuid.uuid4()}@bench",
                "service_id": service_id,
                "staff_id": staff_id,
                "start": start,
                "end": end,
                "blocked_start": start,
                "blocked_end": end,
                "exclusive": True,
                "status": "confirmed",
                "mode": "video",
                "client_name": "Bench client",
                "client_email": "client@bench.invalid",
                "client_language": "en",
                "client_time_zone": "UTC",
                "backup_use_dial_in": True,
                "accommodation_captions": False,
                "sequence": 0,
                "created_at": start,
                "updated_at": start,
            }
        )
    with db.get_db(app).transaction() as session:
        for chunk in range(0, len(rows), 5000):
            session.execute(sa.insert(Appointment), rows[chunk : chunk + 5000])


@dataclass
class _Calendar:
    """One size's database, app and counters for measure_slot_searches."""

    app: Any
    path: str
    statements: list[str] = field(default_factory=list)
    timings: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    warm_timings: list[float] = field(default_factory=list)
    warm_counts: list[int] = field(default_factory=list)
    found: int = 0


def _calendar(appointments: int) -> _Calendar:
    """A migrated database with `appointments` around the searched month, and its app."""
    from shared import db

    url = fresh_pg_database(f"bench_booking_slots_{appointments}")
    app, service_id, staff_ids = _setup(
        url, rules_every_day=True, zone="UTC", horizon_days=3650, buffer=0
    )
    start = datetime.now(UTC).date() + timedelta(days=7)
    # The searched month sits in the middle of the booked period (60 appointments fill a day:
    # 1k fill 17 days of the month, 100k all of it and years around it).
    per_day = BOOKED_PER_DAY * STAFF
    days_booked = -(-appointments // per_day)
    first_day = start - timedelta(days=max(0, days_booked - SEARCH_DAYS) // 2)
    if appointments:
        _fill(app, service_id, staff_ids, appointments, first_day)
    path = (
        f"/api/v1/services/{service_id}/slots?start={start}"
        f"&end={start + timedelta(days=SEARCH_DAYS - 1)}&tz=America/Toronto"
    )
    calendar = _Calendar(app, path)
    engine = db.get_db(app).engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: calendar.statements.append(a[2]))
    return calendar


def measure_slot_searches(
    sizes: Sequence[int], repeats: int
) -> dict[int, tuple[float, int, int, float, int]]:
    """By size: (median ms per 30-day search computed, SQL statements per search, slots found,
    median ms per search answered from the slot cache, SQL statements then).

    The computed figures clear the app's slot cache before each search: they are what the
    first search after a change costs, which is what must stay flat as the calendar grows.
    Every size's database is made first, then the searches run in turns over the sizes, so a
    slow spell of the machine falls on all of them alike."""
    from shared import db

    calendars = {size: _calendar(size) for size in sizes}
    for _ in range(repeats):
        for calendar in calendars.values():
            client = calendar.app.test_client()
            caches = calendar.app.extensions["booking_caches"]
            # Computed, then from the cache twice (the second: a search served again and again).
            for warm in (False, True, True):
                if not warm:
                    caches.clear()
                calendar.statements.clear()
                began = time.perf_counter()
                response = client.get(calendar.path)
                took = (time.perf_counter() - began) * 1000
                assert response.status_code == 200, response.get_data(as_text=True)
                (calendar.warm_timings if warm else calendar.timings).append(took)
                (calendar.warm_counts if warm else calendar.counts).append(len(calendar.statements))
                calendar.found = len(response.get_json()["slots"])
    results = {}
    for size, calendar in calendars.items():
        db.get_db(calendar.app).engine.dispose()
        results[size] = (
            statistics.median(calendar.timings),
            max(calendar.counts),
            calendar.found,
            statistics.median(calendar.warm_timings),
            max(calendar.warm_counts),
        )
    return results


# Each wrk thread seeds its own sequence: with one seed (the second), the threads sent the
# same starts in step and bookings queued on one staff member's lock for nothing.
BOOKING_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  math.randomseed(os.time() %% 100000 * 64 + thread_number)
end
local base = %(base)d
request = function()
  local day = math.random(1, %(days)d)
  local slot = math.random(0, 15)
  local start = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", base + day * 86400 + 9 * 3600 + slot * 1800)
  local body = '{"service_id": %(service)d, "start": "' .. start .. '", "mode": "video",' ..
    '"client": {"name": "Bench client", "email": "client' .. math.random(1, 1000000000) ..
    '@bench.invalid", "language": "en"},' ..
    '"backup": {"callback_number": "+14165550123"}}'
  return wrk.format("POST", "/api/v1/appointments", {["Content-Type"] = "application/json"}, body)
end
"""

SLOT_LATENCY: list[float] = []
# side -> CPU ms per request in (its gunicorn workers, its PostgreSQL backends)
BOOKING_CPU: dict[str, tuple[float, ...]] = {}


def _database(url: str) -> str:
    return sa.make_url(url).database or ""


INSERT_LUA = """
wrk.method = "POST"
"""


@dataclass
class Throughput:
    """Median req/s of each side of measure_booking_throughput, and what the booking made."""

    booking: float
    insert: float
    floor: float  # a booking's statements, one at a time (bench.baselines.create_booking_sql_app)
    pipelined: float  # the same statements in three waits for the database
    made: int  # appointments the booking POSTs made
    refused: dict[str, int]  # non-2xx answers by side (taken slots, all rounds)


def measure_booking_throughput(seconds: float, rounds: int) -> Throughput:
    """The booking POST, the bare INSERT and the booking's bare statements (one at a time and
    pipelined), each loaded `rounds` times in turns.

    BOOKING_CPU gets the CPU milliseconds per request each side used, over all rounds, in its
    gunicorn workers and in the PostgreSQL backends serving its database (read from /proc).

    The servers run side by side and are loaded in turns (`rounds` times each, medians kept),
    so a burst of load from elsewhere on the machine hits both figures alike. Before the
    bookings, the 30-day slot search of the (still empty) calendar is loaded the same way
    against hello world and the booking app's own /health, and once more with the slot cache
    off: SLOT_LATENCY holds (search p50 ms, hello p50 ms, search p50 ms uncached, /health p50
    ms).
    """
    from services.booking.models import Appointment
    from shared import db

    url = fresh_pg_database("bench_booking_post")
    days = 700
    app, service_id, _ = _setup(
        url, rules_every_day=True, zone="UTC", horizon_days=days + 5, buffer=0
    )
    base = int(datetime.combine(datetime.now(UTC).date(), clock(0), tzinfo=UTC).timestamp())
    script = BOOKING_LUA % {"base": base, "days": days, "service": service_id}
    env = {"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"}
    insert_env = {"FRONTDESK_BENCH_INSERT_URL": fresh_pg_database("bench_booking_insert")}
    # The bare booking statements run on databases of their own, migrated and seeded alike.
    floors = {}
    for side in ("sql", "pipelined"):
        floor_url = fresh_pg_database(f"bench_booking_{side}")
        floor_app, floor_service_id, _ = _setup(
            floor_url, rules_every_day=True, zone="UTC", horizon_days=days + 5, buffer=0
        )
        db.get_db(floor_app).engine.dispose()
        floors[side] = (
            floor_url,
            BOOKING_LUA % {"base": base, "days": days, "service": floor_service_id},
        )
    rates: dict[str, list[float]] = {"booking": [], "insert": [], "sql": [], "pipelined": []}
    refused = dict.fromkeys(rates, 0)
    first = datetime.now(UTC).date() + timedelta(days=7)
    slots_path = (
        f"/api/v1/services/{service_id}/slots?start={first}"
        f"&end={first + timedelta(days=SEARCH_DAYS - 1)}&tz=America/Toronto"
    )
    with (
        gunicorn("bench.baselines:create_booking_app()", env=env, workers=2) as booking_server,
        gunicorn("bench.baselines:create_insert_app()", env=insert_env, workers=2) as bare_server,
        gunicorn(
            "bench.baselines:create_booking_sql_app()",
            env={"FRONTDESK_BENCH_BOOKING_SQL_URL": floors["sql"][0]},
            workers=2,
        ) as sql_server,
        gunicorn(
            "bench.baselines:create_booking_sql_app(pipelined=True)",
            env={"FRONTDESK_BENCH_BOOKING_SQL_URL": floors["pipelined"][0]},
            workers=2,
        ) as pipelined_server,
        gunicorn("bench.baselines:hello", workers=2) as hello_server,
    ):
        # A second of each first, not counted: workers open connections and fill caches.
        wrk(booking_server.url + slots_path, seconds=1)
        wrk(booking_server.url + "/health", seconds=1)
        wrk(hello_server.url + "/hello", seconds=1)
        measured = in_turns(
            {
                "search": lambda: wrk(booking_server.url + slots_path, seconds=seconds),
                "health": lambda: wrk(booking_server.url + "/health", seconds=seconds),
                "hello": lambda: wrk(hello_server.url + "/hello", seconds=seconds),
            },
            rounds,
        )
        search, hello, health = measured["search"], measured["hello"], measured["health"]
        if search.errors:
            raise RuntimeError(f"slot search answered {search.errors} errors under load")
        uncached_env = {**env, "FRONTDESK_SLOT_CACHE_SIZE": "0"}
        with gunicorn(
            "bench.baselines:create_booking_app()", env=uncached_env, workers=2
        ) as uncached_server:
            uncached = wrk(uncached_server.url + slots_path, seconds=seconds)
        SLOT_LATENCY[:] = [search.p50_ms, hello.p50_ms, uncached.p50_ms, health.p50_ms]
        book_path = "/api/v1/appointments"
        loads = {
            "booking": (booking_server, book_path, script, _database(url)),
            "insert": (
                bare_server,
                "/insert",
                INSERT_LUA,
                _database(insert_env["FRONTDESK_BENCH_INSERT_URL"]),
            ),
            "sql": (sql_server, book_path, floors["sql"][1], _database(floors["sql"][0])),
            "pipelined": (
                pipelined_server,
                book_path,
                floors["pipelined"][1],
                _database(floors["pipelined"][0]),
            ),
        }
        for server, path, lua, _name in list(loads.values())[1:]:
            wrk(server.url + path, seconds=1, script=lua)  # pools and connections open
        used = {side: [0.0, 0.0, 0] for side in loads}  # workers s, postgres s, requests
        for _ in range(rounds):
            for side, (server, path, lua, name) in loads.items():
                workers, backends = server.worker_pids(), postgres_backends(name)
                before = cpu_seconds(workers), cpu_seconds(backends)
                load = wrk(server.url + path, seconds=seconds, script=lua)
                used[side][0] += cpu_seconds(workers) - before[0]
                used[side][1] += cpu_seconds(backends) - before[1]
                used[side][2] += round(load.requests_per_s * seconds)
                rates[side].append(load.requests_per_s)
                refused[side] += load.errors
        BOOKING_CPU.clear()
        for side, (*seconds_used, requests) in used.items():
            BOOKING_CPU[side] = tuple(used_s * 1000 / requests for used_s in seconds_used)
    with db.get_db(app).transaction() as session:
        made = session.scalar(sa.select(sa.func.count()).select_from(Appointment))
    db.get_db(app).engine.dispose()
    medians = {side: statistics.median(side_rates) for side, side_rates in rates.items()}
    return Throughput(
        medians["booking"],
        medians["insert"],
        medians["sql"],
        medians["pipelined"],
        made,
        refused,
    )


def run(quick: bool) -> list[dict]:
    """Rows: slot search at 0 / 1k / 100k appointments, booking POST vs a bare INSERT."""
    repeats = 5 if quick else 15
    sizes = (0, 1_000, 10_000) if quick else (0, 1_000, 100_000)
    searches, warm = {}, {}
    for size, measured in measure_slot_searches(sizes, repeats).items():
        ms, queries, found, warm_ms, warm_queries = measured
        searches[size] = (ms, queries)
        warm[size] = (warm_ms, warm_queries)
        print(
            f"[bench] booking slot search, {size} appointments: {ms:.1f} ms, "
            f"{queries} SQL statements per search, {found} slots; from the cache "
            f"{warm_ms:.1f} ms, {warm_queries} statements",
            file=sys.stderr,
        )
    empty_ms, empty_queries = searches[0]
    rows = []
    for size in sizes:
        ms, queries = searches[size]
        rows.append(
            row(
                f"booking: slot search {SEARCH_DAYS} days, {STAFF} staff, {size:,} appointments "
                f"({queries} queries)",
                ms,
                "ms",
                empty_ms,
                SLOT_SEARCH_TARGET,
                higher_is_better=False,
            )
        )
    rows.append(
        row(
            "booking: SQL statements per slot search (largest calendar vs empty)",
            searches[sizes[-1]][1],
            "statements",
            empty_queries,
            "equal (no query per day or slot)",
            higher_is_better=False,
        )
    )
    warm_ms, warm_queries = warm[sizes[-1]]
    rows.append(
        row(
            f"booking: slot search {SEARCH_DAYS} days, {STAFF} staff, {sizes[-1]:,} appointments, "
            f"repeated with nothing changed (slot cache, {warm_queries} queries)",
            warm_ms,
            "ms",
            searches[sizes[-1]][0],
            "<= 0.25x computing it (one query: the service and its staff's versions)",
            higher_is_better=False,
        )
    )
    # Five rounds: with three, the booking POST's ratio to its floor moved by up to 0.08
    # between runs on this 2-core machine (the app and its floor load it alike, in turns).
    measured = measure_booking_throughput(1 if quick else 5, rounds=1 if quick else 5)
    print(
        f"[bench] booking POST: {measured.booking:.0f} req/s ({measured.made} booked), "
        f"bare INSERT: {measured.insert:.0f} req/s, bare booking statements: "
        f"{measured.floor:.0f} req/s, pipelined: {measured.pipelined:.0f} req/s; "
        f"non-2xx (taken slots) by side: {measured.refused}",
        file=sys.stderr,
    )
    rows.append(
        row(
            f"booking: slot search {SEARCH_DAYS} days, {STAFF} staff, repeated with nothing "
            "changed, p50 under load (gunicorn 2 workers, wrk -c16) vs the same app's /health",
            SLOT_LATENCY[0],
            "ms",
            SLOT_LATENCY[3],
            SLOT_LATENCY_TARGET,
            higher_is_better=False,
        )
    )
    rows.append(
        row(
            f"booking: slot search {SEARCH_DAYS} days, {STAFF} staff, p50 under load "
            "(gunicorn 2 workers, wrk -c16) vs hello world",
            SLOT_LATENCY[0],
            "ms",
            SLOT_LATENCY[1],
            "reference: <= 2x hello p50 was issue 11's target",
            higher_is_better=False,
        )
    )
    rows.append(
        row(
            f"booking: slot search {SEARCH_DAYS} days, {STAFF} staff, p50 under load with the "
            "slot cache off (FRONTDESK_SLOT_CACHE_SIZE=0) vs hello world",
            SLOT_LATENCY[2],
            "ms",
            SLOT_LATENCY[1],
            "reference: every search computed",
            higher_is_better=False,
        )
    )
    rows.append(
        row(
            "booking: POST /appointments on PostgreSQL, gunicorn 2 workers, vs one bare INSERT "
            "+ COMMIT",
            measured.booking,
            "req/s",
            measured.insert,
            "reference: >= 0.5x one bare INSERT was issue 11's target, below the floor's own",
            higher_is_better=True,
        )
    )
    rows.append(
        row(
            "booking: a bare Flask endpoint running a booking's statements (psycopg, no ORM, "
            "no validation) vs one bare INSERT + COMMIT",
            measured.floor,
            "req/s",
            measured.insert,
            "reference: the floor of a booking's SQL in this stack, one statement at a time as "
            "the app sends them (12 waits for the database)",
            higher_is_better=True,
        )
    )
    rows.append(
        row(
            "booking: the same bare endpoint with its statements pipelined into 4 waits for the "
            "database (the service read, then 3 as the bare INSERT's), vs one bare INSERT",
            measured.pipelined,
            "req/s",
            measured.insert,
            "reference: the floor of a booking's work here, with the fewest waits",
            higher_is_better=True,
        )
    )
    rows.append(
        row(
            "booking: POST /appointments vs the bare endpoint running its statements (its floor; "
            "the rest is validation, the ORM and the app's hooks)",
            measured.booking,
            "req/s",
            measured.floor,
            BOOKING_TARGET,
            higher_is_better=True,
        )
    )
    insert_cpu = BOOKING_CPU["insert"]
    sides = (
        ("booking", "booking POST", "reference: where a booking's time goes"),
        ("sql", "bare booking statements request", "reference: the floor, one at a time"),
        ("pipelined", "pipelined bare booking statements request", "reference: the floor"),
    )
    for n, where in enumerate(("the 2 gunicorn workers", "PostgreSQL")):
        for side, what, target in sides:
            rows.append(
                row(
                    f"booking: CPU per {what} in {where} vs per bare INSERT (/proc, all rounds)",
                    BOOKING_CPU[side][n],
                    "ms",
                    insert_cpu[n],
                    target,
                    higher_is_better=False,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.booking")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
