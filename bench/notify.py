"""Notify: email delivery into a local SMTP sink, messages/s, against raw smtplib.

Two figures: the workers' delivery rate from an outbox of accepted messages that fall due at
once (the target: the delivery pipeline against the least work that sends the same mail),
and the rate from the first POST to the last mail while one client posts and the workers
send at the same time (the API and the delivery sharing the machine's 2 cores).

Both sides send the same messages (the booking confirmation with its calendar invite, iMIP
layout) to the same aiosmtpd sink in the same run. The notify side goes through the API
(in-process WSGI, service token, validation, idempotency key), the PostgreSQL outbox and the
worker (claim with a lease, render at send time, one SMTP connection per batch, one commit
per attempt). The baseline builds each EmailMessage and sends it with smtplib over one
connection: the least work that can put the same mail in the same sink. The delivery runs twice
(once with --quick) between three raw runs, and the medians are compared.

`python -m bench.notify [--quick]`
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

from bench.harness import ROOT, free_port, fresh_pg_database
from shared.db import utcnow

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


@contextlib.contextmanager
def notify_setup(smtp_url: str, name: str):
    """A fresh PostgreSQL outbox, the API in-process with a service token, and the worker
    processes (`frontdesk worker notify`, as in production): yields (client, headers)."""
    from frontdesk import migrations
    from services.notify.app import create_app
    from services.notify.models import ApiToken
    from shared import auth, db

    url = fresh_pg_database(name)
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
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": url,
        "FRONTDESK_SMTP_URL": smtp_url,
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_INSTANCE_DIR": instance,
        "FRONTDESK_SECRET_KEY": secrets.token_urlsafe(32),  # `frontdesk worker` refuses a weak one
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
        time.sleep(2.0)  # let the workers import and connect before any clock starts
        yield app.test_client(), {"Authorization": f"Bearer {token}"}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        db.get_db(app).engine.dispose()


def _post(client, headers: dict, body: dict, key: str) -> None:
    response = client.post(
        "/api/v1/messages", json=body, headers={**headers, "Idempotency-Key": key}
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def measure_notify(count: int, smtp_url: str, sink: CountingSink) -> tuple[float, float]:
    """(accepted/s through POST /messages, delivered/s from the first POST to the last mail).

    One client posts the messages one after another while the workers already send them:
    both share the 2 cores, so this is the API and the delivery together."""
    bodies = [message_body(n) for n in range(count)]
    with notify_setup(smtp_url, "bench_notify") as (client, headers):
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            _post(client, headers, body, f"b-{n}")
        accepted = time.perf_counter() - started
        assert sink.wait_for(count, timeout=600), f"only {len(sink.ids)} of {count} delivered"
        delivered = time.perf_counter() - started
    assert len(set(sink.ids)) == count, "a message arrived twice"
    return count / accepted, count / delivered


def measure_delivery(count: int, smtp_url: str, sink: CountingSink) -> tuple[float, float]:
    """(delivered/s by the workers from an outbox of `count` accepted messages, accepted/s).

    The messages are accepted through the API with one `send_at` a little ahead, so they all
    fall due at once, and the clock runs from then to the last mail in the sink: the workers'
    own rate (claim, render, MIME, SMTP, a commit per attempt), as raw smtplib's is its own.
    While they are accepted the workers have nothing due: that is the API's own accepting rate.
    """
    bodies = [message_body(n) for n in range(count)]
    with notify_setup(smtp_url, "bench_notify_delivery") as (client, headers):
        due = utcnow() + timedelta(seconds=5 + count / 50)
        accepting = time.perf_counter()
        for n, body in enumerate(bodies):
            _post(client, headers, {**body, "send_at": due.isoformat()}, f"d-{n}")
        accepted = count / (time.perf_counter() - accepting)
        ahead = (due - utcnow()).total_seconds()
        assert ahead > 0.5, "accepting took longer than planned: raise the margin"
        time.sleep(ahead)
        started = time.perf_counter()
        assert sink.wait_for(count, timeout=600), f"only {len(sink.ids)} of {count} delivered"
        delivered = time.perf_counter() - started
    assert len(set(sink.ids)) == count, "a message arrived twice"
    return count / delivered, accepted


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
                reply_to=None,
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
        smtp_url = f"smtp://127.0.0.1:{port}"
        # In turns, raw smtplib before, between and after (medians): a slow spell of the
        # machine falls on both sides, not on a single delivery run.
        raws, deliveries, accept_rates = [], [], []
        for _ in range(1 if quick else 2):
            raws.append(measure_raw_smtplib(count, "127.0.0.1", port, sink))
            sink.ids.clear()
            delivery, accept_rate = measure_delivery(count, smtp_url, sink)
            deliveries.append(delivery)
            accept_rates.append(accept_rate)
            sink.ids.clear()
        raws.append(measure_raw_smtplib(count, "127.0.0.1", port, sink))
        sink.ids.clear()
        accept_busy, end_to_end = measure_notify(count, smtp_url, sink)
    finally:
        controller.stop()
    raw = statistics.median(raws)
    delivery, accept_rate = statistics.median(deliveries), statistics.median(accept_rates)
    return [
        {
            "name": f"notify: email delivery from the outbox to the SMTP sink ({count} accepted iMIP emails, PostgreSQL, {WORKER_PROCESSES} worker processes)",
            "value": round(delivery, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(delivery / raw, 3),
            "target": f">= {TARGET_RATIO}x raw smtplib (issue 11)",
        },
        {
            "name": f"notify: POST /messages -> delivered, API and workers at once ({count} iMIP emails, one client posting in turn)",
            "value": round(end_to_end, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(end_to_end / raw, 3),
            "target": "reference: the API's accepting shares the 2 cores with the workers",
        },
        {
            "name": "notify: POST /messages accepted (validation, idempotency key, outbox row; "
            "one client in turn, the workers with nothing due)",
            "value": round(accept_rate, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(accept_rate / raw, 3),
            "target": ">= 1x raw smtplib (accepting must not wait for SMTP)",
        },
        {
            "name": "notify: POST /messages accepted while the workers send (the same cores)",
            "value": round(accept_busy, 1),
            "unit": "msg/s",
            "baseline": round(raw, 1),
            "ratio": round(accept_busy / raw, 3),
            "target": "reference: accepting and delivering share the 2 cores",
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.notify")
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    for row in run(quick=arguments.quick):
        print(row, file=sys.stdout)
