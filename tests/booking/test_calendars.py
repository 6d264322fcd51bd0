"""External calendars as busy time: fetched from a real local HTTP server, expanded, honoured."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from services.booking.models import MAX_HORIZON_DAYS, BusyBlock, ExternalCalendar
from services.booking.operations import availability, calendars, feeds
from services.booking.workers import WORKERS
from shared import db as shared_db
from shared.workers import step_on

TORONTO = ZoneInfo("America/Toronto")


class CalendarServer:
    """A real HTTP server in a thread serving one ICS body, honouring If-None-Match."""

    def __init__(self) -> None:
        self.body = b""
        self.etag: str | None = None
        self.status = 200
        self.send_length = True
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(dict(self.headers))
                if server.etag and self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(server.status)
                self.send_header("Content-Type", "text/calendar")
                if server.etag:
                    self.send_header("ETag", server.etag)
                if server.send_length:
                    self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/secret/basic.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def calendar_server():
    server = CalendarServer()
    yield server
    server.close()


@pytest.fixture
def private_allowed(booking_app):
    booking_app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    yield
    booking_app.config["ALLOW_PRIVATE_WEBHOOKS"] = False


def next_dst_change(zone: ZoneInfo, after: date) -> date:
    """The first local date after `after` whose UTC offset differs from the day before."""
    day = after
    while True:
        noon = datetime.combine(day, time(12), tzinfo=zone)
        if noon.utcoffset() != (noon - timedelta(days=1)).utcoffset():
            return day
        day += timedelta(days=1)


def stamp(day: date, hour: int) -> str:
    return f"{day:%Y%m%d}T{hour:02d}0000"


def weekly_ics(first: date, *, exdate: date, moved: date) -> bytes:
    """Every Tuesday 10:00-11:00 Toronto time, five times, one EXDATE, one instance moved."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Test//Staff calendar//EN",
        "BEGIN:VEVENT",
        "UID:weekly-supervision@example.org",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=America/Toronto:{stamp(first, 10)}",
        f"DTEND;TZID=America/Toronto:{stamp(first, 11)}",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        f"EXDATE;TZID=America/Toronto:{stamp(exdate, 10)}",
        "SUMMARY:Supervision",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly-supervision@example.org",
        "DTSTAMP:20260101T000000Z",
        f"RECURRENCE-ID;TZID=America/Toronto:{stamp(moved, 10)}",
        f"DTSTART;TZID=America/Toronto:{stamp(moved, 14)}",
        f"DTEND;TZID=America/Toronto:{stamp(moved, 15)}",
        "SUMMARY:Supervision (moved)",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:lunch-free@example.org",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=America/Toronto:{stamp(first, 12)}",
        f"DTEND;TZID=America/Toronto:{stamp(first, 13)}",
        "TRANSP:TRANSPARENT",
        "SUMMARY:Free lunch",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TORONTO).astimezone(UTC)


def blocks_of(app, calendar_id: int) -> list[tuple[datetime, datetime]]:
    """The calendar's busy blocks, read in a short transaction of their own."""
    with shared_db.get_db(app).transaction() as reader:
        return [
            (b.start, b.end)
            for b in reader.scalars(
                sa.select(BusyBlock)
                .where(BusyBlock.source == calendars.source_of(calendar_id))
                .order_by(BusyBlock.start)
            )
        ]


def row_of(app, calendar_id: int) -> ExternalCalendar:
    """The calendar as the worker left it (SQLite: no transaction is left open)."""
    with shared_db.get_db(app).transaction() as reader:
        return reader.get(ExternalCalendar, calendar_id)


def refresh_due(app, session, now: datetime) -> int:
    """One worker round at `now`, with the test's session out of the way."""
    session.commit()
    return step_on(app, calendars.refresh_step, now=now)


def add_calendar(session, staff, url: str, now: datetime) -> ExternalCalendar:
    calendar = calendars.add_calendar(
        session=session, staff=staff, url=url, allow_private=True, public_url="", now=now
    )
    session.commit()
    return calendar


@pytest.fixture
def dst_week():
    """(now, first Tuesday, DST change date): a clock three weeks before the next DST change."""
    change = next_dst_change(TORONTO, datetime.now(UTC).date() + timedelta(days=7))
    first = change - timedelta(days=(change.weekday() - 1) % 7 + 7)  # two Tuesdays before
    now = datetime.combine(first - timedelta(days=7), time(12), tzinfo=UTC)
    return now, first, change


