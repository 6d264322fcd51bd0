"""Builders for the personal-data tests: one client's story across the three in-process apps.

The story goes through the services' own REST routes and workers: a consent form, a service
that requires it, two bookings of the client (one completed with billing, one still to come),
one booking of somebody else, booking's outbox delivered to consent and notify, the consent
signed by link and a download link made for the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from privacy_story import (
    ANA,
    EMAIL,
    NAME,
    OMAR,
    OTHER_EMAIL,
    OTHER_NAME,
    OTHER_PHONE,
    PHONE,
    at_local,
    dispatch,
    monday,
)

from services.booking.models import Appointment, AppointmentConsent
from services.booking.operations import catalog
from services.console.operations.privacy import SERVICES
from shared import db as shared_db
from shared.http import ServiceClient, client_for

CONSENT_FORM = {
    "name": "Session recording",
    "locales": {
        "en": {
            "title": "Session recording",
            "body": "We would like to record this session.",
            "checkboxes": {"recording": "I agree to the recording"},
        }
    },
    "checkboxes": [{"key": "recording", "required": True}],
}


@dataclass
class Story:
    """What the story made: ids, tokens and the appointments per client."""

    service_id: int
    staff_id: int
    template_id: int
    appointments: dict[str, list[int]] = field(default_factory=dict)
    manage_tokens: list[str] = field(default_factory=list)
    consent_request_id: int | None = None
    download_url: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def privacy_clients(apps) -> dict:
    """Clients for the three services through the in-process suite, with the service token."""
    clients = {name: client_for(apps["booking"].config, name, ServiceClient) for name in SERVICES}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def billing(booking_app):
    """Completing a session sends a billing email (a message about the client to someone else)."""
    previous = booking_app.config.get("BILLING_EMAIL")
    booking_app.config["BILLING_EMAIL"] = "billing@maple.example"
    yield
    booking_app.config["BILLING_EMAIL"] = previous


def _book(client, service_id: int, start: datetime, who: dict[str, Any]) -> dict:
    body = {
        "service_id": service_id,
        "start": start.isoformat().replace("+00:00", "Z"),
        "mode": "video",
        "client": {
            "name": who["name"],
            "email": who["email"],
            "phone": who["phone"],
            "language": "en",
            "time_zone": "America/Toronto",
        },
        "backup": {"callback_number": who["phone"], "use_dial_in": True},
        "accommodations": {"captions": True, "interpreter_language": who["interpreter"]},
        "client_notes": who["notes"],
    }
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def story(apps, make_token, billing) -> Story:
    """The client's story across the suite (see the module docstring)."""
    booking, consent = apps["booking"].test_client(), apps["consent"].test_client()
    admin = {name: make_token(name) for name in SERVICES}
    consent_admin = {"Authorization": f"Bearer {admin['consent']}"}
    template = consent.post("/api/v1/templates", json=CONSENT_FORM, headers=consent_admin)
    assert template.status_code == 201, template.get_json()
    template_id = template.get_json()["id"]
    with shared_db.get_db(apps["booking"]).transaction() as session:
        staff = catalog.create_staff(
            session=session,
            name="Amira Haddad",
            email="amira@maple.example",
            time_zone="America/Toronto",
            languages=["en"],
            video_link_template="https://meet.example.org/amira",
            dial_in="+14165550100",
        )
        catalog.replace_rules(
            session=session,
            staff=staff,
            rules=[{"weekday": d, "start_time": time(9), "end_time": time(17)} for d in range(5)],
        )
        service = catalog.create_service(
            session=session,
            staff_ids=[staff.id],
            name="Settlement intake",
            slug="intake",
            duration_minutes=45,
            modes=["video", "phone"],
            horizon_days=60,
            required_consent_template_ids=[template_id],
        )
        story = Story(service_id=service.id, staff_id=staff.id, template_id=template_id)
    first_monday = monday(2)
    ana = {**ANA, "name": NAME, "email": EMAIL, "phone": PHONE}
    omar = {**OMAR, "name": OTHER_NAME, "email": OTHER_EMAIL, "phone": OTHER_PHONE}
    for who, hour in ((ana, 10), (ana, 14), (omar, 11)):
        booked = _book(booking, story.service_id, at_local(first_monday, hour), who)
        story.appointments.setdefault(who["email"], []).append(booked["appointment"]["id"])
        if who is ana:
            story.manage_tokens.append(booked["manage_token"])
    dispatch(apps)
    first = story.appointments[EMAIL][0]
    with shared_db.get_db(apps["booking"]).transaction() as session:
        link = session.query(AppointmentConsent).filter_by(appointment_id=first).one()
        story.consent_request_id, signing_url = link.request_id, link.signing_url
    signed = consent.post(
        "/api/v1/sign/" + signing_url.rsplit("/", 1)[1],
        json={
            "typed_name": NAME,
            "disclosure_accepted": True,
            "checkboxes": {"recording": True},
            "timezone": "America/Toronto",
        },
    )
    assert signed.status_code == 200, signed.get_json()
    dispatch(apps)
    link = consent.post(
        f"/api/v1/requests/{story.consent_request_id}/download-links",
        json={"days": 7},
        headers=consent_admin,
    )
    assert link.status_code == 201, link.get_json()
    story.download_url = link.get_json()["url"]
    booking_admin = {"Authorization": f"Bearer {admin['booking']}"}
    with shared_db.get_db(apps["booking"]).transaction() as session:  # it took place
        appointment = session.get(Appointment, first)
        shift = appointment.start - (datetime.now(UTC) - timedelta(hours=1))
        for name in ("start", "end", "blocked_start", "blocked_end"):
            setattr(appointment, name, getattr(appointment, name) - shift)
    done = booking.post(
        f"/api/v1/appointments/{first}/complete",
        json={"outcome": "resolved", "notes": "Talked about her housing"},
        headers=booking_admin,
    )
    assert done.status_code == 200, done.get_json()
    dispatch(apps)
    story.tokens = admin
    return story
