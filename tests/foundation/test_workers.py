"""Every background worker runs on one loop (shared/workers.py), listed by its service."""

from __future__ import annotations

import importlib
import threading

import pytest

from frontdesk.workers import WORKERS
from shared import workers
from shared.workers import Worker


def test_every_worker_kind_comes_from_its_services_workers_table():
    for kind, (service, worker) in WORKERS.items():
        table = importlib.import_module(f"services.{service}.workers").WORKERS
        assert table[kind] is worker
    assert sorted(WORKERS) == [
        "booking",
        "calendars",
        "consent",
        "console",
        "console-summary",
        "notify",
        "retention-booking",
        "retention-consent",
        "retention-notify",
    ]


def test_worker_loop_survives_a_failing_step_rests_when_idle_and_stops(monkeypatch):
    monkeypatch.setattr(workers, "ERROR_PAUSE_SECONDS", 0.01)
    stop, calls = threading.Event(), []

    def step(database, clients, settings) -> int:
        calls.append((database, clients, settings["SERVICE_NAME"]))
        if len(calls) == 1:
            raise RuntimeError("the database blinked")
        if len(calls) == 3:
            stop.set()
        return 1 if len(calls) == 2 else 0

    thread = threading.Thread(
        target=workers.run,
        args=(Worker(step=step, idle=0.01),),
        kwargs={
            "database": "db",
            "clients": "clients",
            "settings": {"SERVICE_NAME": "x"},
            "stop": stop,
        },
    )
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert calls == [("db", "clients", "x")] * 3


@pytest.mark.parametrize("service", ["booking", "consent", "notify"])
def test_a_worker_runs_one_step_on_its_apps_database_clients_and_settings(apps, service):
    app, seen = apps[service], []
    stop = threading.Event()
    stop.set()  # one step, then the loop stops

    def step(database, clients, settings) -> int:
        seen.append((database, clients, settings))
        return 0

    Worker(step=step, idle=60).run(app, stop)
    (database, clients, settings), expected = seen[0], app.extensions["clients"]
    assert (clients, settings["SERVICE_NAME"]) == (expected, service)
    assert database is importlib.import_module("shared.db").get_db(app)
