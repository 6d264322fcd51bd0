"""Builders for consent tests: forms, requests, signed records, the real validators, and an
appointment booked through booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from consent_builders import ORIGIN, form_content

from services.consent.operations import forms, records, requests
from services.consent.operations.audit import Origin
from shared import db as shared_db


@pytest.fixture
def origin() -> Origin:
    return ORIGIN


@pytest.fixture
def settings(consent_app) -> records.RecordSettings:
    return records.RecordSettings.from_config(consent_app.config)


@pytest.fixture
def session(consent_app):
    """A session on consent's test database, committed at the end of the test body."""
    with shared_db.get_db(consent_app).transaction() as session:
        yield session


@pytest.fixture
def make_template(session):
    def make(name: str = "Recording", **overrides):
        return forms.create_template(session=session, name=name, content=form_content(**overrides))

    return make


@pytest.fixture
def make_request(session, make_template, settings):
    """make_request(**overrides) -> (request, token)."""

    def make(template=None, **overrides):
        template = template or make_template()
        client = {
            "client_name": "Ana López",
            "client_email": "ana@example.org",
            "client_phone": None,
            "locale": "en",
            "timezone": "America/Toronto",
        }
        client.update({k: overrides.pop(k) for k in list(overrides) if k in client})
        created = requests.create_request(
            session=session,
            template=template,
            client=client,
            settings=settings,
            origin=ORIGIN,
            **overrides,
        )
        return created.request, created.signing_url.rsplit("/", 1)[1]

    return make


@pytest.fixture
def sign_request(session, settings):
    def sign(token: str, **overrides):
        arguments = {
            "typed_name": "Ana López",
            "disclosure_accepted": True,
            "checkboxes": {"recording": True, "sharing": True},
            "fields": {"pronouns": "she/her"},
        }
        arguments.update(overrides)
        return requests.sign(
            session=session, token=token, settings=settings, origin=ORIGIN, **arguments
        )

    return sign


@pytest.fixture
def root_pem(tmp_path, settings):
    path = tmp_path / "root.pem"
    path.write_bytes(settings.signer().root_pem)
    return path


def _next_monday() -> date:
    today = datetime.now(UTC).date() + timedelta(days=7)
    return today + timedelta(days=(0 - today.weekday()) % 7)


@pytest.fixture
def appointment(booking_app, make_token):
    """A real appointment booked through booking's API (a service with no required forms)."""
    client = booking_app.test_client()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    staff = client.post(
        "/api/v1/staff",
        json={
            "name": "Amira Haddad",
            "email": "amira@maple.example",
            "time_zone": "America/Toronto",
        },
        headers=admin,
    ).get_json()
    rules = [{"weekday": d, "start_time": "09:00", "end_time": "17:00"} for d in range(5)]
    client.put(
        f"/api/v1/staff/{staff['id']}/availability/rules", json={"rules": rules}, headers=admin
    )
    service = client.post(
        "/api/v1/services",
        json={
            "name": "Settlement intake",
            "slug": "intake",
            "duration_minutes": 45,
            "modes": ["video", "phone"],
            "staff_ids": [staff["id"]],
        },
        headers=admin,
    ).get_json()
    start = datetime.combine(_next_monday(), time(10), tzinfo=ZoneInfo("America/Toronto"))
    response = client.post(
        "/api/v1/appointments",
        json={
            "service_id": service["id"],
            "start": start.astimezone(UTC).isoformat(),
            "mode": "phone",
            "client": {"name": "Ana López", "email": "ana@example.org", "phone": "+14165550101"},
            "backup": {"callback_number": "+14165550101"},
        },
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()

    class Booked:
        id = response.get_json()["appointment"]["id"]

        @staticmethod
        def consents():
            found = client.get(f"/api/v1/appointments/{Booked.id}", headers=admin).get_json()
            return found["consent_status"], found["consents"]

    return Booked