def test_weekly_rrule_across_dst_with_exdate_and_override_gives_exact_blocks_and_slots(
    booking_app, session, make_service, calendar_server, private_allowed, dst_week
):
    now, first, change = dst_week
    tuesdays = [first + timedelta(weeks=n) for n in range(5)]
    assert tuesdays[1] < change < tuesdays[2]  # the series crosses the DST change
    calendar_server.body = weekly_ics(first, exdate=tuesdays[3], moved=tuesdays[4])
    calendar_server.etag = '"v1"'
    service = make_service(horizon_days=120, min_notice_minutes=0, buffer_after_minutes=0)
    staff = service.staff[0]
    calendar = add_calendar(session, staff, calendar_server.url, now)

    assert refresh_due(booking_app, session, now) == 1
    expected = [
        (local(tuesdays[0], 10), local(tuesdays[0], 11)),
        (local(tuesdays[1], 10), local(tuesdays[1], 11)),
        (local(tuesdays[2], 10), local(tuesdays[2], 11)),
        (local(tuesdays[4], 14), local(tuesdays[4], 15)),
    ]
    assert blocks_of(booking_app, calendar.id) == expected
    # The wall-clock time stays 10:00, so the UTC time moves by the DST shift.
    assert expected[1][0].hour != expected[2][0].hour
    row = row_of(booking_app, calendar.id)
    assert (row.last_error, row.busy_count, row.etag) == (None, 4, '"v1"')

    slots = availability.search_slots(
        session=session,
        service=service,
        start_date=tuesdays[0],
        end_date=tuesdays[4],
        tz="America/Toronto",
        now=now,
    )
    starts = {slot.start for slot in slots}
    duration = timedelta(minutes=service.duration_minutes)
    for busy_start, busy_end in expected:
        assert not [s for s in starts if s < busy_end and s + duration > busy_start]
    for day in tuesdays[:3]:
        assert local(day, 9) in starts and local(day, 11) in starts and local(day, 14) in starts
    assert local(tuesdays[3], 10) in starts  # the EXDATE: free
    assert local(tuesdays[4], 10) in starts  # the moved instance left 10:00 free
    assert local(tuesdays[0], 12) in starts  # the transparent event does not block


def test_unchanged_calendar_is_revalidated_with_its_etag(
    booking_app, session, make_staff, calendar_server, private_allowed, dst_week
):
    now, first, _ = dst_week
    calendar_server.body = weekly_ics(first, exdate=first, moved=first + timedelta(weeks=1))
    calendar_server.etag = '"v1"'
    calendar = add_calendar(session, make_staff(), calendar_server.url, now)
    refresh_due(booking_app, session, now)
    before = blocks_of(booking_app, calendar.id)
    later = now + calendars.FETCH_INTERVAL
    assert refresh_due(booking_app, session, later) == 1
    assert calendar_server.requests[-1].get("If-None-Match") == '"v1"'
    assert blocks_of(booking_app, calendar.id) == before
    row = row_of(booking_app, calendar.id)
    assert row.last_ok_at == later and row.last_error is None
    # Not due again before the interval is over.
    assert refresh_due(booking_app, session, later + timedelta(minutes=1)) == 0


@pytest.mark.parametrize(
    "body, error",
    [
        (b"<html><body>Sign in to Google</body></html>", "Not a readable iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2027XXXX\r\n", "Not a readable iCalendar"),
    ],
)
def test_malformed_calendar_records_its_error_and_keeps_the_last_good_blocks(
    booking_app, session, make_staff, calendar_server, private_allowed, dst_week, body, error
):
    now, first, _ = dst_week
    calendar_server.body = weekly_ics(first, exdate=first, moved=first + timedelta(weeks=1))
    calendar = add_calendar(session, make_staff(), calendar_server.url, now)
    refresh_due(booking_app, session, now)
    good = blocks_of(booking_app, calendar.id)
    assert len(good) == 4
    calendar_server.body = body
    refresh_due(booking_app, session, now + calendars.FETCH_INTERVAL)
    assert blocks_of(booking_app, calendar.id) == good
    row = row_of(booking_app, calendar.id)
    assert row.last_error.startswith(error)
    assert calendar_server.url not in row.last_error


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "streamed"])
def test_oversized_calendar_is_refused_with_an_error(
    booking_app, session, make_staff, calendar_server, private_allowed, dst_week, send_length
):
    now, _, _ = dst_week
    calendar_server.body = b"BEGIN:VCALENDAR\r\n" + b"X" * calendars.MAX_ICS_BYTES
    calendar_server.send_length = send_length
    calendar = add_calendar(session, make_staff(), calendar_server.url, now)
    refresh_due(booking_app, session, now)
    row = row_of(booking_app, calendar.id)
    assert "larger than 5 MB" in row.last_error
    assert row.last_ok_at is None and blocks_of(booking_app, calendar.id) == []


