"""Email through a real SMTP server (aiosmtpd): iMIP layout, retries, dead letters, render failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify import outbox
from shared.db import utcnow
from shared.outbox import RETRY_MAX_SECONDS
from shared.workers import step_on


@pytest.fixture
def smtp(notify_app, sink):
    """Point notify at the test SMTP sink for one test."""
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = sink.url
    yield sink
    notify_app.config["SMTP_URL"] = previous


def later(hours: float):
    """A clock `hours` ahead, to reach retry times without sleeping."""
    return utcnow() + timedelta(hours=hours)


def test_confirmation_arrives_as_imip_with_both_bodies_and_the_invite(
    smtp, post_message, notify_client, make_calendar
):
    created = post_message(
        attachments=[
            {"content_type": "text/calendar", "method": "REQUEST", "content": make_calendar()}
        ]
    ).json
    assert step_on(notify_client.application, outbox.deliver) == 1
    [mail] = smtp.wait_for(1)
    assert mail["Subject"].startswith("Confirmed: Counselling session")
    assert mail["To"] == "ana@example.org"
    assert mail.get_content_type() == "multipart/mixed"
    alternative, attachment = mail.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, inline = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert "If the video does not work, we will call you at +14165550100" in plain.get_content()
    assert html.get_content_type() == "text/html"
    assert '<a href="https://meet.example.org/room/abc">' in html.get_content()
    assert inline.get_content_type() == "text/calendar"
    assert inline.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in inline.get_content()
    assert attachment.get_filename() == "invite.ics"
    assert b"BEGIN:VCALENDAR" in attachment.get_content()
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert shown["status"] == "sent"
    assert shown["sent_at"] is not None
    assert [a["ok"] for a in shown["attempts"]] == [True]


def test_html_escapes_data(smtp, post_message, notify_client, make_booking_data):
    post_message(data=make_booking_data(client_name="<script>alert(1)</script>"))
    step_on(notify_client.application, outbox.deliver)
    [mail] = smtp.wait_for(1)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "reply",
    ["451 4.3.0 Try again later", "421 4.3.2 Service shutting down, closing channel"],
    ids=["451", "421"],
)
def test_smtp_4xx_then_250_delivers_once_after_a_retry(smtp, post_message, notify_client, reply):
    created = post_message().json
    smtp.replies.append(reply)
    app = notify_client.application
    assert step_on(app, outbox.deliver) == 1
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert shown["status"] == "scheduled"
    assert reply[:3] in shown["last_error"]
    assert step_on(app, outbox.deliver) == 0  # not due yet: backoff
    assert step_on(app, outbox.deliver, now=later(1)) == 1
    assert len(smtp.wait_for(1)) == 1
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert shown["status"] == "sent"
    assert [a["ok"] for a in shown["attempts"]] == [False, True]
    assert shown["last_error"] is None


def test_smtp_550_fails_without_retry(smtp, post_message, notify_client):
    created = post_message().json
    smtp.replies.append("550 5.1.1 No such user")
    step_on(notify_client.application, outbox.deliver)
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert shown["status"] == "failed"
    assert "550" in shown["last_error"]
    assert step_on(notify_client.application, outbox.deliver, now=later(24)) == 0


def test_smtp_down_retries_then_goes_dead(notify_app, post_message, notify_client):
    import socket

    with socket.socket() as unused:  # a port with nothing listening: connection refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    notify_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    try:
        created = post_message().json
        hours = 0.0
        for _ in range(outbox.MAX_ATTEMPTS):
            hours += RETRY_MAX_SECONDS * 1.25 / 3600 + 1
            assert step_on(notify_app, outbox.deliver, now=later(hours)) == 1
    finally:
        notify_app.config["SMTP_URL"] = "console://"
    shown = notify_client.call("GET", f"/api/v1/messages/{created['id']}").json
    assert shown["status"] == "dead"
    assert len(shown["attempts"]) == outbox.MAX_ATTEMPTS
    assert not any(a["ok"] for a in shown["attempts"])
    assert "gave up" in shown["last_error"]


def test_render_failure_marks_failed_and_the_worker_goes_on(
    smtp, post_message, notify_client, make_booking_data
):
    broken = post_message(data=make_booking_data(resources=5)).json
    fine = post_message().json
    assert step_on(notify_client.application, outbox.deliver) == 2
    assert len(smtp.wait_for(1)) == 1
    shown = notify_client.call("GET", f"/api/v1/messages/{broken['id']}").json
    assert shown["status"] == "failed"
    assert "TypeError" in shown["last_error"]
    assert notify_client.call("GET", f"/api/v1/messages/{fine['id']}").json["status"] == "sent"


def test_scheduled_message_waits_for_send_at(smtp, post_message, notify_client):
    post_message(send_at=(utcnow() + timedelta(hours=2)).isoformat())
    assert step_on(notify_client.application, outbox.deliver) == 0
    assert step_on(notify_client.application, outbox.deliver, now=later(3)) == 1
    assert len(smtp.wait_for(1)) == 1


def test_cancelled_group_is_never_sent(smtp, post_message, notify_client):
    post_message(
        group="appointment:7:reminders", send_at=(utcnow() + timedelta(hours=1)).isoformat()
    )
    notify_client.call("POST", "/api/v1/groups/appointment:7:reminders/cancel")
    assert step_on(notify_client.application, outbox.deliver, now=later(2)) == 0
    assert smtp.messages == []


def test_literal_email_in_file_outbox(notify_app, post_message, tmp_path):
    notify_app.config["SMTP_URL"] = f"file://{tmp_path}"
    try:
        created = post_message(template=None, data=None, subject="Hello", text="Plain words").json
        step_on(notify_app, outbox.deliver)
    finally:
        notify_app.config["SMTP_URL"] = "console://"
    [eml] = list(tmp_path.glob("*.eml"))
    assert b"Subject: Hello" in eml.read_bytes()
    assert created["template"] is None


def test_console_outbox_prints_a_summary_without_the_address(post_message, notify_app, capsys):
    post_message()
    step_on(notify_app, outbox.deliver)
    printed = capsys.readouterr().err
    assert "[notify console] email <" in printed
    assert "ana@example.org" not in printed
    assert "a***@e***" in printed


@pytest.mark.parametrize("reply_to", [None, "Harbour Clinic <office@harbour.example>"])
def test_cancellation_asks_for_a_reply_only_with_a_reply_to_address(
    smtp, notify_app, post_message, notify_client, make_booking_data, reply_to
):
    previous = notify_app.config["REPLY_TO"]
    notify_app.config["REPLY_TO"] = reply_to
    try:
        post_message(template="booking_cancelled", data=make_booking_data())
        post_message(template="booking_confirmation", data=make_booking_data())
        assert step_on(notify_client.application, outbox.deliver) == 2
    finally:
        notify_app.config["REPLY_TO"] = previous
    mails = smtp.wait_for(2)
    assert [mail["Reply-To"] for mail in mails] == [reply_to, reply_to]
    [cancelled] = [mail for mail in mails if mail["Subject"].startswith("Cancelled")]
    for part in ("plain", "html"):
        body = cancelled.get_body((part,)).get_content()
        assert ("reply to this email" in body) is (reply_to is not None)
