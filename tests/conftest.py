"""Fixtures shared by every test: one migrated database per service, emptied after each test."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import pytest

from frontdesk import migrations
from frontdesk.suite import IN_PROCESS_BASE
from shared import db as shared_db
from shared import testing
from shared.translations import compile_catalogs

SERVICES = ("booking", "consent", "notify", "console")


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory) -> dict[str, str]:
    """One migrated test database per service for the whole run."""
    tmp = tmp_path_factory.mktemp("db")
    urls = {}
    for service in SERVICES:
        url = testing.test_database_url(service, tmp)
        migrations.upgrade(service, url)
        urls[service] = url
    return urls


@pytest.fixture(scope="session")
def service_token() -> str:
    return "fds_test-service-token-for-in-process-calls"


@pytest.fixture(scope="session")
def _apps(database_urls, service_token, tmp_path_factory):
    """The three apps, wired to call each other in-process, built once per run."""
    from frontdesk.suite import Suite

    holder = {}

    def in_process(environ, start_response):
        return holder["suite"](environ, start_response)

    instance = tmp_path_factory.mktemp("instance")
    apps = {}
    for service in SERVICES:
        factory = importlib.import_module(f"services.{service}.app").create_app
        apps[service] = factory(
            {
                "DATABASE_URL": database_urls[service],
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "SERVICE_TOKEN": service_token,
                "IN_PROCESS_WSGI": in_process,
                "BOOKING_URL": f"{IN_PROCESS_BASE}/booking",
                "CONSENT_URL": f"{IN_PROCESS_BASE}/consent",
                "NOTIFY_URL": f"{IN_PROCESS_BASE}/notify",
                "PUBLIC_URL": "http://frontdesk.test",
                "INSTANCE_DIR": str(instance),
                "SMTP_URL": "console://",
                "SMS_URL": "console://",
            }
        )
    holder["suite"] = Suite(apps)
    return apps


@pytest.fixture
def apps(_apps, service_token):
    """The three apps with empty databases, no rate-limit hits counted (the apps outlive the
    test) and the service token known to each."""
    from shared import auth

    for app in _apps.values():
        for limiter in app.extensions.get("limiter", ()):
            limiter.reset()
        if "booking_caches" in app.extensions:  # ids are reused once the tables are empty
            app.extensions["booking_caches"].clear()
        if hasattr(app.extensions.get("frontdesk_organization"), "forget"):  # consent's copy
            app.extensions["frontdesk_organization"].forget()
        with shared_db.get_db(app).transaction() as session:
            auth.store_token(
                session=session,
                model=app.extensions["frontdesk_token_model"],
                token=service_token,
                role="service",
                name="test service token",
            )
    yield _apps
    for service, app in _apps.items():
        models = importlib.import_module(f"services.{service}.models")
        testing.clean_database(shared_db.get_db(app), models.Base.metadata)


@pytest.fixture
def booking_app(apps):
    return apps["booking"]


@pytest.fixture
def consent_app(apps):
    return apps["consent"]


@pytest.fixture
def notify_app(apps):
    return apps["notify"]


@pytest.fixture
def console_app(apps):
    return apps["console"]


@pytest.fixture
def make_token(apps):
    """make_token(service, role, staff_id=None) -> a token accepted by that service."""

    def make(service: str, role: str = "admin", staff_id: int | None = None) -> str:
        app = apps[service]
        return testing.make_token(
            shared_db.get_db(app), app.extensions["frontdesk_token_model"], role, staff_id
        )

    return make


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) in the test process."""
    yield from testing.smtp_sink()


# --- Nothing personal in logs: every log line of the whole run is scanned at the end. ---

_PERSONAL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"  # email addresses
    r"|\+\d{8,15}"  # E.164 phone numbers
    r"|\bfd[a-z]_[A-Za-z0-9_-]{20,}"  # API tokens
)


class _LogCollector(logging.Handler):
    """Keeps what the code asked to log, before the formatter's redaction: the code itself
    must not log personal data; redaction is only the second line of defence."""

    _standard = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in record.__dict__.items() if k not in self._standard}
        self.lines.append(f"{record.name}: {record.getMessage()} {extras!r}")


_collector = _LogCollector()


def pytest_configure(config):
    logging.getLogger("frontdesk").addHandler(_collector)
    logging.getLogger("frontdesk").setLevel(logging.INFO)
    # The tests read the catalogs as the .po files say now (`make catalogs` without make).
    root = Path(__file__).resolve().parents[1]
    compile_catalogs([*root.glob("services/*/translations"), root / "shared" / "translations"])


def pytest_sessionfinish(session, exitstatus):
    leaks = [line for line in _collector.lines if _PERSONAL.search(line)]
    if leaks:
        print(f"\n{len(leaks)} log lines carry an email, phone number or token, e.g.:")
        for line in leaks[:5]:
            print("  ", line[:300])
        session.exitstatus = 1
    else:
        print(
            f"\nlog scan: {len(_collector.lines)} log lines, none with an email, phone number or token"
        )
