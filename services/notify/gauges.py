"""Notify's gauges on /metrics: messages by channel and status, and the due backlog."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from services.notify.models import Message
from shared.db import utcnow
from shared.metrics import register_gauge


def messages_by_status(session: Session) -> dict[tuple[str, str], int]:
    """How many messages each channel holds in each status."""
    rows = session.execute(
        sa.select(Message.channel, Message.status, sa.func.count()).group_by(
            Message.channel, Message.status
        )
    )
    return {(channel, status): count for channel, status, count in rows}


def outbox_due(session: Session) -> int:
    """Messages waiting to be sent whose time has come (the outbox depth)."""
    query = sa.select(sa.func.count()).where(
        Message.status == "scheduled", Message.next_attempt_at <= utcnow()
    )
    return session.scalar(query) or 0


def register(app: Flask) -> None:
    """Add notify's gauges to the app's /metrics."""
    register_gauge(
        app,
        "frontdesk_notify_messages",
        "Messages by channel and status.",
        messages_by_status,
        ("channel", "status"),
    )
    register_gauge(
        app, "frontdesk_notify_outbox_due", "Scheduled messages already due.", outbox_due
    )
