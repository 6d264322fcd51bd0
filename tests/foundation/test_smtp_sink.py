"""The shared SMTP sink fixture is a real SMTP server that keeps and can refuse messages."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest


def _send(sink, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", subject
    message.set_content("hello")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
        client.send_message(message)


def test_sink_receives_and_parses_mail(smtp_sink):
    _send(smtp_sink, "first")
    assert smtp_sink.wait_for(1)[0]["Subject"] == "first"


def test_sink_can_answer_a_temporary_failure(smtp_sink):
    smtp_sink.replies.append("451 try again later")
    with pytest.raises(smtplib.SMTPDataError) as failure:
        _send(smtp_sink, "refused")
    assert failure.value.smtp_code == 451
    _send(smtp_sink, "accepted")
    assert [m["Subject"] for m in smtp_sink.wait_for(1)] == ["accepted"]
