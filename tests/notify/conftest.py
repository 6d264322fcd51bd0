"""Builders for notify tests: API clients with tokens, sample template data, message payloads."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from notify_builders import booking_data

from shared import testing

CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Frontdesk//test//EN\r\nMETHOD:{method}\r\n"
    "BEGIN:VEVENT\r\nUID:appt-42@frontdesk.test\r\nDTSTAMP:20261120T120000Z\r\n"
    "DTSTART:20261124T140000Z\r\nDTEND:20261124T144500Z\r\nSEQUENCE:0\r\n"
    "SUMMARY:Counselling session\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def calendar(method: str = "REQUEST") -> str:
    """A one-event calendar with the given METHOD."""
    return CALENDAR.format(method=method)


def template_data(template: str) -> dict[str, Any]:
    """Sample data for any template."""
    # The templates of one appointment; "lost my link" and "ask us" have data of their own.
    if template.startswith("booking_") and template not in (
        "booking_lost_links",
        "booking_question_answered",
    ):
        return booking_data()
    start = booking_data()["start"]
    return {
        "billing_notice": {
            "appointment_id": 42,
            "client_name": "Ana Lima",
            "client_email": "ana@example.org",
            "service_name": "Counselling session",
            "staff_name": "Dr. Chloé Martin",
            "start": start,
            "end": booking_data()["end"],
            "timezone": "America/Toronto",
            "outcome": "completed",
            "org_name": "Harbour Clinic",
        },
        "consent_request": {
            "client_name": "Ana Lima",
            "form_title": "Consent to treatment",
            "signing_url": "http://frontdesk.test/consent/sign/abc",
            "expires_at": start,
            "org_name": "Harbour Clinic",
            "timezone": "Europe/Paris",
        },
        "consent_reminder": {
            "client_name": "Ana Lima",
            "form_title": "Consent to treatment",
            "signing_url": "http://frontdesk.test/consent/sign/abc",
            "appointment_start": start,
            "timezone": "Europe/Paris",
            "org_name": "Harbour Clinic",
        },
        "consent_signed": {
            "client_name": "Ana Lima",
            "form_title": "Consent to treatment",
            "download_url": "http://frontdesk.test/consent/records/xyz.pdf",
            "expires_at": start,
            "org_name": "Harbour Clinic",
            "timezone": "Europe/Paris",
        },
        "consent_withdrawn": {
            "client_name": "Ana Lima",
            "form_title": "Consent to treatment",
            "org_name": "Harbour Clinic",
        },
        "booking_lost_links": {
            "client_name": "Ana Lima",
            "org_name": "Harbour Clinic",
            "timezone": "Europe/Paris",
            "appointments": [
                {
                    "service_name": "Counselling session",
                    "start": start,
                    "manage_url": "http://frontdesk.test/booking/m/abc",
                }
            ],
        },
        "booking_question_answered": {
            "client_name": "Ana Lima",
            "org_name": "Harbour Clinic",
            "thread_url": "http://frontdesk.test/booking/questions/fdq_abc",
        },
        "console_sign_in": {
            "sign_in_url": "http://frontdesk.test/console/sign-in/fdl_abc",
            "org_name": "Harbour Clinic",
        },
        "console_invitation": {
            "sign_in_url": "http://frontdesk.test/console/sign-in/fdl_abc",
            "org_name": "Harbour Clinic",
        },
        "console_weekly_summary": {
            "staff_name": "Chloé Martin",
            "org_name": "Harbour Clinic",
            "timezone": "America/Toronto",
            "week_start": start,
            "console_url": "http://frontdesk.test/console/?day=2026-12-07",
            "settings_url": "http://frontdesk.test/console/availability#summary",
            "counts": {
                "appointments": 2,
                "pending_consents": 1,
                "failed_messages": 1,
                "follow_ups": 1,
            },
            "appointments": [
                {
                    "start": start,
                    "client_name": "Ana Lima",
                    "service_name": "Counselling session",
                    "consent_pending": True,
                    "url": "http://frontdesk.test/console/appointments/42",
                }
            ],
            "pending_consents": [
                {
                    "start": start,
                    "client_name": "Ana Lima",
                    "service_name": "Counselling session",
                    "url": "http://frontdesk.test/console/appointments/42",
                }
            ],
            "failed_messages": [
                {"created_at": start, "url": "http://frontdesk.test/console/appointments/42"}
            ],
            "follow_ups": [
                {
                    "start": start,
                    "client_name": "Rui Costa",
                    "service_name": "Counselling session",
                    "url": "http://frontdesk.test/console/appointments/41",
                }
            ],
        },
    }[template]


@pytest.fixture
def make_booking_data():
    """make_booking_data(**overrides) -> data for any booking template."""
    return booking_data


@pytest.fixture
def make_template_data():
    """make_template_data(template) -> sample data for that template."""
    return template_data


@pytest.fixture
def make_calendar():
    """make_calendar(method='REQUEST') -> a one-event iCalendar text."""
    return calendar


@pytest.fixture
def notify_client(notify_app, make_token):
    """A test client with `client.call(method, path, body=None, key=None)` sending a service token.

    Each call uses its own Werkzeug client, so tests may call from several threads at once.
    """
    token = make_token("notify", "service")
    client = notify_app.test_client()

    def call(method: str, path: str, body: Any = None, key: str | None = None):
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return notify_app.test_client().open(path, method=method, json=body, headers=headers)

    client.call = call
    return client


@pytest.fixture
def post_message(notify_client) -> Callable[..., Any]:
    """post_message(**fields) -> response of POST /api/v1/messages (an email by default)."""

    def post(key: str | None = None, **fields: Any):
        body = {
            "channel": "email",
            "to": "ana@example.org",
            "template": "booking_confirmation",
            "locale": "en",
            "data": booking_data(),
        }
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        return notify_client.call("POST", "/api/v1/messages", body, key=key)

    return post


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A free TCP port on loopback."""
    return free_port()


@pytest.fixture
def sink():
    """A real aiosmtpd server on a free port (shared.testing.SmtpSink, started on a known port:
    aiosmtpd's Controller probes the port it was given, so port 0 cannot be used)."""
    from aiosmtpd.controller import Controller

    smtp_sink = testing.SmtpSink(port=free_port())
    controller = Controller(smtp_sink, hostname=smtp_sink.host, port=smtp_sink.port)
    controller.start()
    try:
        yield smtp_sink
    finally:
        controller.stop()
