"""Consent's gauges on /metrics: requests by status and the outbox backlog."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from services.consent.models import ConsentRequest, OutboxItem
from shared.metrics import register_gauge


def requests_by_status(session: Session) -> dict[str, int]:
    """Consent requests in each status."""
    rows = session.execute(
        sa.select(ConsentRequest.status, sa.func.count()).group_by(ConsentRequest.status)
    )
    return dict(rows.all())


def outbox_pending(session: Session) -> int:
    """Calls to notify and booking not yet delivered (nor given up)."""
    query = sa.select(sa.func.count()).where(OutboxItem.status == "pending")
    return session.scalar(query) or 0


def register(app: Flask) -> None:
    """Add consent's gauges to the app's /metrics."""
    register_gauge(
        app,
        "frontdesk_consent_requests",
        "Consent requests by status.",
        requests_by_status,
        ("status",),
    )
    register_gauge(
        app, "frontdesk_consent_outbox_pending", "Outbox calls not yet delivered.", outbox_pending
    )
