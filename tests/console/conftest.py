"""Builders for console tests: staff in booking, appointments, and a browser-like client that
signs in through the emailed link (read from notify's outbox, as it would be mailed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

# Re-exported for tests written when these lived here; import them from console_builders.
from console_builders import csrf_of, link_path, local  # noqa: F401

from services.booking.operations import appointments, catalog
from services.console import outbox
from services.notify.models import Message
from shared import db as shared_db
from shared.workers import step_on

CLIENT = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "phone": "+14165550123",
    "language": "fr",
    "time_zone": "America/Toronto",
}


@pytest.fixture
def make_staff(booking_app):
    """make_staff(**overrides) -> the new staff member's id (Mon-Fri 09:00-17:00 in Toronto)."""
    counter = iter(range(1, 1000))

    def make(**overrides: Any) -> int:
        number = next(counter)
        fields = {
            "name": f"Staff {number}",
            "email": f"staff{number}@maple.example",
            "time_zone": "America/Toronto",
            "languages": ["en"],
            "video_link_template": "https://meet.example.org/room",
            "dial_in": "+14165550100",
            **overrides,
        }
        with shared_db.get_db(booking_app).transaction() as session:
            staff = catalog.create_staff(session=session, **fields)
            rules = [{"weekday": d, "start_time": time(0), "end_time": time(23)} for d in range(7)]
            catalog.replace_rules(session=session, staff=staff, rules=rules)
            return staff.id

    return make


@pytest.fixture
def book(booking_app):
    """book(staff_id, start, **overrides) -> appointment id, on a new service of that staff member."""
    counter = iter(range(1, 1000))

    def make(staff_id: int, start: datetime, **overrides: Any) -> int:
        number = next(counter)
        with shared_db.get_db(booking_app).transaction() as session:
            service = catalog.create_service(
                session=session,
                staff_ids=[staff_id],
                name=f"Settlement intake {number}",
                slug=f"console-intake-{number}",
                duration_minutes=45,
                modes=["video", "phone"],
                min_notice_minutes=0,
                horizon_days=400,
                slot_step_minutes=15,
            )
            kwargs = {
                "session": session,
                "service": service,
                "start": start,
                "mode": "video",
                "client": dict(CLIENT),
                "backup": {"callback_number": "+14165550123", "use_dial_in": False},
                "accommodations": {"captions": False, "interpreter_language": "Portuguese"},
                "secret": booking_app.config["SECRET_KEY"],
                **overrides,
            }
            return appointments.book(**kwargs).appointment.id

    return make


@pytest.fixture
def future_day() -> date:
    """A Wednesday two weeks ahead (bookable, never a DST change in Toronto's spring/fall)."""
    today = datetime.now(UTC).date() + timedelta(weeks=2)
    return today + timedelta(days=(2 - today.weekday()) % 7)


@pytest.fixture
def deliver(console_app) -> Callable[[], int]:
    """Run the console's outbox once (as its worker would)."""
    return lambda: step_on(console_app, outbox.dispatch)


@pytest.fixture
def emailed_links(notify_app) -> Callable[[str], list[str]]:
    """emailed_links(address) -> the console links notify holds for that address, oldest first."""

    def links(address: str) -> list[str]:
        with shared_db.get_db(notify_app).transaction() as session:
            rows = session.scalars(
                sa.select(Message).where(Message.recipient == address).order_by(Message.id)
            ).all()
            return [
                row.data["sign_in_url"]
                for row in rows
                if row.template in ("console_sign_in", "console_invitation")
            ]

    return links


@pytest.fixture
def sign_in(console_app, deliver, emailed_links):
    """sign_in(email) -> a test client of the console with a live session for that address."""

    def run(email: str, client=None):
        client = client or console_app.test_client()
        form = client.get("/sign-in")
        client.post("/sign-in", data={"email": email, "csrf_token": csrf_of(form.text)})
        deliver()
        path = link_path(emailed_links(email)[-1])
        page = client.get(path)
        assert page.status_code == 200, page.text
        done = client.post(path, data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 302, done.text
        return client

    return run
