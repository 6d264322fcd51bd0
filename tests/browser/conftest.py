"""Browser tests: the whole suite under `frontdesk serve` in a subprocess, driven by Debian's
Chromium through Playwright, with axe-core (from npm) checking each page.

Every process started here is stopped in a `finally`, whatever the test's outcome.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browser_checks import ACCESS_NOTES_AR, CONSENT_FORM, JOIN_AR, PHONE, watch_console

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Served:
    """The running suite: its base URL, an admin token for the REST API, its instance folder
    (emails are files in instance/mail) and the first admin's console sign-in link."""

    base: str
    admin_token: str
    instance: Path
    admin_sign_in: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """`frontdesk serve` on SQLite files in a temporary instance folder; email to files."""
    instance = tmp_path_factory.mktemp("browser-suite")
    port = _free_port()
    env = {
        **os.environ,
        "FRONTDESK_INSTANCE_DIR": str(instance),
        "FRONTDESK_BOOKING_DATABASE_URL": f"sqlite:///{instance / 'booking.db'}",
        "FRONTDESK_CONSENT_DATABASE_URL": f"sqlite:///{instance / 'consent.db'}",
        "FRONTDESK_NOTIFY_DATABASE_URL": f"sqlite:///{instance / 'notify.db'}",
        "FRONTDESK_CONSOLE_DATABASE_URL": f"sqlite:///{instance / 'console.db'}",
        "FRONTDESK_SMTP_URL": f"file://{instance / 'mail'}",
        "FRONTDESK_SMS_URL": f"file://{instance / 'sms'}",
        # A test's browser may say which client it is (X-Forwarded-For), so the bookings of
        # one test never use up the next one's rate limit (10 posts a minute per address).
        "FRONTDESK_TRUSTED_PROXIES": "1",
    }
    env.pop("FRONTDESK_PUBLIC_URL", None)
    log_path = instance / "serve.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=instance,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if httpx.get(f"{base}/consent/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            output = log_path.read_text()
            assert process.poll() is None and "Admin token:" in output, output
            token = output.split("Admin token:")[1].split()[0]
            sign_in = output.split("First admin sign-in:")[1].split()[0]
            yield Served(base=base, admin_token=token, instance=instance, admin_sign_in=sign_in)
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def console_link(served):
    """console_link(staff_id) -> a fresh sign-in link for that staff member, made in the
    console's database as `frontdesk serve` makes the first admin's (no email, no rate limit)."""
    from services.console.operations import links
    from shared.db import Database

    database = Database(f"sqlite:///{served.instance / 'console.db'}")

    def make(staff_id: int) -> str:
        with database.transaction() as session:
            token = links.issue_link(session=session, staff_id=staff_id, purpose="invitation")
        return f"{served.base}/console/sign-in/{token}"

    try:
        yield make
    finally:
        database.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless (`playwright install` cannot download here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(browser):
    """A fresh 390 px wide touch screen (no cookies carried over), with its console watched."""
    context = browser.new_context(viewport=PHONE, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.console_problems = watch_console(page)
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def clinic(served):
    """A staff member free every day (Toronto), a service in the three modes that needs the
    consent form signed, and its slug."""
    suffix = uuid.uuid4().hex[:8]
    with served.api() as api:
        form = api.post(
            "/consent/api/v1/templates", json={**CONSENT_FORM, "name": f"Recording {suffix}"}
        )
        assert form.status_code == 201, form.text
        staff = api.post(
            "/booking/api/v1/staff",
            json={
                "name": "Amira Haddad",
                "email": f"amira-{suffix}@maple.example",
                "time_zone": "America/Toronto",
                "languages": ["en", "fr", "ar"],
                "video_link_template": "https://meet.example.org/amira",
                "dial_in": "+14165550199",
            },
        )
        assert staff.status_code == 201, staff.text
        staff_id = staff.json()["id"]
        rules = api.put(
            f"/booking/api/v1/staff/{staff_id}/availability/rules",
            json={
                "rules": [
                    {"weekday": day, "start_time": "00:00", "end_time": "23:45"} for day in range(7)
                ]
            },
        )
        assert rules.status_code == 200, rules.text
        service = api.post(
            "/booking/api/v1/services",
            json={
                "name": "Settlement intake",
                "slug": f"intake-{suffix}",
                "description": "A first talk about what you need.",
                "duration_minutes": 30,
                "modes": ["video", "phone", "in_person"],
                "location": "12 Maple Street, Toronto",
                "min_notice_minutes": 0,
                "horizon_days": 30,
                "slot_step_minutes": 30,
                "staff_ids": [staff_id],
                "required_consent_template_ids": [form.json()["id"]],
                "resources": [{"title": "Your ID card"}],
                # Shown on the confirmation and manage pages (multi-line, the Arabic RTL).
                "join_instructions": "Keep your phone free.\nIf we miss you, we call again.",
                "access_notes": "Side entrance, step-free.\n2nd floor, buzzer 4.",
                "translations": {
                    "ar": {"access_notes": ACCESS_NOTES_AR, "join_instructions": JOIN_AR},
                    "fr": {"join_instructions": "Gardez votre téléphone libre.\nNous rappelons."},
                    "es": {"join_instructions": "Tenga su teléfono libre.\nLe volvemos a llamar."},
                },
            },
        )
        assert service.status_code == 201, service.text
    return service.json()["slug"]
