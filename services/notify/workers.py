"""Notify's background workers, run by `frontdesk worker KIND` (kind -> Worker)."""

from __future__ import annotations

from services.notify import outbox, privacy
from shared.privacy import daily
from shared.workers import Worker

WORKERS: dict[str, Worker] = {
    "notify": Worker(step=outbox.deliver, idle=outbox.IDLE_SECONDS),  # the outbox
    "retention-notify": daily(privacy.apply_retention),
}
