"""A client who booked with a phone number only (no email address) is exported and erased by
that number across booking, consent and notify; another number's data is untouched."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from privacy_story import NAME, OTHER_NAME, at_local, dispatch, monday

from services.booking.models import Appointment
from services.console.operations.privacy import erase_client, export_client
from services.notify.models import Message
from shared import db as shared_db

PHONE_ONLY = "+15145550777"
OTHER_PHONE_ONLY = "+15145550888"
EXPORT = "/api/v1/privacy/clients/export"


def _book_by_phone(apps, story, hour: int, name: str, phone: str) -> int:
    body = {
        "service_id": story.service_id,
        "start": at_local(monday(3), hour).isoformat().replace("+00:00", "Z"),
        "mode": "phone",
        "client": {
            "name": name,
            "email": None,
            "phone": phone,
            "notify_by": "sms",
            "language": "fr",
            "time_zone": "America/Toronto",
        },
        "backup": {"callback_number": phone, "use_dial_in": False},
        "client_notes": f"Notes of {name}",
    }
    response = apps["booking"].test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["appointment"]["id"]


@pytest.fixture
def phone_only(story, apps) -> dict[str, list[int]]:
    """Two bookings by phone of one client, one of another client with another number."""
    booked = {
        PHONE_ONLY: [
            _book_by_phone(apps, story, 10, NAME, PHONE_ONLY),
            _book_by_phone(apps, story, 14, NAME, PHONE_ONLY),
        ],
        OTHER_PHONE_ONLY: [_book_by_phone(apps, story, 11, OTHER_NAME, OTHER_PHONE_ONLY)],
    }
    dispatch(apps)
    return booked


def _sms_to(apps, phone: str) -> list[Message]:
    with shared_db.get_db(apps["notify"]).transaction() as session:
        found = session.scalars(
            sa.select(Message).where(Message.channel == "sms", Message.recipient == phone)
        ).all()
        session.expunge_all()
        return list(found)


@pytest.mark.parametrize("typed", [PHONE_ONLY, "+1 (514) 555-0777"])
def test_a_phone_only_client_is_exported_by_their_number(phone_only, apps, privacy_clients, typed):
    exported = export_client(clients=privacy_clients, phone=typed)
    booking, consent, notify = (exported["services"][s] for s in ("booking", "consent", "notify"))
    assert [a["id"] for a in booking["appointments"]] == phone_only[PHONE_ONLY]
    assert {a["client"]["phone"] for a in booking["appointments"]} == {PHONE_ONLY}
    assert {a["client"]["email"] for a in booking["appointments"]} == {None}
    requests = consent["requests"]
    assert requests and {r["appointment_id"] for r in requests} <= set(phone_only[PHONE_ONLY])
    to_client = notify["messages_to_client"]
    assert {m["channel"] for m in to_client} == {"sms"} and {m["to"] for m in to_client} == {
        PHONE_ONLY
    }
    assert len(to_client) == len(_sms_to(apps, PHONE_ONLY)) >= 2
    text = json.dumps(exported, ensure_ascii=False)
    for other in (OTHER_PHONE_ONLY, OTHER_NAME, "Notes of " + OTHER_NAME):
        assert other not in text


def test_erasing_a_phone_only_client_blanks_their_data_and_leaves_another_number_alone(
    phone_only, apps, privacy_clients
):
    other_before = export_client(clients=privacy_clients, phone=OTHER_PHONE_ONLY)["services"]
    sms_before = len(_sms_to(apps, PHONE_ONLY))
    result = erase_client(clients=privacy_clients, phone=PHONE_ONLY)["services"]
    assert result["booking"]["erased"]["appointments_anonymized"] == 2
    assert result["notify"]["erased"]["messages_to_client"] == sms_before
    assert result["consent"]["erased"]["requests_deleted"] >= 1
    with shared_db.get_db(apps["booking"]).transaction() as session:
        mine = session.scalars(
            sa.select(Appointment).where(Appointment.id.in_(phone_only[PHONE_ONLY]))
        ).all()
        assert {(a.client_name, a.client_phone, a.client_notes) for a in mine} == {
            ("erased", None, None)
        }
    assert _sms_to(apps, PHONE_ONLY) == []
    again = export_client(clients=privacy_clients, phone=PHONE_ONLY)["services"]
    assert again["booking"]["appointments"] == again["consent"]["requests"] == []
    assert again["notify"] == {"messages_to_client": [], "messages_about_client_to_others": []}
    assert export_client(clients=privacy_clients, phone=OTHER_PHONE_ONLY)["services"] == (
        other_before
    )


def test_a_lookup_without_email_or_phone_is_a_422_problem(apps, make_token):
    for service in ("booking", "consent", "notify"):
        headers = {"Authorization": f"Bearer {make_token(service)}"}
        for body in ({}, {"email": None, "phones": []}, {"phones": ["514 555 0777"]}):
            answer = apps[service].test_client().post(EXPORT, json=body, headers=headers)
            assert answer.status_code == 422, (service, body)
            assert answer.mimetype == "application/problem+json"
            assert answer.get_json()["code"]
