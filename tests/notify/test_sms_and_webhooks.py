"""SMS through a local stand-in for Twilio's REST API; Standard Webhooks to a verifying receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from services.notify import outbox
from shared.db import utcnow
from shared.testing import RecordingServer, twilio_handler
from shared.workers import step_on

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def twilio(notify_app):
    server = RecordingServer(twilio_handler)
    notify_app.config["SMS_URL"] = server.twilio_url
    yield server
    notify_app.config["SMS_URL"] = "console://"
    server.close()


def test_reminder_sms_goes_through_the_twilio_api(twilio, post_message, notify_client):
    created = post_message(channel="sms", to="+1 416 555 0100", template="booking_reminder").json
    assert step_on(notify_client.application, outbox.deliver) == 1
    [form] = twilio.requests
    assert form["To"] == "+14165550100"
    assert form["From"] == "+15005550006"
    assert form["Body"].startswith("Harbour Clinic reminder: Counselling session")
    assert notify_client.call("GET", f"/api/v1/messages/{created['id']}").json["status"] == "sent"


def test_sms_provider_400_fails_and_503_retries(twilio, post_message, notify_client):
    app = notify_client.application
    twilio.answers = [(400, {}), (503, {"Retry-After": "120"})]
    rejected = post_message(
        channel="sms", to="+14165550100", template=None, data=None, text="A"
    ).json
    step_on(app, outbox.deliver)
    shown = notify_client.call("GET", f"/api/v1/messages/{rejected['id']}").json
    assert shown["status"] == "failed"
    assert "21211" in shown["last_error"]
    deferred = post_message(
        channel="sms", to="+14165550100", template=None, data=None, text="B"
    ).json
    step_on(app, outbox.deliver)
    assert (
        notify_client.call("GET", f"/api/v1/messages/{deferred['id']}").json["status"]
        == "scheduled"
    )
    assert (
        step_on(app, outbox.deliver, now=utcnow() + timedelta(seconds=100)) == 0
    )  # Retry-After: 120
    assert step_on(app, outbox.deliver, now=utcnow() + timedelta(minutes=10)) == 1
    assert [f["Body"] for f in twilio.requests] == ["B"]


# --- a webhook receiver that verifies the Standard Webhooks signature


def webhook_handler(server, request, body):
    webhook_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    signatures = [s.partition(",")[2] for s in request.headers["webhook-signature"].split()]
    verified = any(hmac.compare_digest(expected, s) for s in signatures)
    server.requests.append({"id": webhook_id, "verified": verified, "body": json.loads(body)})
    status, headers = server.next_answer(204)
    return status, headers, b""


@pytest.fixture
def receiver(notify_app):
    server = RecordingServer(webhook_handler)
    notify_app.config["ALLOW_PRIVATE_WEBHOOKS"] = True
    yield server
    notify_app.config["ALLOW_PRIVATE_WEBHOOKS"] = False
    server.close()


def post_webhook(post_message, receiver, **fields):
    body = {
        "channel": "webhook",
        "to": f"http://127.0.0.1:{receiver.port}/hook",
        "template": None,
        "data": None,
        "locale": None,
        "event": "appointment.completed",
        "payload": {"appointment_id": 42, "outcome": "completed"},
        "webhook_secret": SECRET,
    }
    body.update(fields)
    return post_message(**body)


def test_webhook_is_signed_and_keeps_its_id_across_retries(receiver, post_message, notify_client):
    app = notify_client.application
    created = post_webhook(post_message, receiver).json
    receiver.answers = [(500, {})]
    step_on(app, outbox.deliver)
    assert (
        notify_client.call("GET", f"/api/v1/messages/{created['id']}").json["status"] == "scheduled"
    )
    step_on(app, outbox.deliver, now=utcnow() + timedelta(hours=1))
    first, second = receiver.requests
    assert first["verified"] and second["verified"]
    assert first["id"] == second["id"]
    assert first["body"] == second["body"]
    assert second["body"]["type"] == "appointment.completed"
    assert second["body"]["data"] == {"appointment_id": 42, "outcome": "completed"}
    assert notify_client.call("GET", f"/api/v1/messages/{created['id']}").json["status"] == "sent"


def test_webhook_410_disables_the_endpoint(receiver, post_message, notify_client):
    app = notify_client.application
    receiver.answers = [(410, {})]
    gone = post_webhook(post_message, receiver, webhook_secret=SECRET).json
    step_on(app, outbox.deliver)
    shown = notify_client.call("GET", f"/api/v1/messages/{gone['id']}").json
    assert shown["status"] == "failed"
    assert "410" in shown["last_error"]
    after = post_webhook(post_message, receiver, webhook_secret=None).json
    step_on(app, outbox.deliver)
    shown = notify_client.call("GET", f"/api/v1/messages/{after['id']}").json
    assert shown["status"] == "failed"
    assert "disabled" in shown["last_error"]
    assert len(receiver.requests) == 1


def test_an_admin_sees_a_disabled_endpoint_and_enables_it_again(
    receiver, post_message, notify_client, make_token
):
    app = notify_client.application
    client = app.test_client()
    admin = {"Authorization": f"Bearer {make_token('notify', 'admin')}"}
    receiver.answers = [(410, {})]
    post_webhook(post_message, receiver, webhook_secret=SECRET)
    step_on(app, outbox.deliver)
    [endpoint] = client.get("/api/v1/webhook-endpoints", headers=admin).get_json()
    assert endpoint["disabled_at"] is not None and "secret" not in endpoint
    assert SECRET not in client.get("/api/v1/webhook-endpoints", headers=admin).get_data(True)
    enabled = client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/enable", headers=admin)
    assert enabled.status_code == 200 and enabled.get_json()["disabled_at"] is None
    receiver.answers = [(200, {})]
    again = post_webhook(post_message, receiver, webhook_secret=None).json
    step_on(app, outbox.deliver)
    assert notify_client.call("GET", f"/api/v1/messages/{again['id']}").json["status"] == "sent"
    assert len(receiver.requests) == 2
    missing = client.post("/api/v1/webhook-endpoints/999999/enable", headers=admin)
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "webhook_endpoint_not_found"
    service = {"Authorization": f"Bearer {make_token('notify', 'service')}"}
    assert client.get("/api/v1/webhook-endpoints", headers=service).status_code == 403


def test_webhook_other_4xx_is_permanent(receiver, post_message, notify_client):
    receiver.answers = [(400, {})]
    created = post_webhook(post_message, receiver).json
    step_on(notify_client.application, outbox.deliver)
    assert notify_client.call("GET", f"/api/v1/messages/{created['id']}").json["status"] == "failed"


def test_sms_file_outbox_keeps_one_file_per_message(notify_app, post_message, tmp_path):
    notify_app.config["SMS_URL"] = f"file://{tmp_path}"
    try:
        post_message(channel="sms", to="+14165550100", template=None, data=None, text="Hi there")
        step_on(notify_app, outbox.deliver)
    finally:
        notify_app.config["SMS_URL"] = "console://"
    [path] = list(tmp_path.glob("*.sms.json"))
    assert json.loads(path.read_text()) | {"message_id": None} == {
        "message_id": None,
        "to": "+14165550100",
        "body": "Hi there",
    }


def test_webhook_429_waits_for_retry_after(receiver, post_message, notify_client):
    app = notify_client.application
    receiver.answers = [(429, {"Retry-After": "3600"})]
    created = post_webhook(post_message, receiver).json
    step_on(app, outbox.deliver)
    assert step_on(app, outbox.deliver, now=utcnow() + timedelta(minutes=30)) == 0
    assert step_on(app, outbox.deliver, now=utcnow() + timedelta(minutes=61)) == 1
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert [a["ok"] for a in shown["attempts"]] == [False, True]
    assert "429" in shown["attempts"][0]["error"]
