"""The HTTP contract of POST/GET /api/v1/messages and group cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.db import utcnow


def test_templated_email_is_accepted_as_scheduled(post_message):
    response = post_message(group="appointment:42:reminders")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "scheduled"
    assert body["to"] == "ana@example.org"
    assert body["group"] == "appointment:42:reminders"
    assert body["attempts"] == []
    assert body["send_at"].endswith("Z")
    assert set(body) == {
        "id",
        "channel",
        "to",
        "template",
        "locale",
        "group",
        "status",
        "send_at",
        "created_at",
        "sent_at",
        "attempts",
        "attempt_count",
        "last_attempt_at",
        "last_error",
        "appointment_id",
        "staff_id",
        "retried_at",
        "segments",
    }
    assert body["segments"] is None  # an SMS's only


def test_same_idempotency_key_and_body_returns_first_message_with_200(post_message, notify_client):
    first = post_message(key="confirm-42")
    again = post_message(key="confirm-42")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    listed = notify_client.call("GET", "/api/v1/messages").json
    assert len(listed) == 1


def test_same_idempotency_key_with_other_body_gets_409(post_message):
    assert post_message(key="confirm-42").status_code == 201
    response = post_message(key="confirm-42", locale="fr")
    assert response.status_code == 409
    assert response.json["code"] == "idempotency_key_reused"


def test_sms_number_is_stored_as_e164(post_message):
    response = post_message(channel="sms", to="(416) 555-0100 ".replace("(", "+1 ("))
    assert response.status_code == 201, response.json
    assert response.json["to"] == "+14165550100"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"channel": "sms", "to": "12"}, "to"),
        ({"template": "no_such_template"}, "template"),
        ({"locale": "de"}, "locale"),
        ({"data": {"client_name": None}}, "data.client_name"),
        ({"data": {"start": "tomorrow"}}, "data.start"),
        ({"data": {"timezone": "Mars/Olympus"}}, "data.timezone"),
        ({"data": {"mode": "video", "video_url": None}}, "data.video_url"),
        ({"data": {"mode": "by-telegram"}}, "data.mode"),
        ({"send_at": (utcnow() - timedelta(minutes=5)).isoformat()}, "send_at"),
        ({"template": None, "subject": "Hi"}, "text"),
        ({"subject": "Hi"}, "subject"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"channel": "sms", "to": "+14165550100", "template": None, "text": "x" * 1601}, "text"),
    ],
)
def test_bad_fields_get_422_naming_the_field(post_message, make_booking_data, fields, field):
    if "data" in fields:
        fields = {"data": make_booking_data(**fields["data"])}
    response = post_message(**fields)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json


def test_send_at_within_a_minute_in_the_past_is_accepted(post_message):
    response = post_message(send_at=(utcnow() - timedelta(seconds=20)).isoformat())
    assert response.status_code == 201


def test_calendar_attachment_must_match_its_method(post_message, make_calendar):
    calendar = make_calendar
    good = post_message(
        attachments=[{"content_type": "text/calendar", "method": "REQUEST", "content": calendar()}]
    )
    assert good.status_code == 201, good.json
    mismatch = post_message(
        attachments=[
            {"content_type": "text/calendar", "method": "CANCEL", "content": calendar("REQUEST")}
        ]
    )
    assert mismatch.status_code == 422
    assert "attachments" in mismatch.json["errors"]
    not_calendar = post_message(
        attachments=[{"content_type": "application/pdf", "method": "REQUEST", "content": "x"}]
    )
    assert not_calendar.status_code == 422


def test_attachments_on_sms_are_refused(post_message, make_calendar):
    calendar = make_calendar
    response = post_message(
        channel="sms",
        to="+14165550100",
        attachments=[{"content_type": "text/calendar", "method": "REQUEST", "content": calendar()}],
    )
    assert response.status_code == 422
    assert "attachments" in response.json["errors"]


def test_new_webhook_url_needs_a_secret(post_message, notify_app):
    notify_app.config["ALLOW_PRIVATE_WEBHOOKS"] = False
    response = post_message(
        channel="webhook",
        to="https://billing.example.org/hook",
        template=None,
        data=None,
        locale=None,
        event="appointment.completed",
        payload={"appointment_id": 42},
    )
    assert response.status_code == 422
    assert "webhook_secret" in response.json["errors"]


def test_webhook_to_a_loopback_address_is_refused_unless_allowed(post_message, notify_app):
    fields = {
        "channel": "webhook",
        "to": "http://127.0.0.1:9/hook",
        "template": None,
        "data": None,
        "locale": None,
        "event": "appointment.completed",
        "payload": {"appointment_id": 42},
        "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    assert post_message(**fields).status_code == 422
    notify_app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    try:
        assert post_message(**fields).status_code == 201
    finally:
        notify_app.config["ALLOW_PRIVATE_WEBHOOKS"] = False


def test_message_shows_by_id_and_unknown_id_is_404(post_message, notify_client):
    created = post_message().json
    assert notify_client.call("GET", f"/api/v1/messages/{created['id']}").json == created
    missing = notify_client.call("GET", "/api/v1/messages/999999")
    assert missing.status_code == 404
    assert missing.json["code"] == "message_not_found"


def test_cancel_group_cancels_only_that_groups_unsent_messages(post_message, notify_client):
    later = (utcnow() + timedelta(days=1)).isoformat()
    for _ in range(2):
        post_message(group="appointment:42:reminders", send_at=later)
    post_message(group="appointment:43:reminders", send_at=later)
    response = notify_client.call("POST", "/api/v1/groups/appointment%3A42%3Areminders/cancel")
    assert response.status_code == 200
    assert response.json == {"cancelled": 2}
    listed = notify_client.call("GET", "/api/v1/messages?group=appointment:42:reminders").json
    assert [m["status"] for m in listed] == ["cancelled", "cancelled"]
    other = notify_client.call("GET", "/api/v1/messages?status=scheduled").json
    assert [m["group"] for m in other] == ["appointment:43:reminders"]


def test_staff_tokens_cannot_send(notify_app, make_token):
    token = make_token("notify", "staff", staff_id=1)
    response = notify_app.test_client().post(
        "/api/v1/messages",
        json={"channel": "sms", "to": "+14165550100", "text": "hi"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403


def test_concurrent_posts_with_one_idempotency_key_create_one_message(
    post_message, make_booking_data
):
    from concurrent.futures import ThreadPoolExecutor

    data = make_booking_data()  # one body for all: its times come from the clock (whole seconds)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: post_message(key="race-1", data=data), range(12)))
    assert sorted(r.status_code for r in responses) == [200] * 11 + [201], [
        r.json for r in responses if r.status_code not in (200, 201)
    ]
    assert len({r.json["id"] for r in responses}) == 1
