"""`frontdesk serve`: the suite under gunicorn (one process, threads), workers in threads."""

from __future__ import annotations

import logging
import threading
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from frontdesk.suite import Suite, create_suite
from frontdesk.workers import WORKERS, worker_function
from shared import auth, db
from shared.config import load_config

log = logging.getLogger("frontdesk.serve")


class SuiteServer(BaseApplication):
    """gunicorn running the already-built suite; one worker process so threads share it."""

    def __init__(self, suite: Suite, options: dict[str, Any]) -> None:
        self.suite = suite
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Suite:
        return self.suite


def start_workers(suite: Suite) -> threading.Event:
    """Start every registered background worker in a daemon thread of this process."""
    stop = threading.Event()
    for kind in WORKERS:
        service, run = worker_function(kind)
        thread = threading.Thread(
            target=run, args=(suite.apps[service], stop), name=f"worker-{kind}", daemon=True
        )
        thread.start()
    return stop


def create_admin_token(suite: Suite) -> str:
    """A fresh admin token accepted by all three services, printed once at start."""
    token = auth.new_token("fda")
    for app in suite.apps.values():
        with db.get_db(app).transaction() as session:
            auth.store_token(
                session=session,
                model=app.extensions["frontdesk_token_model"],
                token=token,
                role="admin",
                name="frontdesk serve",
            )
    return token


def serve_suite(*, host: str, port: int, threads: int, demo: bool) -> None:
    """Migrate, create the demo on an empty suite, print the links and an admin token, serve."""
    public = f"http://{host}:{port}"
    overrides = {}
    if load_config()["PUBLIC_URL"] == "http://127.0.0.1:8000":
        overrides["PUBLIC_URL"] = public
    suite = create_suite(overrides)
    lines: list[str] = []
    if demo:
        from frontdesk.demo import describe, load_demo

        created = load_demo(suite.apps)
        lines = describe(public, created) if created else ["", "Demo data: already loaded."]
    token = create_admin_token(suite)
    config = load_config()
    click.echo(
        "\n".join(
            [
                "",
                "Frontdesk is running.",
                f"  Public booking page:  {public}/booking/",
                *[f"  {name.capitalize()} API docs: {public}/{name}/docs" for name in suite.apps],
                f"  Admin token:          {token}",
                f"  Email goes to:        {config['SMTP_URL']}  (set FRONTDESK_SMTP_URL for real SMTP)",
                f"  SMS goes to:          {config['SMS_URL']}  (set FRONTDESK_SMS_URL for a provider)",
                *lines,
                "",
            ]
        ),
        err=True,
    )

    def post_worker_init(_worker) -> None:
        start_workers(suite)

    SuiteServer(
        suite,
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "accesslog": None,
            "post_worker_init": post_worker_init,
            "control_socket_disable": True,
        },
    ).run()
