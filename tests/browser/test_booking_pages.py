"""The booking pages in real Chromium on a phone-sized screen: book a slot step by step, sign the
consent form the confirmation asks for, and axe-core on every booking page in en/fr/es/ar."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from browser_checks import (
    ACCESS_NOTES_AR,
    PHONE,
    WCAG_22_AA,
    check_accessibility,
    expect_heading,
    narrow_enough,
    screenshot,
    watch_console,
)

pytestmark = pytest.mark.browser
# One documentation address (RFC 5737) per test that books: its own rate limit.
CLIENT_NUMBERS = itertools.count(10)
# One phone number per booking: the daily cap counts a number's bookings as it does an address's.
PHONE_NUMBERS = itertools.count(100)


def a_phone_number() -> str:
    """A phone number no other booking of the run used (+1 416 555 0100, 0101, ...)."""
    return f"+1 416 555 {next(PHONE_NUMBERS):04d}"


def book_a_slot(page, base: str, slug: str, shots: str | None = None) -> None:
    """From the services list to the confirmation, the way a client does it."""
    page.goto(f"{base}/booking/")
    page.locator(f"#service-{slug} a.button").click()
    page.get_by_label("Video").check() if page.locator("#mode-video").count() else None
    page.locator("#show-times").click()
    page.locator("#days a").first.click()
    page.locator("#slot-list input[type=radio]").first.check()
    if shots:
        narrow_enough(page)
        screenshot(page, f"{shots}-slots")
    page.locator("#slot-continue").click()
    page.locator("#name").fill("Ana López")
    page.locator("#email").fill(f"ana-{uuid.uuid4().hex[:8]}@example.org")
    page.locator("#phone").fill(a_phone_number())
    page.locator("#captions").check()
    if shots:
        narrow_enough(page)
        screenshot(page, f"{shots}-details")
    page.locator("#book").click()
    page.locator("#booked").wait_for()


def test_client_books_a_slot_on_a_phone_and_signs_the_consent(served, browser, clinic):
    context = browser.new_context(
        viewport=PHONE, has_touch=True, device_scale_factor=2, timezone_id="America/Toronto"
    )
    try:
        page = context.new_page()
        problems = watch_console(page)
        page.goto(f"{served.base}/booking/{clinic}")
        # The time zone is detected in the browser and filled in.
        assert page.locator("#tz").input_value() == "America/Toronto"
        book_a_slot(page, served.base, clinic, shots="booking-phone")
        screenshot(page, "booking-phone-confirmation")
        narrow_enough(page)
        assert "/booking/manage/fdm_" in page.url
        assert page.locator("#video-link").get_attribute("href") == (
            "https://meet.example.org/amira"
        )
        assert page.locator("#backup-plan").is_visible()
        # The consent request is made by booking's outbox worker; the link appears shortly.
        sign = page.locator("#consents a.button")
        deadline = time.monotonic() + 30
        while sign.count() == 0 and time.monotonic() < deadline:
            page.wait_for_timeout(500)
            page.reload()
        assert sign.count() == 1, page.locator("#consents").inner_text()
        sign.click()
        for box in page.locator("input[type=checkbox]").all():
            box.check()
        page.locator("#typed_name").fill("Ana López")
        page.locator("form button[type=submit]").click()
        expect_heading(page, "Thank you, the form is signed")
        assert problems == [], problems
    finally:
        context.close()


def _visit(page, url: str | None, name: str, found: dict) -> None:
    if url:
        page.goto(url)
    page.wait_for_load_state("load")
    screenshot(page, name)
    narrow_enough(page)
    violations = check_accessibility(page)
    if violations:
        found[name] = violations


@pytest.mark.parametrize(
    ("lang", "scheme"),
    [("en", "light"), ("fr", "light"), ("es", "light"), ("ar", "light"), ("en", "dark")],
)
def test_every_booking_page_passes_axe_wcag21_aa(served, browser, clinic, lang, scheme):
    context = browser.new_context(
        viewport=PHONE,
        color_scheme=scheme,
        locale=lang,
        timezone_id="Europe/Paris",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    found: dict = {}
    suffix = f"{lang}-{scheme}"
    base = served.base
    try:
        page = context.new_page()
        problems = watch_console(page)
        _visit(page, f"{base}/booking/?lang={lang}", f"booking-services-{suffix}", found)
        assert page.locator("html").get_attribute("lang") == lang
        _visit(page, f"{base}/booking/{clinic}", f"booking-step1-{suffix}", found)
        page.locator("#show-times").click()
        _visit(page, None, f"booking-step1-errors-{suffix}", found)
        page.locator("#mode-phone").check()
        page.locator("#show-times").click()
        _visit(page, None, f"booking-step2-{suffix}", found)
        page.locator("#slot-continue").click()
        _visit(page, None, f"booking-step2-errors-{suffix}", found)
        page.locator("#slot-list input[type=radio]").first.check()
        page.locator("#slot-continue").click()
        _visit(page, None, f"booking-step3-{suffix}", found)
        page.locator("#book").click()
        _visit(page, None, f"booking-step3-errors-{suffix}", found)
        page.locator("#name").fill("Ana López")
        page.locator("#email").fill(f"ana-{uuid.uuid4().hex[:8]}@example.org")
        page.locator("#phone").fill(a_phone_number())
        page.locator("#book").click()
        page.locator("#booked").wait_for()
        _visit(page, None, f"booking-confirmation-{suffix}", found)
        assert page.locator("#join-instructions").is_visible()
        manage = page.url.split("?")[0]
        _visit(page, manage, f"booking-manage-{suffix}", found)
        _visit(page, f"{manage}/reschedule", f"booking-reschedule-{suffix}", found)
        _visit(page, f"{manage}/cancel", f"booking-cancel-{suffix}", found)
        page.locator("#confirm-cancel").click()
        _visit(page, None, f"booking-cancelled-{suffix}", found)
        _visit(page, manage, f"booking-manage-gone-{suffix}", found)
        _visit(page, f"{base}/booking/no-such-service", f"booking-unknown-{suffix}", found)
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert problems == [], problems
    finally:
        context.close()
    assert found == {}, found


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_phone_only_client_chooses_sms_with_the_keyboard_on_a_phone(served, browser, clinic, lang):
    """No email: the details page's "how should we send" radio group, in English and Arabic at
    390 px, passes axe with its error shown, is used with the arrow keys, and books."""
    context = browser.new_context(
        viewport=PHONE,
        locale=lang,
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    found: dict = {}
    try:
        page = context.new_page()
        problems = watch_console(page)
        page.goto(f"{served.base}/booking/{clinic}?lang={lang}")
        page.locator("#mode-phone").check()
        page.locator("#show-times").click()
        page.locator("#slot-list input[type=radio]").first.check()
        page.locator("#slot-continue").click()
        page.locator("#name").fill("Amal Haddad")
        page.locator("#phone").fill(a_phone_number())
        page.locator("#notify_by-both").check()  # both, but no email address
        page.locator("#book").click()
        _visit(page, None, f"booking-sms-choice-error-{lang}", found)
        assert page.locator("#email").get_attribute("aria-invalid") == "true"
        assert page.locator("#notify_by-both").is_checked()  # the choice is kept
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        # One group: arrow keys move the choice within it.
        page.locator("#notify_by-both").focus()
        page.keyboard.press("ArrowUp")
        assert page.locator("#notify_by-sms").is_checked()
        assert page.evaluate("document.activeElement.id") == "notify_by-sms"
        _visit(page, None, f"booking-sms-choice-{lang}", found)
        page.locator("#book").click()
        page.locator("#booked").wait_for()
        assert "/booking/manage/fdm_" in page.url
        assert found == {}, found
        assert problems == [], problems
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_month_calendar_is_used_with_the_keyboard_at_390_px(served, browser, clinic, lang):
    """Step 2's month calendar: fits 390 px, passes axe, a free day is reached with Tab and
    opened with Enter; and the reschedule page's time-zone select fits the screen."""
    context = browser.new_context(
        viewport=PHONE,
        locale=lang,
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    try:
        page = context.new_page()
        page.goto(f"{served.base}/booking/{clinic}?mode=video&tz=America/Toronto&lang={lang}")
        page.locator("table.month").wait_for()
        narrow_enough(page)
        assert check_accessibility(page) == []
        free_days = page.locator("table.month a")
        assert free_days.count() > 0
        target = free_days.nth(free_days.count() - 1)
        day = target.get_attribute("id").removeprefix("month-")
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == f"month-{day}":
                break
        page.keyboard.press("Enter")
        page.wait_for_load_state("load")
        assert page.locator(f"#month-{day}").get_attribute("aria-current") == "date"
        assert page.locator("#slot-list input[type=radio]").count() > 0
        narrow_enough(page)
        screenshot(page, f"booking-month-{lang}")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_in_person_access_notes_show_before_a_time_is_chosen_and_once_booked_with_axe(
    served, browser, clinic, lang
):
    context = browser.new_context(
        viewport=PHONE,
        locale=lang,
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    found: dict = {}
    try:
        page = context.new_page()
        problems = watch_console(page)
        page.goto(f"{served.base}/booking/{clinic}?lang={lang}")
        expected = ACCESS_NOTES_AR if lang == "ar" else "Side entrance, step-free.\n2nd floor"
        # Before choosing a time: under the address and its map link, above the choice of mode.
        _visit(page, None, f"booking-in-person-step1-{lang}", found)
        before = page.locator("#in-person-place #access-notes")
        assert before.is_visible()
        assert before.bounding_box()["y"] > page.locator("#map-link").bounding_box()["y"]
        assert before.bounding_box()["y"] < page.locator("#choose-mode").bounding_box()["y"]
        assert expected in before.inner_text()
        assert check_accessibility(page, WCAG_22_AA) == []
        page.locator("#mode-in_person").check()
        page.locator("#show-times").click()
        page.locator("#slot-list input[type=radio]").first.check()
        page.locator("#slot-continue").click()
        page.locator("#name").fill("Amal Haddad")
        page.locator("#email").fill(f"amal-{uuid.uuid4().hex[:8]}@example.org")
        page.locator("#phone").fill(a_phone_number())
        page.locator("#book").click()
        page.locator("#booked").wait_for()
        _visit(page, None, f"booking-in-person-{lang}", found)
        notes = page.locator("#access-notes")
        assert notes.is_visible()
        # Below the address and its map link, in the client's language (English without one).
        assert notes.bounding_box()["y"] > page.locator("#map-link").bounding_box()["y"]
        assert expected in notes.inner_text()
        assert found == {}, found
        assert problems == [], problems
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_reschedule_time_zone_select_fits_390_px(served, browser, clinic, lang):
    context = browser.new_context(
        viewport=PHONE,
        locale="en",
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    try:
        page = context.new_page()
        book_a_slot(page, served.base, clinic)
        page.goto(f"{page.url.split('?')[0]}/reschedule?lang={lang}")
        select = page.locator("#tz")
        box = select.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        narrow_enough(page)
    finally:
        context.close()
