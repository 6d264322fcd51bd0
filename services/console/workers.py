"""The console's background workers, run by `frontdesk worker <kind>` (kind -> Worker)."""

from __future__ import annotations

from services.console import outbox
from services.console.operations import summaries
from shared.workers import Worker

WORKERS: dict[str, Worker] = {
    "console": Worker(step=outbox.dispatch, idle=1.0),
    # Looks every 5 minutes whose Monday 07:00 has come (notify's key makes it once per week).
    "console-summary": Worker(step=summaries.send_weekly_summaries, idle=300.0),
}
