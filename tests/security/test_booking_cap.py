"""A cap on bookings per client email address per 24 hours, in the operation, the API and the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa
from abuse_builders import address, at, booking_body, iso, next_monday

from services.booking.errors import AlreadyBooked, TooManyBookings
from services.booking.models import Appointment
from services.booking.operations import appointments, catalog
from shared import db as shared_db

CAP = 5
BACKUP = {"callback_number": "+14165550123", "use_dial_in": True}


@pytest.fixture
def session(booking_app):
    with shared_db.get_db(booking_app).transaction() as session:
        yield session


def book(session, booking_app, service_id, hour, email="ana@example.org", **overrides):
    kwargs = {
        "session": session,
        "service": catalog.get_service(session=session, service_id=service_id),
        "start": at(next_monday(), hour),
        "mode": "video",
        "client": {"name": "Ana Souza", "email": email},
        "backup": BACKUP,
        "secret": booking_app.config["SECRET_KEY"],
        "daily_cap": CAP,
    }
    kwargs.update(overrides)
    return appointments.book(**kwargs)


def test_sixth_booking_for_one_email_in_a_day_is_refused(session, booking_app, service):
    for hour in range(9, 9 + CAP):
        book(session, booking_app, service["id"], hour)
    with pytest.raises(TooManyBookings) as refused:
        book(session, booking_app, service["id"], 15)
    assert refused.value.code == "too_many_bookings" and refused.value.status == 429
    assert 0 < int(refused.value.headers["Retry-After"]) <= 24 * 3600 + 1


def test_cap_ignores_the_case_of_the_address_and_counts_cancelled_bookings(
    session, booking_app, service
):
    first = book(session, booking_app, service["id"], 9, email="Ana@Example.org")
    appointments.cancel(
        session=session, appointment=first.appointment, actor=appointments.CLIENT, reason=None
    )
    for hour in range(10, 10 + CAP - 1):
        book(session, booking_app, service["id"], hour, email="ana@example.org")
    with pytest.raises(TooManyBookings):
        book(session, booking_app, service["id"], 15, email="ANA@EXAMPLE.ORG")


def test_other_addresses_staff_and_a_later_day_are_not_capped(session, booking_app, service):
    for hour in range(9, 9 + CAP):
        book(session, booking_app, service["id"], hour)
    book(session, booking_app, service["id"], 15, email="omar@example.net")
    staff = appointments.Actor("staff", service["staff_id"])
    book(session, booking_app, service["id"], 16, actor=staff)
    tomorrow = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    later = at(next_monday(), 16) + timedelta(days=1)
    book(session, booking_app, service["id"], 16, start=later, now=tomorrow)


def test_without_a_cap_the_operation_books_freely(session, booking_app, service):
    for hour in range(9, 16):
        book(session, booking_app, service["id"], hour, daily_cap=0)


def test_api_answers_429_too_many_bookings_with_retry_after(booking_app, service):
    assert booking_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"] == CAP
    client = booking_app.test_client()
    for number, hour in enumerate(range(9, 9 + CAP)):
        body = booking_body(service["id"], at(next_monday(), hour))
        response = client.post("/api/v1/appointments", json=body, environ_base=address(number))
        assert response.status_code == 201, response.get_json()
    body = booking_body(service["id"], at(next_monday(), 15))
    refused = client.post("/api/v1/appointments", json=body, environ_base=address(50))
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "too_many_bookings"
    assert "ana@example.org" not in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


def test_the_cap_is_documented_in_the_openapi_document(booking_app):
    spec = booking_app.test_client().get("/openapi.json").get_json()
    assert "429" in spec["paths"]["/api/v1/appointments"]["post"]["responses"]


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'type="hidden" name="{name}" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else ""


def test_booking_page_explains_the_cap_kindly(booking_app, service):
    with shared_db.get_db(booking_app).transaction() as session:
        for hour in range(9, 9 + CAP):
            book(session, booking_app, service["id"], hour)
    client = booking_app.test_client()
    start = iso(at(next_monday(), 15))
    page = client.get(
        f"/intake?mode=video&tz=America/Toronto&day={next_monday()}&start={start}",
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    form = {
        name: _hidden(html, name)
        for name in ("csrf_token", "request_key", "mode", "tz", "start", "around")
    }
    form.update(
        name="Ana Souza",
        email="ana@example.org",
        phone="416 555 0123",
        backup="callback",
        callback_number="",
        language="en",
    )
    refused = client.post("/intake", data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 429
    shown = refused.get_data(as_text=True)
    assert "already has several bookings made today" in shown
    # No phone in the organization's profile here: the page never says "call us" without one.
    assert "Please try again tomorrow." in shown and "call us" not in shown
    assert 'id="details"' in shown  # the form is shown again, filled in


def test_the_cap_finds_one_address_without_reading_the_day(session, booking_app, service):
    """On a busy day every appointment was made in the last 24 hours, so the created_at index
    narrows nothing: the cap's count must go by the address (ix_appointments_client_email_key),
    or every booking would read the whole day's bookings."""
    staff_id = catalog.get_service(session=session, service_id=service["id"]).staff[0].id
    now = datetime.now(UTC)
    rows = []
    for n in range(3000):
        start = now + timedelta(days=1 + n // 16, minutes=30 * (n % 16))
        rows.append(
            {
                "uid": f"busy-{n}@frontdesk",
                "service_id": service["id"],
                "staff_id": staff_id,
                "start": start,
                "end": start + timedelta(minutes=30),
                "blocked_start": start,
                "blocked_end": start + timedelta(minutes=30),
                "exclusive": True,
                "status": "confirmed",
                "mode": "video",
                "client_name": "Client",
                "client_email": f"Client{n}@Example.org",
                "client_email_key": f"client{n}@example.org",
                "client_language": "en",
                "client_time_zone": "UTC",
                "backup_use_dial_in": True,
                "accommodation_captions": False,
                "sequence": 0,
                "created_at": now - timedelta(minutes=n % 600),
                "updated_at": now,
            }
        )
    session.execute(sa.insert(Appointment), rows)
    postgres = session.get_bind().dialect.name == "postgresql"
    session.execute(sa.text("ANALYZE appointments" if postgres else "ANALYZE"))
    # A client with an address and no phone number (a NULL parameter matches nothing).
    params = {"since": now - timedelta(days=1), "email": "client7@example.org", "phone": None}
    sent = []  # the cap's statement and parameters as the driver gets them

    def keep(_connection, _cursor, statement, parameters, *_args):
        sent.append((statement, parameters))

    connection = session.connection()
    sa.event.listen(connection, "before_cursor_execute", keep)
    try:
        made = session.scalars(appointments._MADE_SINCE, params).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", keep)
    assert len(made) == 1
    statement, parameters = sent[-1]
    explain = "EXPLAIN" if postgres else "EXPLAIN QUERY PLAN"
    plan = "\n".join(
        str(row[-1]) for row in connection.exec_driver_sql(f"{explain} {statement}", parameters)
    )
    assert "ix_appointments_client_email_key" in plan, plan


@pytest.mark.parametrize(
    "variants",
    [
        ["ana+1@example.org", '"ana"@example.org', "Ana+news@Example.ORG", "ANA@example.org"],
        ["ÉMILE@example.org", "émile@example.org", "Émile+2@example.org", '"émile"@example.org'],
    ],
    ids=["tags-quotes-case", "non-ascii-case"],
)
def test_cap_counts_tags_quotes_and_any_case_as_one_mailbox(
    session, booking_app, service, variants
):
    for hour, email in zip(range(9, 9 + CAP), [*variants, variants[0]], strict=True):
        book(session, booking_app, service["id"], hour, email=email)
    with pytest.raises(TooManyBookings):
        book(session, booking_app, service["id"], 15, email=variants[1])


def test_the_address_is_kept_as_typed_and_the_key_beside_it(session, booking_app, service):
    booked = book(session, booking_app, service["id"], 9, email='"Ana+Work"@Example.org')
    assert booked.appointment.client_email == '"Ana+Work"@Example.org'
    assert booked.appointment.client_email_key == "ana@example.org"


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("ana\u200b@example.org", "invisible"),
        ("ana@exa\u200dmple.org", "invisible"),
        ("ana@example.org\u202e", "invisible"),
        ("ana@[127.0.0.1]", "IP address"),
        ("ana@[192.168.1.10]", "IP address"),
        ("émile@example.org", "accents"),
    ],
)
def test_api_refuses_addresses_mail_cannot_or_should_not_go_to(booking_app, service, email, words):
    body = booking_body(service["id"], at(next_monday(), 10), email=email)
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert words in str(response.get_json()["errors"]["client"]["email"])