def test_unreachable_calendar_keeps_the_last_good_blocks(
    booking_app, session, make_staff, calendar_server, private_allowed, dst_week
):
    now, first, _ = dst_week
    calendar_server.body = weekly_ics(first, exdate=first, moved=first + timedelta(weeks=1))
    calendar = add_calendar(session, make_staff(), calendar_server.url, now)
    refresh_due(booking_app, session, now)
    good = blocks_of(booking_app, calendar.id)
    calendar_server.close()  # nothing listens there any more
    later = now + calendars.FETCH_INTERVAL
    refresh_due(booking_app, session, later)
    row = row_of(booking_app, calendar.id)
    assert row.last_error.startswith("The calendar could not be reached")
    assert row.last_fetched_at == later and row.last_ok_at == now
    assert blocks_of(booking_app, calendar.id) == good
    calendar_server.httpd = _Closed()


class _Closed:
    """Stands in for a server already shut down (the fixture's teardown calls these)."""

    def shutdown(self):
        pass

    def server_close(self):
        pass


def test_a_worker_round_survives_a_calendar_that_never_answers(booking_app, session, make_staff):
    # A port nobody listens on, and the worker is run as `frontdesk worker calendars` runs it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    booking_app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    try:
        calendar = add_calendar(
            session, make_staff(), f"http://127.0.0.1:{port}/x.ics", datetime.now(UTC)
        )
        stop = threading.Event()
        worker = threading.Thread(target=WORKERS["calendars"].run, args=(booking_app, stop))
        worker.start()
        try:
            for _ in range(100):
                error = row_of(booking_app, calendar.id).last_error
                if error:
                    break
                stop.wait(0.05)
        finally:
            stop.set()
            worker.join(timeout=10)
    finally:
        booking_app.config["ALLOW_PRIVATE_WEBHOOKS"] = False
    assert not worker.is_alive()
    assert "could not be reached" in row_of(booking_app, calendar.id).last_error


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_calendar_api_validates_urls_and_never_shows_the_secret(
    booking_app, make_staff, make_token, session
):
    staff = make_staff()
    other = make_staff(name="Diego Ruiz", email="diego@maple.example")
    client = booking_app.test_client()
    headers = auth(make_token("booking", "staff", staff_id=staff.id))
    path = f"/api/v1/staff/{staff.id}/calendars"
    for url in (
        "ftp://calendar.example.org/x.ics",
        "http://127.0.0.1/x.ics",
        "https://localhost/x.ics",
        "http://10.1.2.3/x.ics",
        "http://[::1]/x.ics",
        "http://frontdesk.test/booking/feeds/fdf_" + "A" * 43 + ".ics",
        "not a url",
        "http://[::1/x.ics",
    ):
        response = client.post(path, json={"url": url}, headers=headers)
        assert response.status_code == 422, url
        assert "url" in response.get_json()["errors"]
    secret = "webcal://calendar.example.org/calendar/ical/abc%40example.org/private-f00d/basic.ics"
    response = client.post(path, json={"url": secret, "name": "Personal"}, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert created["url_hint"] == "https://calendar.example.org/…"
    assert "private-f00d" not in response.get_data(as_text=True)
    stored = row_of(booking_app, created["id"]).url
    assert stored.startswith("https://calendar.example.org/calendar/ical/")
    listed = client.get(path, headers=headers).get_json()
    assert [c["id"] for c in listed] == [created["id"]]
    assert listed[0]["last_error"] is None and listed[0]["busy_count"] == 0
    # Another staff member's calendars are a 404, not a 403.
    assert client.get(f"/api/v1/staff/{other.id}/calendars", headers=headers).status_code == 404
    item = f"{path}/{created['id']}"
    assert client.delete(f"/api/v1/staff/{other.id}/calendars/{created['id']}").status_code == 401
    session.add(
        BusyBlock(
            staff_id=staff.id,
            start=datetime.now(UTC),
            end=datetime.now(UTC) + timedelta(hours=1),
            source=calendars.source_of(created["id"]),
        )
    )
    session.commit()
    assert client.delete(item, headers=headers).status_code == 204
    assert client.delete(item, headers=headers).status_code == 404
    assert blocks_of(booking_app, created["id"]) == []


def test_calendar_is_fetched_whole_again_when_its_expansion_gets_old(
    booking_app, session, make_staff, calendar_server, private_allowed, dst_week
):
    # A 304 keeps the blocks, but the expansion window moves with time: after REEXPAND_AFTER
    # the body is fetched unconditionally and expanded from the new "now".
    now, first, _ = dst_week
    calendar_server.body = weekly_ics(first, exdate=first, moved=first + timedelta(weeks=1))
    calendar_server.etag = '"v1"'
    calendar = add_calendar(session, make_staff(), calendar_server.url, now)
    refresh_due(booking_app, session, now)
    before = blocks_of(booking_app, calendar.id)
    assert len(before) == 4
    later = now + calendars.REEXPAND_AFTER + timedelta(days=15)  # some occurrences are past
    refresh_due(booking_app, session, later)
    assert "If-None-Match" not in calendar_server.requests[-1]
    window_start = later - calendars.BUSY_PAST
    expected = [(max(start, window_start), end) for start, end in before if end > window_start]
    assert 0 < len(expected) < len(before)
    assert blocks_of(booking_app, calendar.id) == expected
    row = row_of(booking_app, calendar.id)
    assert row.expanded_at == later and row.busy_count == len(expected)


def test_a_failing_calendar_shows_on_the_staff_record(
    booking_app, session, make_staff, make_token, calendar_server, private_allowed, dst_week
):
    now, first, _ = dst_week
    staff = make_staff()
    calendar_server.body = weekly_ics(first, exdate=first, moved=first + timedelta(weeks=1))
    calendar = add_calendar(session, staff, calendar_server.url, now)
    refresh_due(booking_app, session, now)
    client = booking_app.test_client()
    own = {"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=staff.id)}"}
    assert (
        client.get(f"/api/v1/staff/{staff.id}", headers=own).get_json()["calendar_problems"] == []
    )
    calendar_server.body = b"<html><body>Sign in to Google</body></html>"
    later = now + calendars.FETCH_INTERVAL
    refresh_due(booking_app, session, later)
    record = client.get(f"/api/v1/staff/{staff.id}", headers=own).get_json()
    [problem] = record["calendar_problems"]
    assert problem["calendar_id"] == calendar.id
    assert problem["error"].startswith("Not a readable iCalendar file")
    assert problem["last_ok_at"] is not None and problem["last_fetched_at"] is not None
    assert calendar_server.url not in str(record)
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    listed = client.get("/api/v1/staff", headers=admin).get_json()
    assert [s["calendar_problems"] for s in listed] == [record["calendar_problems"]]


def one_event_ics(day: date, first_hour: int, last_hour: int) -> bytes:
    """A calendar with one busy event on `day`, Toronto time."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Test//Staff calendar//EN",
        "BEGIN:VEVENT",
        "UID:far-away-training@example.org",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=America/Toronto:{stamp(day, first_hour)}",
        f"DTEND;TZID=America/Toronto:{stamp(day, last_hour)}",
        "SUMMARY:Training",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_booking_at_the_longest_horizon_is_refused_in_busy_time_and_reaches_the_staff_feed(
    booking_app, session, make_service, booking_body, calendar_server, private_allowed
):
    service = make_service(
        horizon_days=MAX_HORIZON_DAYS, min_notice_minutes=0, buffer_after_minutes=0
    )
    staff = service.staff[0]
    now = datetime.now(UTC)
    edge = (now + timedelta(days=MAX_HORIZON_DAYS - 1)).astimezone(TORONTO).date()
    edge -= timedelta(days=max(0, edge.weekday() - 4))  # the last working day in the horizon
    calendar_server.body = one_event_ics(edge, 10, 12)
    calendar = add_calendar(session, staff, calendar_server.url, now)
    assert refresh_due(booking_app, session, now) == 1
    assert blocks_of(booking_app, calendar.id) == [(local(edge, 10), local(edge, 12))]

    starts = {
        slot.start
        for slot in availability.search_slots(
            session=session,
            service=service,
            start_date=edge,
            end_date=edge,
            tz="America/Toronto",
            now=now,
        )
    }
    assert local(edge, 11) not in starts and local(edge, 14) in starts
    session.commit()  # SQLite: the API's transactions wait for no test transaction
    client = booking_app.test_client()
    refused = client.post("/api/v1/appointments", json=booking_body(service.id, local(edge, 11)))
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["code"] == "outside_availability"
    booked = client.post("/api/v1/appointments", json=booking_body(service.id, local(edge, 14)))
    assert booked.status_code == 201, booked.get_json()

    token = feeds.issue_token(session=session, staff=staff)
    session.commit()
    feed = client.get(f"/feeds/{token}.ics")
    assert feed.status_code == 200
    uids = {str(event["UID"]) for event in Calendar.from_ical(feed.data).walk("VEVENT")}
    assert booked.get_json()["appointment"]["uid"] in uids
