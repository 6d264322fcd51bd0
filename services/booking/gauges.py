"""Booking's gauges on /metrics: appointments by status and the outbox backlog to notify."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from services.booking.models import Appointment, OutboxIntent
from shared.metrics import register_gauge


def appointments_by_status(session: Session) -> dict[str, int]:
    """Appointments booked so far, by status."""
    rows = session.execute(
        sa.select(Appointment.status, sa.func.count()).group_by(Appointment.status)
    )
    return dict(rows.all())


def outbox_by_status(session: Session) -> dict[str, int]:
    """Message intents waiting for, delivered to or given up by notify."""
    rows = session.execute(
        sa.select(OutboxIntent.status, sa.func.count()).group_by(OutboxIntent.status)
    )
    return dict(rows.all())


def register(app: Flask) -> None:
    """Add booking's gauges to the app's /metrics."""
    register_gauge(
        app,
        "frontdesk_booking_appointments",
        "Appointments by status.",
        appointments_by_status,
        ("status",),
    )
    register_gauge(
        app, "frontdesk_booking_outbox", "Outbox intents by status.", outbox_by_status, ("status",)
    )
