"""The staff console in real Chromium on a phone-sized screen: a staff member signs in from
the emailed link (read from the mail notify wrote), sees today's appointment with the client's
backup number as a tel: link, moves between days from the keyboard; axe-core (WCAG 2.2 AA) on
the sign-in, link and agenda pages in en/fr/es/ar at 390 px."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from browser_checks import (
    PHONE,
    WCAG_22_AA,
    check_accessibility,
    expect_heading,
    narrow_enough,
    screenshot,
    watch_console,
)

pytestmark = pytest.mark.browser
TORONTO = ZoneInfo("America/Toronto")
LANGS = ("en", "fr", "es", "ar")


@pytest.fixture(scope="module")
def booked(served):
    """A staff member (Toronto) with the next free appointment booked: (email, appointment)."""
    suffix = uuid.uuid4().hex[:8]
    email = f"noor-{suffix}@maple.example"
    with served.api() as api:
        staff = api.post(
            "/booking/api/v1/staff",
            json={
                "name": "Noor Rahimi",
                "email": email,
                "time_zone": "America/Toronto",
                "languages": ["en", "fr"],
                "video_link_template": "https://meet.example.org/noor",
            },
        )
        assert staff.status_code == 201, staff.text
        staff_id = staff.json()["id"]
        rules = [{"weekday": day, "start_time": "00:00", "end_time": "23:45"} for day in range(7)]
        answer = api.put(
            f"/booking/api/v1/staff/{staff_id}/availability/rules", json={"rules": rules}
        )
        assert answer.status_code == 200, answer.text
        service = api.post(
            "/booking/api/v1/services",
            json={
                "name": "Housing check-in",
                "slug": f"housing-{suffix}",
                "duration_minutes": 15,
                "modes": ["video", "phone"],
                "min_notice_minutes": 0,
                "horizon_days": 7,
                "slot_step_minutes": 15,
                "staff_ids": [staff_id],
            },
        )
        assert service.status_code == 201, service.text
        today = datetime.now(TORONTO).date()
        slots = api.get(
            f"/booking/api/v1/services/{service.json()['id']}/slots",
            params={
                "start": str(today),
                "end": str(today + timedelta(days=2)),
                "tz": "America/Toronto",
            },
        )
        assert slots.status_code == 200 and slots.json()["slots"], slots.text
        start = slots.json()["slots"][0]["start"]
        appointment = api.post(
            "/booking/api/v1/appointments",
            json={
                "service_id": service.json()["id"],
                "start": start,
                "mode": "video",
                "client": {
                    "name": "Ana López",
                    "email": f"ana-{suffix}@example.org",
                    "phone": "+1 416 555 0123",
                    "language": "es",
                    "time_zone": "America/Toronto",
                },
                "backup": {"callback_number": "+1 416 555 0123", "use_dial_in": False},
                "accommodations": {"captions": True, "interpreter_language": "Portuguese"},
            },
            headers={"X-Forwarded-For": "192.0.2.77"},
        )
        assert appointment.status_code == 201, appointment.text
    return email, appointment.json()["appointment"]


@pytest.fixture(scope="module")
def seen_links() -> set[str]:
    """The links the module's tests have used already."""
    return set()


def phone_context(browser, client_number: int):
    """A 390 px touch screen as its own client address (the sign-in form's limits count per
    address)."""
    return browser.new_context(
        viewport=PHONE,
        has_touch=True,
        device_scale_factor=1,
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{client_number}"},
    )


