"""Background workers by kind: `frontdesk worker KIND` runs one; `frontdesk serve` runs all in threads.

Each service lists its own in its `workers.py`; a worker's `run(app, stop)` loops until `stop`
is set, committing per batch (shared/workers.py).
"""

from __future__ import annotations

from collections.abc import Callable

from services.booking import workers as booking
from services.consent import workers as consent
from services.console import workers as console
from services.notify import workers as notify
from shared.workers import Worker

# kind -> (service, worker)
WORKERS: dict[str, tuple[str, Worker]] = {
    kind: (service, worker)
    for service, table in (
        ("notify", notify.WORKERS),
        ("consent", consent.WORKERS),
        ("booking", booking.WORKERS),
        ("console", console.WORKERS),
    )
    for kind, worker in table.items()
}


def worker_function(kind: str) -> tuple[str, Callable]:
    """The service name and `run(app, stop)` function of a worker kind."""
    service, worker = WORKERS[kind]
    return service, worker.run
