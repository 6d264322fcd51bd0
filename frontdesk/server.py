"""`frontdesk serve`: the suite under gunicorn (one process, threads), workers in threads."""

from __future__ import annotations

import logging
import threading
from typing import Any

import click
import sqlalchemy as sa
from gunicorn.app.base import BaseApplication

from frontdesk.suite import Suite, create_suite
from frontdesk.workers import WORKERS, worker_function
from services.booking.models import Staff
from services.booking.operations import catalog
from services.console.models import ConsoleSession
from services.console.operations import links
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
    """A fresh admin token accepted by every service, printed once at start."""
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


def first_run_sign_in_link(suite: Suite, public: str) -> str | None:
    """A one-time console sign-in link for the first admin, until anyone has signed in.

    The admin is booking's first active staff member with role admin (the demo's office
    manager); without one, an "Administrator" is added for the newcomer to rename in Setup.
    Made in the console's database directly: nobody can receive an email yet.
    """
    with db.get_db(suite.apps["console"]).transaction() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(ConsoleSession)):
            return None
    with db.get_db(suite.apps["booking"]).transaction() as session:
        admin = session.scalar(
            sa.select(Staff).where(Staff.role == "admin", Staff.active).order_by(Staff.id)
        )
        if admin is None:
            admin = catalog.create_staff(
                session=session,
                name="Administrator",
                email="admin@localhost",
                time_zone="UTC",
                role="admin",
            )
        admin_id = admin.id
    with db.get_db(suite.apps["console"]).transaction() as session:
        token = links.issue_link(session=session, staff_id=admin_id, purpose="invitation")
    return f"{public}/console/sign-in/{token}"


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
    sign_in_link = first_run_sign_in_link(suite, public)
    config = load_config()
    click.echo(
        "\n".join(
            [
                "",
                "Frontdesk is running.",
                f"  Public booking page:  {public}/booking/",
                f"  Staff console:        {public}/console/",
                *(
                    [f"  First admin sign-in:  {sign_in_link}  (works once, for 7 days)"]
                    if sign_in_link
                    else []
                ),
                *[
                    f"  {name.capitalize()} API docs: {public}/{name}/docs"
                    for name in suite.apps
                    if name != "console"
                ],
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
