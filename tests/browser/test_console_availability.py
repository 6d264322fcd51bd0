"""The availability journey in Chromium at 390 px: a staff member signs in from the emailed
link, edits Tuesday's hours (adding an interval with the button), and Monday and Wednesday are
unchanged through the API; the page, the feed-link pages pass axe (WCAG 2.2 AA) in every
language, left-to-right and right-to-left."""

from __future__ import annotations

import email
import re
import time
import uuid
from email import policy

import pytest
from browser_checks import WCAG_22_AA, check_accessibility, narrow_enough, screenshot

pytestmark = pytest.mark.browser

WEEK = [
    {"weekday": 0, "start_time": "09:00", "end_time": "12:00"},
    {"weekday": 0, "start_time": "13:00", "end_time": "17:00"},
    {"weekday": 1, "start_time": "09:00", "end_time": "17:00"},
    {"weekday": 2, "start_time": "08:30", "end_time": "16:30"},
]


def _emailed_link(mail_dirs, address: str, timeout: float = 30) -> str:
    """The console sign-in link in the newest email to `address` (the outbox is a folder)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for folder in mail_dirs():
            for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] == address:
                    text = message.get_body(("plain",)).get_content()
                    return re.search(r"https?://\S+/console/sign-in/\S+", text).group(0)
        time.sleep(0.3)
    raise AssertionError(f"no sign-in email reached {address}")


def _sign_in(page, served, mail_dirs, address: str) -> None:
    page.goto(f"{served.base}/console/sign-in")
    page.fill("#email", address)
    page.get_by_role("button", name=re.compile("link", re.I)).click()
    link = _emailed_link(mail_dirs, address)
    page.goto(re.sub(r"^https?://[^/]+", served.base, link))
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/(\?.*)?$"))


def _check(page, name: str) -> None:
    narrow_enough(page)
    screenshot(page, f"console/{name}")
    violations = check_accessibility(page, WCAG_22_AA)
    assert violations == [], f"{page.url}: {violations}"
    assert page.console_problems == []


def test_editing_tuesday_keeps_monday_and_wednesday(served, phone, tmp_path_factory):
    instance_dirs = list(tmp_path_factory.getbasetemp().glob("browser-suite*"))

    def mail_dirs():
        return [folder / "mail" for folder in instance_dirs if (folder / "mail").exists()]

    address = f"avail-{uuid.uuid4().hex[:8]}@maple.example"
    with served.api() as api:
        staff = api.post(
            "/booking/api/v1/staff",
            json={"name": "Amira Haddad", "email": address, "time_zone": "America/Toronto"},
        )
        assert staff.status_code == 201, staff.text
        staff_id = staff.json()["id"]
        rules = f"/booking/api/v1/staff/{staff_id}/availability/rules"
        assert api.put(rules, json={"rules": WEEK}).status_code == 200

    page = phone
    _sign_in(page, served, mail_dirs, address)
    page.goto(f"{served.base}/console/availability?lang=en")
    tuesday = page.locator("#day-1")
    tuesday.locator("#day-1-0-end").fill("12:00")
    tuesday.get_by_role("button", name="Add interval").click()
    tuesday.locator("#day-1-1-start").fill("13:00")
    tuesday.locator("#day-1-1-end").fill("16:00")
    tuesday.locator("#day-1-2-start").fill("17:00")  # the new row from the button
    tuesday.locator("#day-1-2-end").fill("18:00")
    tuesday.get_by_role("button", name="Save Tuesday").click()
    page.get_by_text("Tuesday saved.").wait_for()

    with served.api() as api:
        week = api.get(rules).json()
    by_day = {
        day: [(r["start_time"], r["end_time"]) for r in week if r["weekday"] == day]
        for day in range(7)
    }
    assert by_day[0] == [("09:00", "12:00"), ("13:00", "17:00")]
    assert by_day[1] == [("09:00", "12:00"), ("13:00", "16:00"), ("17:00", "18:00")]
    assert by_day[2] == [("08:30", "16:30")]

    for lang in ("en", "fr", "es", "ar"):
        page.goto(f"{served.base}/console/availability?lang={lang}")
        assert page.evaluate("document.documentElement.lang") == lang
        _check(page, f"availability-{lang}")
    page.goto(f"{served.base}/console/availability/feed?lang=en")
    _check(page, "feed-confirm")
    page.locator("main button[type=submit]").click()
    assert page.locator("#feed-url").input_value().startswith("http")
    _check(page, "feed-link")