def emailed_link(served, address: str, seen: set[str], timeout: float = 45) -> str:
    """The newest console link mailed to `address` that is not in `seen` (waits for the
    console's and notify's workers to send it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = sorted((served.instance / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime)
        for path in reversed(mails):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] != address:
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(r"https?://\S+/console/sign-in/\S+", text)
            if found and found.group(0) not in seen:
                seen.add(found.group(0))
                return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"no sign-in link mailed to {address}")


def ask_for_link(page, base: str, email: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.locator("#email").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect_heading(page, "Check your email")


def test_staff_member_signs_in_from_the_email_and_sees_todays_appointment(
    served, browser, booked, seen_links
):
    email, appointment = booked
    context = phone_context(browser, 100)
    try:
        page = context.new_page()
        problems = watch_console(page)
        ask_for_link(page, served.base, email)
        screenshot(page, "console/link-sent")
        link = emailed_link(served, email, seen_links)
        page.goto(link)
        expect_heading(page, "Sign in to the console")
        page.get_by_role("button", name="Sign in").click()
        expect_heading(page, "Agenda")
        day = datetime.fromisoformat(appointment["start"]).astimezone(TORONTO).date()
        if day != datetime.now(TORONTO).date():  # booked late at night: tomorrow's first slot
            page.goto(f"{served.base}/console/?day={day}")
        row = page.locator(".agenda-row").first
        assert "Ana López" in row.inner_text()
        callback = row.locator('a[href^="tel:"]')
        assert callback.get_attribute("href") == "tel:+14165550123"
        assert row.locator(".interpreter").inner_text() == "Interpreter: Portuguese"
        assert (
            row.locator("h3 a")
            .get_attribute("href")
            .endswith(f"/console/appointments/{appointment['id']}")
        )
        narrow_enough(page)
        screenshot(page, "console/agenda")
        # ] and [ move a day forward and back (plain links without the script).
        page.keyboard.press("]")
        page.wait_for_url(re.compile(rf"day={day + timedelta(days=1)}"))
        page.keyboard.press("[")
        page.wait_for_url(re.compile(rf"day={day}"))
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_console_pages_pass_axe_in_every_language_at_390px(
    served, browser, booked, seen_links, lang
):
    email, _appointment = booked
    context = phone_context(browser, 101 + LANGS.index(lang))
    try:
        page = context.new_page()
        problems = watch_console(page)
        page.goto(f"{served.base}/console/sign-in?lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        checked = {}
        checked["sign-in"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        page.locator("#email").fill("not-an-address")
        page.locator("form[action$='/sign-in'] button").click()
        checked["sign-in with an error"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        page.locator("#email").fill(email)
        page.locator("form[action$='/sign-in'] button").click()
        checked["link sent"] = check_accessibility(page, WCAG_22_AA)
        link = emailed_link(served, email, seen_links)
        page.goto(f"{link}?lang={lang}")
        checked["link"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        screenshot(page, f"console/confirm-{lang}")
        page.locator("main form button").click()
        page.locator(".day-nav").wait_for()
        page.goto(f"{served.base}/console/?lang={lang}")
        checked["agenda"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        screenshot(page, f"console/agenda-{lang}")
        assert {name: found for name, found in checked.items() if found} == {}
        assert problems == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def office_manager(served) -> int:
    """The demo's admin (the office manager): her staff id."""
    with served.api() as api:
        staff = api.get("/booking/api/v1/staff", params={"email": "office@maple.example"})
    assert staff.status_code == 200 and staff.json(), staff.text
    return staff.json()[0]["id"]


@pytest.mark.parametrize("lang", LANGS)
def test_admin_invites_a_staff_member_and_the_page_passes_axe(
    served, browser, console_link, office_manager, lang
):
    context = phone_context(browser, 110 + LANGS.index(lang))
    try:
        page = context.new_page()
        problems = watch_console(page)
        page.goto(console_link(office_manager))
        page.locator("main form button").click()
        page.locator(".day-nav").wait_for()
        page.goto(f"{served.base}/console/?lang={lang}&staff=all")
        assert page.locator("#staff").is_visible()  # admins choose whose agenda
        checked = {"agenda of everyone": check_accessibility(page, WCAG_22_AA)}
        page.goto(f"{served.base}/console/setup/staff/invite?lang={lang}")
        checked["invite"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        page.locator("#name").fill("Li Wei")
        page.locator("#email").fill("li@")
        page.locator("main form button[type=submit]").click()
        assert page.locator("#email").input_value() == "li@"  # kept, with the error
        assert page.locator("#email-error").is_visible()
        checked["invite with errors"] = check_accessibility(page, WCAG_22_AA)
        narrow_enough(page)
        screenshot(page, f"console/invite-errors-{lang}")
        page.locator("#email").fill(f"li-{lang}-{uuid.uuid4().hex[:6]}@maple.example")
        page.locator("main form button[type=submit]").click()
        assert page.locator("p.notice[role=status]").is_visible()
        assert {name: found for name, found in checked.items() if found} == {}
        assert problems == []
    finally:
        context.close()
