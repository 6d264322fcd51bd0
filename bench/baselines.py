"""Baseline apps measured beside the real ones: hello-world JSON and one INSERT + COMMIT; and
the booking app as the benchmarks load it.

Run under gunicorn as `bench.baselines:hello` or `bench.baselines:create_insert_app()` (the
latter writes to FRONTDESK_BENCH_INSERT_URL), and `bench.baselines:create_booking_app()`.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request

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
    try:
        metadata.create_all(engine)
    except sa.exc.DBAPIError:  # the other worker created it at the same instant
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


# The statements of a booking (catalog.get_service, appointments._check_daily_cap,
# availability.load_calendars / lock_staff / load_taken, the INSERTs of appointments.book,
# versions.bump_version, appointments.record and outbox.add_booked), as plain SQL that reads and
# writes what the app's do: every column of the service and its staff (what the ORM loads), the
# daily cap by address or phone number, every column of a new appointment. _booking_columns
# names the columns from the models, so the floor follows the app when a column is added.
_CAP = """
SELECT created_at, id FROM appointments
WHERE created_at > %(since)s AND client_email_key = %(email)s AND follow_up_of_id IS NULL
UNION
SELECT created_at, id FROM appointments
WHERE created_at > %(since)s AND client_phone = %(phone)s AND follow_up_of_id IS NULL
ORDER BY created_at
"""
_WORKING_TIME = """
SELECT staff_id, weekday, NULL::date, NULL::varchar, start_time, end_time
FROM availability_rules WHERE staff_id = ANY(%(ids)s)
UNION ALL
SELECT staff_id, NULL::integer, date, kind, start_time, end_time
FROM availability_exceptions
WHERE staff_id = ANY(%(ids)s) AND date >= %(first)s AND date <= %(last)s
"""
_TAKEN = """
SELECT staff_id, start, "end", NULL::integer, NULL::timestamptz FROM busy_blocks
WHERE staff_id = ANY(%(ids)s) AND start < %(hi)s AND "end" > %(lo)s
UNION ALL
SELECT staff_id, blocked_start, blocked_end, service_id, start FROM appointments
WHERE staff_id = ANY(%(ids)s) AND status = 'confirmed' AND blocked_start > %(reach)s
  AND blocked_start < %(hi)s AND blocked_end > %(lo)s
"""
_LOCK = "SELECT id FROM staff WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_BUMP = """
INSERT INTO feed_versions (staff_id, version, changed_at, availability_version)
VALUES (%(staff)s, 1, %(now)s, 1)
ON CONFLICT (staff_id) DO UPDATE SET availability_version = feed_versions.availability_version + 1,
  version = feed_versions.version + 1,
  changed_at = greatest(excluded.changed_at,
                        date_trunc('second', feed_versions.changed_at) + interval '1 second')
"""
_EVENT = """
INSERT INTO appointment_events (appointment_id, at, actor, action, details)
VALUES (%(id)s, %%s, 'client', 'booked', %%s)
RETURNING id
"""
_OUTBOX = """
INSERT INTO booking_outbox (appointment_id, kind, payload, idempotency_key, status, attempts,
  next_attempt_at, created_at)
VALUES (%(id)s, %%s, %%s, %%s, 'pending', 0, %%s, %%s)
"""


def _booking_columns() -> tuple[list[str], list[str], list[str]]:
    """The columns of services, staff and appointments (but its id), from the models."""
    from services.booking.models import Appointment, Service, Staff

    def names(model) -> list[str]:
        return [column.name for column in model.__table__.c]

    return names(Service), names(Staff), [c for c in names(Appointment) if c != "id"]


def _service_statement(service_columns: list[str], staff_columns: list[str]) -> str:
    """The service and its staff, every column of both, one row per staff member (as
    catalog.get_service's joined load)."""
    columns = [f's."{c}"' for c in service_columns] + [f'st."{c}"' for c in staff_columns]
    return (
        f"SELECT {', '.join(columns)} FROM services s LEFT JOIN "  # noqa: S608
        "(service_staff ss JOIN staff st ON st.id = ss.staff_id) ON ss.service_id = s.id "
        "WHERE s.id = %s ORDER BY st.id"
    )


def _insert_statement(columns: list[str]) -> str:
    """A new appointment, every column but its id (as versions.insert_appointment)."""
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f"%({c})s" for c in columns)
    return f"INSERT INTO appointments ({names}) VALUES ({values}) RETURNING id"  # noqa: S608


