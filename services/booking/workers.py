"""Booking's background workers, run by `frontdesk worker KIND` (kind -> Worker)."""

from __future__ import annotations

from services.booking import outbox, privacy
from services.booking.operations import calendars
from shared.privacy import daily
from shared.workers import Worker

WORKERS: dict[str, Worker] = {
    "booking": Worker(step=outbox.dispatch, idle=1.0),  # messages and consent requests
    "calendars": Worker(step=calendars.refresh_step, idle=calendars.IDLE_SECONDS),
    "retention-booking": daily(privacy.apply_retention),
}
