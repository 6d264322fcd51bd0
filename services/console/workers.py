"""The console's background worker, run by `frontdesk worker console` (kind -> Worker)."""

from __future__ import annotations

from services.console import outbox
from shared.workers import Worker

WORKERS: dict[str, Worker] = {
    "console": Worker(step=outbox.dispatch, idle=1.0),
}
