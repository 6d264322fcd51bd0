"""Staff read the delivery status of their own appointments' messages in notify; admins put a
failed message back in the queue. Booking and consent send real messages through their outboxes
to notify, which delivers them to a real SMTP server."""

from __future__ import annotations

import pytest
from test_messages import book_via_api, create_consent_form, deliver

from services.booking import outbox
from services.consent import outbox as consent_outbox
from shared.workers import step_on


@pytest.fixture
def smtp(notify_app, smtp_sink):
    """notify delivering into the test's SMTP sink."""
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


def _get(notify_app, token: str, path: str, **params):
    return notify_app.test_client().get(
        path, query_string=params or None, headers={"Authorization": f"Bearer {token}"}
    )


def _post(notify_app, token: str, path: str):
    return notify_app.test_client().post(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def booked(
    booking_app,
    consent_app,
    notify_app,
    smtp,
    make_service,
    make_token,
    next_weekday,
    at,
    booking_body,
):
    """An appointment with a required consent form, its messages sent: the client's
    confirmation refused by the mail server (550), the staff notice delivered."""
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(required_consent_template_ids=[template_id])
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    step_on(booking_app, outbox.dispatch)
    step_on(consent_app, consent_outbox.dispatch)
    smtp.replies.append("550 5.1.1 No such mailbox here")
    deliver(notify_app)
    return body["appointment"]


def test_staff_see_every_message_about_their_appointment_with_its_delivery_status(
    notify_app, make_token, booked
):
    token = make_token("notify", "staff", staff_id=booked["staff_id"])
    response = _get(notify_app, token, "/api/v1/messages", appointment_id=booked["id"])
    assert response.status_code == 200, response.get_json()
    messages = response.get_json()
    assert {m["appointment_id"] for m in messages} == {booked["id"]}
    assert {m["staff_id"] for m in messages} == {booked["staff_id"]}
    by_template = {m["template"]: m for m in messages}
    # booking's confirmation, staff notice and reminders; consent's reminder to sign.
    assert {"booking_confirmation", "booking_staff_notice", "booking_reminder"} <= set(by_template)
    assert "consent_reminder" in by_template
    sent = [m for m in messages if m["status"] == "sent"]
    failed = [m for m in messages if m["status"] == "failed"]
    assert len(sent) == 1 and len(failed) == 1
    [refused] = failed
    assert refused["attempt_count"] == 1
    assert "550" in refused["last_error"]
    assert refused["last_attempt_at"] == refused["attempts"][-1]["at"]
    assert sent[0]["sent_at"] and sent[0]["attempt_count"] == 1
    scheduled = by_template["booking_reminder"]
    assert scheduled["status"] == "scheduled" and scheduled["attempt_count"] == 0
    assert scheduled["last_attempt_at"] is None

    confirmations = _get(
        notify_app,
        token,
        "/api/v1/messages",
        appointment_id=booked["id"],
        template="booking_confirmation",
    ).get_json()
    assert [m["to"] for m in confirmations] == ["ana@example.org"]


def test_another_staff_member_lists_nothing_of_an_appointment_not_theirs(
    notify_app, make_token, booked
):
    stranger = make_token("notify", "staff", staff_id=booked["staff_id"] + 1000)
    for params in (
        {"appointment_id": booked["id"]},
        {"staff_id": booked["staff_id"]},
        {},
    ):
        response = _get(notify_app, stranger, "/api/v1/messages", **params)
        assert response.status_code == 200
        assert response.get_json() == [], params
    # The owner naming someone else's staff id gets nothing either; admins see everything.
    owner = make_token("notify", "staff", staff_id=booked["staff_id"])
    assert _get(notify_app, owner, "/api/v1/messages", staff_id=booked["staff_id"] + 1).json == []
    admin = make_token("notify", "admin")
    assert _get(notify_app, admin, "/api/v1/messages", appointment_id=booked["id"]).json


def test_messages_of_several_appointments_come_in_one_call(
    booking_app, notify_app, make_token, booked, make_service, next_weekday, at, booking_body
):
    service = make_service()
    other = book_via_api(booking_app, service, at(next_weekday(2), 11), booking_body)
    step_on(booking_app, outbox.dispatch)
    admin = make_token("notify", "admin")
    both = _get(
        notify_app,
        admin,
        f"/api/v1/messages?appointment_id={booked['id']}"
        f"&appointment_id={other['appointment']['id']}&template=booking_confirmation",
    ).get_json()
    assert sorted(m["appointment_id"] for m in both) == sorted(
        [booked["id"], other["appointment"]["id"]]
    )


def test_admin_retry_requeues_a_failed_message_once_and_it_is_delivered(
    notify_app, smtp, make_token, booked
):
    admin = make_token("notify", "admin")
    [failed] = _get(
        notify_app, admin, "/api/v1/messages", appointment_id=booked["id"], status="failed"
    ).get_json()
    staff = make_token("notify", "staff", staff_id=booked["staff_id"])
    assert _post(notify_app, staff, f"/api/v1/messages/{failed['id']}/retry").status_code == 403

    retried = _post(notify_app, admin, f"/api/v1/messages/{failed['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.json["status"] == "scheduled" and retried.json["retried_at"]
    again = _post(notify_app, admin, f"/api/v1/messages/{failed['id']}/retry")
    assert again.status_code == 200 and again.json == retried.json  # a repeat changes nothing

    received = len(smtp.messages)
    deliver(notify_app)
    assert [m["To"] for m in smtp.wait_for(received + 1)[received:]] == [failed["to"]]
    delivered = _get(notify_app, admin, f"/api/v1/messages/{failed['id']}").json
    assert delivered["status"] == "sent" and delivered["attempt_count"] == 2

    not_failed = _post(notify_app, admin, f"/api/v1/messages/{failed['id']}/retry")
    assert not_failed.status_code == 409
    assert not_failed.mimetype == "application/problem+json"
    assert not_failed.json["code"] == "message_not_retryable"
    missing = _post(notify_app, admin, "/api/v1/messages/999999/retry")
    assert missing.status_code == 404 and missing.json["code"] == "message_not_found"


def test_staff_send_the_invite_again_and_see_it_delivered(
    booking_app, notify_app, smtp, make_token, booked
):
    staff = {
        "Authorization": f"Bearer {make_token('booking', 'staff', staff_id=booked['staff_id'])}"
    }
    resent = booking_app.test_client().post(
        f"/api/v1/appointments/{booked['id']}/resend-invite", headers=staff
    )
    assert resent.status_code == 202, resent.get_json()
    step_on(booking_app, outbox.dispatch)
    received = len(smtp.messages)
    deliver(notify_app)
    [again] = smtp.wait_for(received + 1)[received:]
    assert again["To"] == "ana@example.org"
    assert any(part.get_content_type() == "text/calendar" for part in again.walk())
    token = make_token("notify", "staff", staff_id=booked["staff_id"])
    invites = _get(
        notify_app,
        token,
        "/api/v1/messages",
        appointment_id=booked["id"],
        template="booking_confirmation",
    ).get_json()
    assert [m["status"] for m in invites][-1] == "sent" and len(invites) == 2
    history = booking_app.test_client().get(
        f"/api/v1/appointments/{booked['id']}/history", headers=staff
    )
    assert "invite_resent" in [event["action"] for event in history.get_json()]


def test_the_invite_of_a_cancelled_appointment_is_not_sent_again(booking_app, make_token, booked):
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    client = booking_app.test_client()
    cancel = client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "Ill"}, headers=admin
    )
    assert cancel.status_code == 200, cancel.get_json()
    refused = client.post(f"/api/v1/appointments/{booked['id']}/resend-invite", headers=admin)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "invalid_status"


def test_a_repeated_idempotency_key_sends_the_invite_again_only_once(
    booking_app, make_token, booked
):
    staff = {
        "Authorization": f"Bearer {make_token('booking', 'staff', staff_id=booked['staff_id'])}"
    }
    client = booking_app.test_client()
    path = f"/api/v1/appointments/{booked['id']}/resend-invite"
    for key in ("click-1", "click-1", "click-2"):
        resent = client.post(path, headers={**staff, "Idempotency-Key": key})
        assert resent.status_code == 202, resent.get_json()
    history = client.get(f"/api/v1/appointments/{booked['id']}/history", headers=staff)
    actions = [event["action"] for event in history.get_json()]
    assert actions.count("invite_resent") == 2
