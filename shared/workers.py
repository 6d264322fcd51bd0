"""One loop for every background worker: do a step, rest when it found nothing, stop on request.

Each service lists its workers in its `workers.py` (`WORKERS`: kind -> Worker); a step takes the
service's database, its typed clients and its settings, commits its own batches, and returns how
much it did. `frontdesk worker KIND` runs one worker as a process, `frontdesk serve` all of them
in threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from shared.db import Database, get_db

log = logging.getLogger("frontdesk.workers")

ERROR_PAUSE_SECONDS = 5.0  # after a failed step (a database or a server that is down)

Step = Callable[[Database, Any, Mapping[str, Any]], int]


@dataclass(frozen=True)
class Worker:
    """A background job: `step(database, clients, settings)` does one batch, returns how much."""

    step: Step
    idle: float  # seconds to rest after a step that did nothing

    def run(self, app: Flask, stop: threading.Event) -> None:
        """Loop over the app's database, clients and settings until `stop` is set."""
        run(self, stop=stop, **context(app))


def context(app: Flask) -> dict[str, Any]:
    """What a step works with, taken from a service's app."""
    return {
        "database": get_db(app),
        "clients": app.extensions["clients"],
        "settings": app.config,
    }


def step_on(app: Flask, step: Step, **options: Any) -> int:
    """One step on a service's app (what tests call, with options such as a moved clock)."""
    return step(*context(app).values(), **options)


def run(
    worker: Worker,
    *,
    database: Database,
    clients: Any,
    settings: Mapping[str, Any],
    stop: threading.Event,
) -> None:
    """Step until `stop` is set (at least once); rest `idle` seconds after a step that did
    nothing, and at least ERROR_PAUSE_SECONDS after one that failed (the loop survives a bad
    batch and a database blip)."""
    name = getattr(worker.step, "__qualname__", "step")
    log.info("worker started", extra={"step": name})
    while True:
        try:
            rest = 0.0 if worker.step(database, clients, settings) else worker.idle
        except Exception:
            log.exception("worker step failed", extra={"step": name})
            rest = max(worker.idle, ERROR_PAUSE_SECONDS)
        if stop.wait(rest):
            break
    log.info("worker stopped", extra={"step": name})
