"""Builders for booking tests: staff, services with weekly availability, bookings."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from services.booking.models import Appointment
from services.booking.operations import appointments, catalog
from shared import db as shared_db
from shared import testing

WEEKDAYS = range(5)


def _next_weekday(weekday: int = 0, *, weeks_ahead: int = 1) -> date:
    """A date on `weekday` (0 = Monday) at least `weeks_ahead` weeks from today."""
    today = datetime.now(UTC).date() + timedelta(weeks=weeks_ahead)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _at(day: date, hour: int, minute: int = 0, zone: str = "America/Toronto") -> datetime:
    """A wall-clock time on a date in a zone, as UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.fixture
def session(booking_app) -> Iterator[Session]:
    """A booking session; builders commit what they make so the API sees it at once."""
    with shared_db.get_db(booking_app).transaction() as session:
        yield session


@pytest.fixture
def make_staff(session):
    """make_staff(**overrides) -> Staff with Mon-Fri 09:00-17:00 in their zone (unless rules=...)."""

    def make(rules: list[dict[str, Any]] | None = None, **overrides: Any):
        fields = {
            "name": "Amira Haddad",
            "email": "amira@maple.example",
            "time_zone": "America/Toronto",
            "languages": ["en", "ar", "fr"],
            "video_link_template": "https://meet.example.org/amira",
            "dial_in": "+14165550100",
        }
        fields.update(overrides)
        staff = catalog.create_staff(session=session, **fields)
        if rules is None:
            rules = [{"weekday": d, "start_time": time(9), "end_time": time(17)} for d in WEEKDAYS]
        catalog.replace_rules(session=session, staff=staff, rules=rules)
        session.commit()
        return staff

    return make


@pytest.fixture
def make_service(session, make_staff):
    """make_service(staff=None, **overrides) -> Service (a new default staff member if none)."""
    counter = iter(range(1, 1000))

    def make(staff=None, **overrides: Any):
        staff = staff if staff is not None else [make_staff()]
        number = next(counter)
        fields = {
            "name": f"Settlement intake {number}",
            "slug": f"intake-{number}",
            "duration_minutes": 45,
            "modes": ["video", "phone"],
            "buffer_after_minutes": 10,
            "min_notice_minutes": 120,
            "horizon_days": 60,
            "slot_step_minutes": 15,
            "resources": [{"title": "Bring your documents", "url": None, "text": "ID, PR card"}],
        }
        fields.update(overrides)
        service = catalog.create_service(session=session, staff_ids=[s.id for s in staff], **fields)
        session.commit()
        return service

    return make


CLIENT = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "phone": "+14165550123",
    "language": "fr",
    "time_zone": "America/Toronto",
}


@pytest.fixture
def book(session, booking_app):
    """book(service, start, **overrides) -> Booked, through the operation."""

    def make(service, start, **overrides: Any):
        kwargs = {
            "session": session,
            "service": service,
            "start": start,
            "mode": "video",
            "client": dict(CLIENT),
            "backup": {"callback_number": "+14165550123", "use_dial_in": True},
            "secret": booking_app.config["SECRET_KEY"],
        }
        kwargs.update(overrides)
        booked = appointments.book(**kwargs)
        session.commit()
        return booked

    return make


def move_to_started(session: Session, appointment_id: int) -> None:
    """Move an appointment (and its blocked time) so that it began an hour ago."""
    appointment = session.get(Appointment, appointment_id)
    shift = appointment.start - (datetime.now(UTC) - timedelta(hours=1))
    for name in ("start", "end", "blocked_start", "blocked_end"):
        setattr(appointment, name, getattr(appointment, name) - shift)


@pytest.fixture
def started(booking_app):
    """started(appointment_id): the appointment began an hour ago (staff may complete it)."""

    def move(appointment_id: int) -> None:
        with shared_db.get_db(booking_app).transaction() as session:
            move_to_started(session, appointment_id)

    return move


def _booking_body(service_id: int, start: datetime, **overrides: Any) -> dict[str, Any]:
    """A POST /api/v1/appointments body."""
    body = {
        "service_id": service_id,
        "start": start.isoformat().replace("+00:00", "Z"),
        "mode": "video",
        "client": dict(CLIENT),
        "backup": {"callback_number": "+1 416 555 0123", "use_dial_in": True},
        "accommodations": {"captions": True, "interpreter_language": "Portuguese"},
        "client_notes": "First visit",
    }
    body.update(overrides)
    return body


@pytest.fixture
def next_weekday():
    """next_weekday(weekday=0, weeks_ahead=1) -> a date on that weekday, weeks from now."""
    return _next_weekday


@pytest.fixture
def at():
    """at(day, hour, minute=0, zone='America/Toronto') -> that wall-clock time as UTC."""
    return _at


@pytest.fixture
def booking_body():
    """booking_body(service_id, start, **overrides) -> a POST /api/v1/appointments body."""
    return _booking_body


@pytest.fixture
def smtp_sink():
    """A real aiosmtpd server on a free port (the shared fixture's port 0 cannot be probed by
    aiosmtpd's Controller, so the port is chosen first)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = testing.SmtpSink(port=port)
    controller = Controller(sink, hostname=sink.host, port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