def test_non_ascii_local_parts_are_accepted_when_the_relay_speaks_smtputf8(booking_app, service):
    assert booking_app.config["SMTP_UTF8"] is False
    body = booking_body(service["id"], at(next_monday(), 10), email="émile@example.org")
    booking_app.config["SMTP_UTF8"] = True
    try:
        response = booking_app.test_client().post("/api/v1/appointments", json=body)
    finally:
        booking_app.config["SMTP_UTF8"] = False
    assert response.status_code == 201, response.get_json()


def test_notify_refuses_an_email_recipient_it_could_not_put_in_a_to_header(
    notify_app, service_token
):
    for to in ("émile@example.org", "ana@[10.0.0.1]", "ana\u2066@example.org"):
        body = {"channel": "email", "to": to, "subject": "Hello", "text": "Hello"}
        response = notify_app.test_client().post(
            "/api/v1/messages", json=body, headers={"Authorization": f"Bearer {service_token}"}
        )
        assert response.status_code == 422, (to, response.get_json())
        assert "to" in response.get_json()["errors"]


@pytest.fixture
def group(booking_app, service):
    """A group session of three seats, Mondays to Fridays with the same staff member."""
    with shared_db.get_db(booking_app).transaction() as session:
        made = catalog.create_service(
            session=session,
            staff_ids=[service["staff_id"]],
            name="Newcomers' circle",
            slug="circle",
            duration_minutes=60,
            modes=["video"],
            capacity=3,
            horizon_days=60,
        )
        return made.id


