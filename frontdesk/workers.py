"""Background workers by kind: `frontdesk worker KIND` runs one; `frontdesk serve` runs all in threads.

Each entry names the service whose app the worker needs and a function
`run(app, stop: threading.Event) -> None` that loops until `stop` is set, committing per batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# kind -> (service, "module:function")
WORKERS: dict[str, tuple[str, str]] = {
    "notify": ("notify", "services.notify.worker:run"),
    "consent": ("consent", "services.consent.outbox:run"),
}


def worker_function(kind: str) -> tuple[str, Callable]:
    """The service name and run function of a worker kind."""
    service, target = WORKERS[kind]
    module_name, _, function_name = target.partition(":")
    return service, getattr(importlib.import_module(module_name), function_name)


WORKERS["booking"] = ("booking", "services.booking.outbox:run")
WORKERS["calendars"] = ("booking", "services.booking.calendars:run")
WORKERS["retention-booking"] = ("booking", "services.booking.privacy:run_retention")
WORKERS["retention-consent"] = ("consent", "services.consent.privacy:run_retention")
WORKERS["retention-notify"] = ("notify", "services.notify.privacy:run_retention")
