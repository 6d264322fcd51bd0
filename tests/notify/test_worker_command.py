"""`frontdesk worker notify` as its own process: delivers, then stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from services.notify.models import Message
from shared.db import get_db

ROOT = Path(__file__).resolve().parents[2]


def test_worker_command_delivers_and_stops_on_sigterm(
    post_message, notify_app, sink, database_urls
):
    created = post_message(template=None, data=None, subject="Hi", text="Hello").json
    process = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "worker", "notify"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FRONTDESK_DATABASE_URL": database_urls["notify"],
            "FRONTDESK_SMTP_URL": sink.url,
            "FRONTDESK_SECRET_KEY": "a-worker-secret-key-of-32-bytes-or-more",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        [mail] = sink.wait_for(1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert mail["Subject"] == "Hi"
    assert b"ana@example.org" not in stderr  # logs carry ids, not addresses
    with get_db(notify_app).transaction() as session:
        status = session.scalar(sa.select(Message.status).where(Message.id == created["id"]))
    assert status == "sent"
