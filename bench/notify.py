"""Notify: messages/s from POST /messages to delivery into a local SMTP sink, against raw smtplib.

Both sides send the same messages (the booking confirmation with its calendar invite, iMIP
layout) to the same aiosmtpd sink in the same run. The notify side goes through the API
(in-process WSGI, service token, validation, idempotency key), the PostgreSQL outbox and the
worker (claim with a lease, render at send time, one SMTP connection per batch, one commit
per attempt). The baseline builds each EmailMessage and sends it with smtplib over one
connection: the least work that can put the same mail in the same sink.

`python -m bench.notify [--quick]`
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

from bench.harness import ROOT, free_port, fresh_pg_database

CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Frontdesk//bench//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:appt-{n}@frontdesk.bench\r\nDTSTAMP:20261120T120000Z\r\n"
    "DTSTART:20261124T140000Z\r\nDTEND:20261124T144500Z\r\nSEQUENCE:0\r\n"
    "SUMMARY:Counselling session\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
# Target from issue 11: delivery through the outbox >= 80% of raw smtplib's rate.
TARGET_RATIO = 0.8
WORKER_PROCESSES = 2


class CountingSink:
    """An aiosmtpd handler that only counts messages and their Message-IDs (cheap per message)."""

    def __init__(self) -> None:
        self.ids: list[bytes] = []
        self.done = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        found = re.search(rb"(?im)^Message-ID:\s*(\S+)", envelope.content)
        with self.done:
            self.ids.append(found.group(1) if found else b"")
            self.done.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.ids) >= count, timeout)


def booking_data(n: int) -> dict:
    from shared.db import utcnow

    start = utcnow().replace(microsecond=0) + timedelta(days=1, minutes=n)
    return {
        "client_name": f"Client {n}",
        "service_name": "Counselling session",
        "staff_name": "Dr. Chloé Martin",
        "org_name": "Harbour Clinic",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=45)).isoformat().replace("+00:00", "Z"),
        "timezone": "America/Toronto",
        "mode": "video",
        "video_url": "https://meet.example.org/room/abc",
        "backup": {"callback_number": "+14165550100", "dial_in": None},
        "manage_url": f"https://frontdesk.example.org/booking/manage/tok{n}",
        "resources": [],
        "consent_links": [],
        "accommodations": {"captions": False, "interpreter_language": None, "other": None},
    }


def message_body(n: int) -> dict:
    return {
        "channel": "email",
        "to": f"client{n}@example.org",
        "template": "booking_confirmation",
        "locale": ("en", "fr", "es")[n % 3],
        "data": booking_data(n),
        "attachments": [
            {"content_type": "text/calendar", "method": "REQUEST", "content": CALENDAR.format(n=n)}
        ],
        "group": f"appointment:{n}:confirmation",
    }


def measure_notify(count: int, smtp_url: str, sink: CountingSink) -> tuple[float, float]:
    """(accepted/s through POST /messages, delivered/s from the first POST to the last mail)."""
    from services.notify.app import create_app
    from services.notify.models import ApiToken
    from shared import auth, db, migrations

    url = fresh_pg_database("bench_notify")
    migrations.upgrade("notify", url)
    instance = tempfile.mkdtemp(prefix="bench-notify-")
    app = create_app(
        {
            "DATABASE_URL": url,
            "SMTP_URL": smtp_url,
            "LOG_LEVEL": "WARNING",
            "INSTANCE_DIR": instance,
        }
    )
    with db.get_db(app).transaction() as session:
        token = auth.create_token(session=session, model=ApiToken, role="service", name="bench")
    bodies = [message_body(n) for n in range(count)]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    # Workers run as their own processes, as `frontdesk worker notify` does in production.
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": url,
        "FRONTDESK_SMTP_URL": smtp_url,
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_INSTANCE_DIR": instance,
        "PYTHONPATH": str(ROOT),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "frontdesk.cli", "worker", "notify"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKER_PROCESSES)
    ]
    try:
        time.sleep(2.0)  # let the workers import and connect before the clock starts
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            response = client.post(
                "/api/v1/messages", json=body, headers={**headers, "Idempotency-Key": f"b-{n}"}
            )
            assert response.status_code == 201, response.get_data(as_text=True)
        accepted = time.perf_counter() - started
        assert sink.wait_for(count, timeout=600), f"only {len(sink.ids)} of {count} delivered"
        delivered = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        db.get_db(app).engine.dispose()
    assert len(set(sink.ids)) == count, "a message arrived twice"
    return count / accepted, count / delivered


def measure_raw_smtplib(count: int, host: str, port: int, sink: CountingSink) -> float:
    """Messages/s building the same iMIP emails with `email` and sending them with smtplib."""
    from services.notify import rendering
    from services.notify.channels import CalendarPart, build_email

    # The same content notify sends, rendered beforehand: the baseline pays only for MIME + SMTP.
    prepared = []
    for n in range(count):
        body = message_body(n)
        rendered = rendering.render(
            template=body["template"], locale=body["locale"], data=body["data"]
        )
        prepared.append((body, rendered))
    before = len(sink.ids)
    started = time.perf_counter()
    with smtplib.SMTP(host, port) as connection:
        for n, (body, rendered) in enumerate(prepared):
            message = build_email(
                message_id=f"<raw-{n}@bench.invalid>",
                mail_from="Frontdesk <no-reply@bench.invalid>",
                to=body["to"],
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                calendars=[
                    CalendarPart("REQUEST", "invite.ics", body["attachments"][0]["content"])
                ],
            )
            connection.send_message(message)
    assert sink.wait_for(before + count, timeout=120)
    return count / (time.perf_counter() - started)


def run(quick: bool) -> list[dict]:
    """Rows: notify's end-to-end and accept rates, each against raw smtplib in the same run."""
    from aiosmtpd.controller import Controller

    count = 200 if quick else 2000
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        raw = measure_raw_smtplib(count, "127.0.0.1", port, sink)
        sink.ids.clear()
        accept_rate, delivery_rate = measure_notify(count, f"smtp://127.0.0.1:{port}", sink)
    finally:
        controller.stop()
    return [
        {
            "name": f"notify: POST /messages -> delivered to SMTP sink ({count} iMIP emails, PostgreSQL, {WORKER_PROCESSES} worker processes)",
            "value": round(delivery_rate, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(delivery_rate / raw, 3),
            "target": f">= {TARGET_RATIO}x raw smtplib",
        },
        {
            "name": "notify: POST /messages accepted (validation, idempotency key, outbox row)",
            "value": round(accept_rate, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(accept_rate / raw, 3),
            "target": ">= 1x raw smtplib (accepting must not wait for SMTP)",
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.notify")
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    for row in run(quick=arguments.quick):
        print(row, file=sys.stdout)
