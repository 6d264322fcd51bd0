"""The all-in-one suite: booking, consent, notify and the console mounted in one WSGI app.

Services still talk to each other over REST, through an in-process WSGI transport, with a
service token; only the network hop is saved.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from frontdesk import migrations
from services.booking.app import create_app as create_booking
from services.consent.app import create_app as create_consent
from services.console.app import create_app as create_console
from services.notify.app import create_app as create_notify
from shared import auth, db
from shared.config import load_config

SERVICES = {
    "booking": create_booking,
    "consent": create_consent,
    "notify": create_notify,
    "console": create_console,
}
IN_PROCESS_BASE = "http://frontdesk.internal"


class Suite:
    """The apps and the WSGI dispatcher that mounts them under /booking, /consent, /notify, /console."""

    def __init__(self, apps: dict[str, Flask]) -> None:
        self.apps = apps
        root = Flask("frontdesk.suite")

        @root.get("/")
        def index():
            return redirect("booking/")

        self.wsgi = DispatcherMiddleware(root, {f"/{name}": app for name, app in apps.items()})

    def __call__(self, environ, start_response):
        return self.wsgi(environ, start_response)


def read_or_create_secret(path: Path, make) -> str:
    """Read a secret kept in a file (mode 600), creating it on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def create_suite(overrides: Mapping[str, Any] | None = None, *, migrate: bool = True) -> Suite:
    """Build the suite on the configured databases (SQLite files in ./var by default)."""
    base = load_config(None, overrides)
    instance = Path(base["INSTANCE_DIR"])
    service_token = base["SERVICE_TOKEN"] or read_or_create_secret(
        instance / "service-token", lambda: auth.new_token("fds")
    )
    secret_key = base["SECRET_KEY"]
    if secret_key == "dev-insecure-change-me":  # noqa: S105 - the documented default
        secret_key = read_or_create_secret(instance / "secret-key", lambda: auth.new_token("key"))
    suite_holder: dict[str, Any] = {}

    def in_process(environ, start_response):
        return suite_holder["suite"](environ, start_response)

    apps = {}
    for name, factory in SERVICES.items():
        config = {
            "SECRET_KEY": secret_key,
            "SERVICE_TOKEN": service_token,
            "IN_PROCESS_WSGI": in_process,
            "BOOKING_URL": f"{IN_PROCESS_BASE}/booking",
            "CONSENT_URL": f"{IN_PROCESS_BASE}/consent",
            "NOTIFY_URL": f"{IN_PROCESS_BASE}/notify",
            **dict(overrides or {}),
        }
        url = load_config(name, config)["DATABASE_URL"]
        if migrate:
            migrations.upgrade(name, url)
        app = factory(config)
        with db.get_db(app).transaction() as session:
            auth.store_token(
                session=session,
                model=app.extensions["frontdesk_token_model"],
                token=service_token,
                role="service",
                name="suite service token",
            )
        apps[name] = app
    suite = Suite(apps)
    suite_holder["suite"] = suite
    return suite
