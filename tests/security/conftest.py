"""Builders for the abuse tests: a bookable service, a booking's manage token, a staff feed,
a signing link and a record download link, made through the operations and the services' routes.

Every test starts with no rate-limit hits counted (tests/conftest.py's `apps` resets them).
"""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from abuse_builders import FORM, address, at, booking_body, next_monday

from services.booking.operations import catalog, feeds
from shared import db as shared_db


@pytest.fixture
def service(booking_app):
    """A bookable service: one staff member, Monday to Friday 9-17 Toronto, 30-minute sessions."""
    with shared_db.get_db(booking_app).transaction() as session:
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
        made = catalog.create_service(
            session=session,
            staff_ids=[staff.id],
            name="Settlement intake",
            slug="intake",
            duration_minutes=30,
            modes=["video", "phone"],
            horizon_days=60,
        )
        return {"id": made.id, "staff_id": staff.id}


@pytest.fixture
def book_api(booking_app, service):
    """book_api(hour, number=0, **client) -> the 201 body of a booking through the public API."""

    def book(hour: int, number: int = 0, minute: int = 0, **client: Any) -> dict:
        body = booking_body(service["id"], at(next_monday(), hour, minute), **client)
        response = booking_app.test_client().post(
            "/api/v1/appointments", json=body, environ_base=address(number)
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return book


@pytest.fixture
def feed_token(booking_app, service) -> str:
    with shared_db.get_db(booking_app).transaction() as session:
        staff = catalog.get_staff(session=session, staff_id=service["staff_id"])
        return feeds.issue_token(session=session, staff=staff)


@pytest.fixture
def consent_admin(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('consent', 'admin')}"}


@pytest.fixture
def make_signing_link(consent_app, consent_admin):
    """make_signing_link() -> (request id, signing token) of a new consent request."""
    client = consent_app.test_client()
    template = client.post("/api/v1/templates", json=FORM, headers=consent_admin)
    assert template.status_code == 201, template.get_json()
    template_id = template.get_json()["id"]

    def make() -> tuple[int, str]:
        created = client.post(
            "/api/v1/requests",
            json={
                "template_id": template_id,
                "client_name": "Ana Souza",
                "client_email": "ana@example.org",
                "timezone": "America/Toronto",
                "send": False,
            },
            headers=consent_admin,
        )
        assert created.status_code == 201, created.get_json()
        body = created.get_json()
        return body["id"], body["signing_url"].rsplit("/", 1)[1]

    return make
