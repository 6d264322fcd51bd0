"""Concurrent and crashing workers: every message delivered exactly once (by Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.notify import operations
from services.notify.models import Message
from services.notify.workers import WORKERS
from shared.db import get_db

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "").startswith("postgresql")


def queue_emails(app, count: int) -> None:
    """Put `count` due literal emails in the outbox."""
    with get_db(app).transaction() as session:
        for n in range(count):
            operations.create_message(
                session=session,
                fields={
                    "channel": "email",
                    "to": f"client{n}@example.org",
                    "subject": f"Message {n}",
                    "text": "Hello",
                },
                idempotency_key=None,
                fingerprint="",
                mail_from=app.config["MAIL_FROM"],
            )


def distinct_ids(sink) -> set[str]:
    return {m["Message-ID"] for m in sink.messages}


def wait_for_distinct(sink, count: int, timeout: float) -> bool:
    with sink.received:
        # Cheap test first: parsing every header on each arrival would slow the sink down.
        return sink.received.wait_for(
            lambda: len(sink.messages) >= count and len(distinct_ids(sink)) >= count, timeout
        )


def statuses(app) -> dict[str, int]:
    with get_db(app).transaction() as session:
        rows = session.execute(sa.select(Message.status, sa.func.count()).group_by(Message.status))
        return dict(rows.all())


@pytest.mark.parametrize(
    "workers",
    [
        pytest.param(2, id="postgresql-two-workers")
        if ON_POSTGRES
        else pytest.param(1, id="sqlite-one-worker")
    ],
)
def test_workers_deliver_1000_due_messages_exactly_once(notify_app, sink, workers):
    notify_app.config["SMTP_URL"] = sink.url
    queue_emails(notify_app, 1000)
    stop = threading.Event()
    threads = [
        threading.Thread(target=WORKERS["notify"].run, args=(notify_app, stop))
        for _ in range(workers)
    ]
    try:
        for thread in threads:
            thread.start()
        assert wait_for_distinct(sink, 1000, timeout=120)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        notify_app.config["SMTP_URL"] = "console://"
    assert len(sink.messages) == 1000
    assert len(distinct_ids(sink)) == 1000
    assert statuses(notify_app) == {"sent": 1000}
    with get_db(notify_app).transaction() as session:
        holders = set(session.scalars(sa.select(Message.leased_by).distinct()))
    assert len(holders) == workers


WORKER_SCRIPT = """
import sys, threading
from services.notify import outbox
from services.notify.workers import WORKERS
from services.notify.app import create_app
outbox.LEASE_SECONDS = 5.0
outbox.BATCH_SIZE = 50
app = create_app({"DATABASE_URL": sys.argv[1], "SMTP_URL": sys.argv[2], "LOG_LEVEL": "WARNING"})
WORKERS["notify"].run(app, threading.Event())
"""


def start_worker_process(database_url: str, smtp_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, database_url, smtp_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_worker_killed_mid_batch_then_restarted_delivers_everything_once(
    notify_app, sink, database_urls
):
    total = 300
    queue_emails(notify_app, total)
    first = start_worker_process(database_urls["notify"], sink.url)
    try:
        assert wait_for_distinct(sink, 40, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    delivered_before = len(distinct_ids(sink))
    assert delivered_before < total
    assert statuses(notify_app).get("sending", 0) > 0  # leased by the dead worker

    second = start_worker_process(database_urls["notify"], sink.url)
    try:
        assert wait_for_distinct(sink, total, timeout=90)
    finally:
        second.terminate()
        second.wait(timeout=10)
    assert distinct_ids(sink) == {
        m for m in _message_ids(notify_app)
    }  # every message arrived, identified by its stable Message-ID
    # At most the one message in flight at the kill can arrive twice (same Message-ID).
    assert len(sink.messages) - total <= 1
    assert statuses(notify_app) == {"sent": total}


def _message_ids(app) -> set[str]:
    with get_db(app).transaction() as session:
        return set(session.scalars(sa.select(Message.message_id)))