# In the pipelined floor, the writes after the appointment's INSERT go in the same batch and
# find its id without waiting for it: currval of the appointments' id sequence (this session's).
_NEW_ID = "currval(pg_get_serial_sequence('appointments', 'id'))"


def create_booking_sql_app(*, pipelined: bool = False) -> Flask:
    """A bare Flask endpoint doing a booking's statements and no more: POST /api/v1/appointments
    with the same body, on a database migrated and seeded as the booking app's
    (FRONTDESK_BENCH_BOOKING_SQL_URL).

    The same reads, row lock, recheck and writes in one transaction, from psycopg directly,
    with only the Python that choosing a staff member needs (no validation, no ORM, no hooks,
    a one-field answer): the floor under a booking's cost in this stack, to set the booking
    POST against beside the bare INSERT. One statement at a time, as the booking app sends
    them: BEGIN and COMMIT, ten statements, twelve waits for the database.

    `pipelined`: the same statements in three waits, as few as the bare INSERT's (BEGIN,
    INSERT, COMMIT), with psycopg's pipeline mode: BEGIN and the three reads; the lock and the
    recheck under it (each statement still gets its own snapshot, so the recheck sees what
    committed while it waited for the lock); the writes and COMMIT. It measures no faster
    than one at a time, with the same CPU per request on both sides of the connection:
    psycopg still sends each statement on its own, and the floor is the statements' own work.
    """
    import contextlib
    import hashlib
    import secrets
    from datetime import UTC, datetime, timedelta

    import psycopg
    from psycopg.types.json import Jsonb

    app = Flask("booking-sql")
    service_columns, staff_columns, appointment_columns = _booking_columns()
    service_sql = _service_statement(service_columns, staff_columns)
    insert_sql = _insert_statement(appointment_columns)
    # Where each column is in the service statement's rows.
    service_at = {name: n for n, name in enumerate(service_columns)}
    staff_at = {name: len(service_columns) + n for n, name in enumerate(staff_columns)}
    url = sa.make_url(os.environ["FRONTDESK_BENCH_BOOKING_SQL_URL"])  # psycopg's: no +driver
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connections: dict[int, psycopg.Connection] = {}  # one per worker process (sync workers)

    def connection() -> psycopg.Connection:
        conn = connections.get(os.getpid())
        if conn is None or conn.closed:
            conn = connections[os.getpid()] = psycopg.connect(conninfo)
        return conn

    def batch(conn: psycopg.Connection, *statements: tuple[str, Any]) -> list[psycopg.Cursor]:
        """Run statements in order; pipelined, the first fetch waits for them all at once."""
        cursors = [conn.cursor() for _ in statements]
        for cursor, (sql, params) in zip(cursors, statements, strict=True):
            cursor.execute(sql, params)
        return cursors

    def slot_taken():
        return jsonify({"code": "slot_taken"}), 409

    @app.get("/health")
    def health():
        return jsonify({"ok": True})

    @app.post("/api/v1/appointments")
    def book():
        body = request.get_json()
        start = datetime.fromisoformat(body["start"])
        email = body["client"]["email"]
        now = datetime.now(UTC)
        conn = connection()
        # Read in the booking's own transaction, as the booking app does (no cache on a write).
        staff = conn.execute(service_sql, (body["service_id"],)).fetchall()
        service = staff[0]
        service_id = service[service_at["id"]]
        end = start + timedelta(minutes=service[service_at["duration_minutes"]])
        ids = [row[staff_at["id"]] for row in staff if row[staff_at["active"]]]
        day = start.date()
        taken_params = {"ids": ids, "lo": start, "hi": end, "reach": start - timedelta(days=7)}
        try:
            with conn.pipeline() if pipelined else contextlib.nullcontext():
                _, working, taken = batch(
                    conn,
                    (
                        _CAP,
                        {"since": now - timedelta(days=1), "email": email.lower(), "phone": None},
                    ),
                    (_WORKING_TIME, {"ids": ids, "first": day, "last": day}),
                    (_TAKEN, taken_params),
                )
                working, busy = working.fetchall(), {row[0] for row in taken.fetchall()}
                weekday = start.weekday()
                free = [
                    staff_id
                    for staff_id in ids
                    if staff_id not in busy
                    and any(
                        row[0] == staff_id
                        and row[1] == weekday
                        and row[4] <= start.time()
                        and end.time() <= row[5]
                        for row in working
                    )
                ]
                if not free:
                    conn.rollback()
                    return slot_taken()
                chosen = free[0]
                _, recheck = batch(
                    conn, (_LOCK, ([chosen],)), (_TAKEN, {**taken_params, "ids": [chosen]})
                )
                if recheck.fetchall():
                    conn.rollback()
                    return slot_taken()
                uid = f"{secrets.token_hex(16)}@frontdesk"
                token = secrets.token_urlsafe(32)
                member = next(row for row in staff if row[staff_at["id"]] == chosen)
                appointment = dict.fromkeys(appointment_columns)
                appointment.update(
                    uid=uid,
                    service_id=service_id,
                    staff_id=chosen,
                    start=start,
                    end=end,
                    blocked_start=start,
                    blocked_end=end,
                    exclusive=True,
                    status="confirmed",
                    mode=body["mode"],
                    video_url=member[staff_at["video_link_template"]],
                    client_name=body["client"]["name"],
                    client_email=email,
                    client_email_key=email.lower(),
                    notify_by="email",
                    client_language=body["client"].get("language") or "en",
                    client_time_zone=member[staff_at["time_zone"]],
                    backup_callback_number=body["backup"].get("callback_number"),
                    backup_use_dial_in=False,
                    accommodation_captions=False,
                    sequence=0,
                    manage_token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    created_at=now,
                    updated_at=now,
                )
                (inserted,) = batch(conn, (insert_sql, appointment))
                # The new id as SQL (pipelined) or as the first parameter of the writes.
                new_id, first = (_NEW_ID, ()) if pipelined else ("%s", inserted.fetchone())
                details = {"start": body["start"], "staff_id": chosen, "mode": body["mode"]}
                state = {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "sequence": 0,
                    "cancelled": False,
                    "stamp": now.isoformat(),
                }
                offsets = service[service_at["reminder_offsets_minutes"]] or []
                intents = [
                    (
                        "notify.client",
                        {"template": "booking_confirmation", "state": state, "extra": {}},
                    ),
                    ("notify.staff", {"event": "booked", "state": state}),
                    *(
                        (
                            "notify.reminder",
                            {
                                "send_at": (start - timedelta(minutes=offset)).isoformat(),
                                "offset_minutes": offset,
                                "state": state,
                            },
                        )
                        for offset in sorted(set(offsets), reverse=True)
                        if start - timedelta(minutes=offset) > now + timedelta(minutes=1)
                    ),
                ]
                batch(
                    conn,
                    (_BUMP, {"staff": chosen, "now": now.replace(microsecond=0)}),
                    (_EVENT % {"id": new_id}, (*first, now, Jsonb(details))),
                )
                conn.cursor().executemany(
                    _OUTBOX % {"id": new_id},
                    [
                        (*first, kind, Jsonb(payload), f"booking-{secrets.token_hex(16)}", now, now)
                        for kind, payload in intents
                    ],
                )
                conn.commit()
                appointment_id = (inserted.fetchone() if pipelined else first)[0]
        except psycopg.errors.ExclusionViolation:
            conn.rollback()
            return slot_taken()
        except Exception:
            conn.rollback()
            raise
        return jsonify({"id": appointment_id, "manage_token": token}), 201

    return app
