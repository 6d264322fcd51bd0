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
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Served:
    """The running suite: its base URL and an admin token for the REST API."""

    base: str
    admin_token: str

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
        "FRONTDESK_SMTP_URL": f"file://{instance / 'mail'}",
        "FRONTDESK_SMS_URL": f"file://{instance / 'sms'}",
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
            yield Served(base=base, admin_token=token)
        finally:
            _stop(process)


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


def watch_console(page) -> list[str]:
    """Errors the page logs (a CSP violation, a script error, a missing style sheet or script);
    a page's own 4xx status (an error page shown on purpose) is not one. Fills as the page runs."""
    problems: list[str] = []

    def seen(message) -> None:
        url = message.location.get("url", "")
        expected = message.text.startswith("Failed to load resource") and "/static/" not in url
        if message.type == "error" and not expected:
            problems.append(f"{message.text} ({url})")

    page.on("console", seen)
    return problems


def check_accessibility(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the current page (evaluated, since the pages'
    CSP rightly refuses an injected inline script)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_AA,
    )
    return [
        {
            "id": violation["id"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
    ]


def narrow_enough(page, width: int = PHONE["width"]) -> None:
    """The page fits a screen `width` CSS pixels wide: nothing makes it scroll sideways."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """limit => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > limit)
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)""",
        width,
    )
    assert scroll <= width, f"{page.url} scrolls sideways ({scroll} px): {wide}"


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (kept as a CI artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