def test_one_client_cannot_take_two_seats_of_one_group_session(booking_app, group):
    client = booking_app.test_client()
    start = at(next_monday(), 10)
    first = client.post(
        "/api/v1/appointments", json=booking_body(group, start), environ_base=address(1)
    )
    assert first.status_code == 201, first.get_json()
    again = client.post(
        "/api/v1/appointments",
        json=booking_body(group, start, email="Ana+2@Example.org"),
        environ_base=address(2),
    )
    assert again.status_code == 409, again.get_json()
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["code"] == "already_booked"
    other = client.post(
        "/api/v1/appointments",
        json=booking_body(group, start, email="omar@example.net"),
        environ_base=address(3),
    )
    assert other.status_code == 201, other.get_json()
    later = client.post(
        "/api/v1/appointments",
        json=booking_body(group, at(next_monday(), 12)),
        environ_base=address(4),
    )
    assert later.status_code == 201, later.get_json()


def test_a_cancelled_seat_can_be_taken_again_by_the_same_client(
    session, booking_app, service, group
):
    start = at(next_monday(), 10)
    first = book(session, booking_app, group, 10, start=start)
    appointments.cancel(
        session=session, appointment=first.appointment, actor=appointments.CLIENT, reason=None
    )
    book(session, booking_app, group, 10, start=start)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("émile@example.org", "with accents or non-Latin letters before the @"),
        ("ana@[127.0.0.1]", "Please enter an email address like name@example.com."),
    ],
)
def test_booking_page_refuses_undeliverable_addresses_and_keeps_the_form(
    booking_app, service, email, message
):
    client = booking_app.test_client()
    start = iso(at(next_monday(), 15))
    page = client.get(
        f"/intake?mode=video&tz=America/Toronto&day={next_monday()}&start={start}",
        headers={"Accept": "text/html"},
    )
    html = page.get_data(as_text=True)
    form = {
        name: _hidden(html, name)
        for name in ("csrf_token", "request_key", "mode", "tz", "start", "around")
    }
    form.update(name="Émile Roy", email=email, phone="416 555 0123", backup="callback")
    refused = client.post("/intake", data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 422
    shown = unescape(refused.get_data(as_text=True))
    assert message in shown
    assert 'value="Émile Roy"' in shown


def test_a_client_cannot_move_into_a_group_session_they_already_hold_a_seat_of(
    session, booking_app, group
):
    ten = book(session, booking_app, group, 10, start=at(next_monday(), 10))
    noon = book(
        session, booking_app, group, 12, start=at(next_monday(), 12), email="Ana+x@example.org"
    )
    with pytest.raises(AlreadyBooked):
        appointments.reschedule(
            session=session,
            appointment=noon.appointment,
            start=ten.appointment.start,
            actor=appointments.CLIENT,
        )
    appointments.reschedule(  # to its own time again, or any other: fine
        session=session,
        appointment=noon.appointment,
        start=at(next_monday(), 14),
        actor=appointments.CLIENT,
    )
