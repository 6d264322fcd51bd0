"""notify's outbox through real processes: the API on notify's internal port queues, the
`frontdesk worker notify` process delivers to the SMTP sink and the webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest
from e2e_harness import wait_until

pytestmark = pytest.mark.e2e

SECRET = "whsec_ZTJlLXdlYmhvb2stc2VjcmV0LWZvci10ZXN0cw=="


def notify_client(stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.instances["notify"],
        headers={"Authorization": f"Bearer {stack.service_token}"},
        timeout=30,
    )


def wait_sent(client: httpx.Client, message_id: int) -> dict:
    def sent():
        body = client.get(f"/api/v1/messages/{message_id}").json()
        return body if body["status"] == "sent" else None

    return wait_until(sent, timeout=30, what=f"message {message_id} to be sent")


def test_the_notify_worker_process_delivers_email_to_the_smtp_sink(stack):
    assert "notify" in stack.workers
    before = len(stack.mail.messages())
    with notify_client(stack) as client:
        created = client.post(
            "/api/v1/messages",
            json={
                "channel": "email",
                "to": "client-e2e@example.org",
                "subject": "e2e delivery check",
                "text": "Delivered by the notify worker process.",
            },
            headers={"Idempotency-Key": "e2e-email-1"},
        )
        assert created.status_code == 201, created.text
        message = wait_sent(client, created.json()["id"])
    assert message["attempts"]
    mail = [m for m in stack.mail.wait_for(before + 1) if m["Subject"] == "e2e delivery check"]
    assert len(mail) == 1
    assert mail[0]["To"] == "client-e2e@example.org"
    assert "Maple Community Services" in mail[0]["From"]


def test_the_notify_worker_process_delivers_a_signed_webhook(stack):
    before = len(stack.webhooks.requests())
    with notify_client(stack) as client:
        created = client.post(
            "/api/v1/messages",
            json={
                "channel": "webhook",
                "to": stack.webhook_url,
                "event": "e2e.check",
                "payload": {"hello": "billing"},
                "webhook_secret": SECRET,
            },
        )
        assert created.status_code == 201, created.text
        wait_sent(client, created.json()["id"])
    received = stack.webhooks.wait_for(before + 1)[-1]
    headers = received["headers"]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{received['body']}"
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split()
    assert '"hello"' in received["body"]
