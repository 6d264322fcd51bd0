"""The console's appointment page and client file in real Chromium at 390 px: complete with
notes, book a follow-up with the slot picker, record verbal consent; axe-core (WCAG 2.2 AA) on
both pages in en/fr/es/ar. A staff member of its own signs in through the emailed link."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_checks import (
    CONSENT_FORM,
    PHONE,
    WCAG_22_AA,
    check_accessibility,
    narrow_enough,
    screenshot,
    watch_console,
)

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "es", "ar")


def _instance(tmp_path_factory) -> Path:
    """The served suite's instance folder (its mail and databases)."""
    return sorted(tmp_path_factory.getbasetemp().glob("browser-suite*"))[-1]


@pytest.fixture(scope="module")
def setup(served, tmp_path_factory):
    """A staff member with round-the-clock hours, a service, a consent form, two appointments
    (one started ten minutes ago, one next week) and the booking database's path."""
    suffix = uuid.uuid4().hex[:8]
    with served.api() as api:
        staff = api.post(
            "/booking/api/v1/staff",
            json={
                "name": "Amira Haddad",
                "email": f"amira-{suffix}@maple.example",
                "time_zone": "America/Toronto",
                "languages": ["en", "ar"],
            },
        )
        assert staff.status_code == 201, staff.text
        staff = staff.json()
        rules = [{"weekday": d, "start_time": "00:00", "end_time": "23:45"} for d in range(7)]
        put = api.put(
            f"/booking/api/v1/staff/{staff['id']}/availability/rules", json={"rules": rules}
        )
        assert put.status_code == 200, put.text
        service = api.post(
            "/booking/api/v1/services",
            json={
                "name": "Settlement follow-up",
                "slug": f"console-browser-{suffix}",
                "duration_minutes": 30,
                "modes": ["phone"],
                "min_notice_minutes": 0,
                "slot_step_minutes": 30,
                "staff_ids": [staff["id"]],
            },
        )
        assert service.status_code == 201, service.text
        form = api.post(
            "/consent/api/v1/templates", json={**CONSENT_FORM, "name": f"Recording {suffix}"}
        )
        assert form.status_code == 201, form.text
        ids = []
        for days in (2, 7):
            day = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")
            slots = api.get(
                f"/booking/api/v1/services/{service.json()['id']}/slots",
                params={"start": day, "end": day, "tz": "America/Toronto"},
            ).json()["slots"]
            booked = api.post(
                "/booking/api/v1/appointments",
                headers={"X-Forwarded-For": f"198.51.100.{days}"},
                json={
                    "service_id": service.json()["id"],
                    "start": slots[len(slots) // 2]["start"],
                    "mode": "phone",
                    "client": {
                        "name": "Ana Souza",
                        "email": f"ana-{suffix}@example.org",
                        "phone": "+14165550123",
                        "language": "pt",
                        "time_zone": "America/Toronto",
                    },
                    "backup": {"callback_number": "+14165550123", "use_dial_in": False},
                },
            )
            assert booked.status_code == 201, booked.text
            ids.append(booked.json()["appointment"]["id"])
    database = _instance(tmp_path_factory) / "booking.db"
    _move_to_the_past(database, ids[0])
    return {"staff": staff, "started": ids[0], "upcoming": ids[1], "template": form.json()["id"]}


def _move_to_the_past(database: Path, appointment_id: int) -> None:
    """Make an appointment one that started ten minutes ago (the API books only the future)."""
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=10)
    end = start + timedelta(minutes=30)
    with sqlite3.connect(database) as connection:
        connection.execute(
            'UPDATE appointments SET start = ?, "end" = ?, blocked_start = ?, blocked_end = ? '
            "WHERE id = ?",
            (
                *(str(value.isoformat(" ")) + ".000000" for value in (start, end, start, end)),
                appointment_id,
            ),
        )


def _sign_in(served, page, email: str, mail: Path) -> None:
    """Sign in through the sign-in form and the emailed link, as a staff member does."""
    before = set(mail.glob("*.eml")) if mail.exists() else set()
    page.goto(f"{served.base}/console/sign-in?lang=en")
    page.get_by_label(re.compile("email", re.I)).fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    deadline = time.monotonic() + 60
    link = None
    while link is None and time.monotonic() < deadline:
        for path in (set(mail.glob("*.eml")) if mail.exists() else set()) - before:
            text = path.read_text(errors="replace").replace("=\n", "")
            if email in text and (
                found := re.search(r"http://[^\s\"<>]+/console/sign-in/[\w\-=]+", text)
            ):
                link = found.group(0).replace("=3D", "=")
        time.sleep(0.3)
    assert link, "no sign-in email arrived"
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(\?.*)?$"))


@pytest.fixture(scope="module")
def session(served, browser, setup, tmp_path_factory):
    """A 390 px touch screen signed in once as the staff member (one sign-in email per module)."""
    context = browser.new_context(viewport=PHONE, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        _sign_in(served, page, setup["staff"]["email"], _instance(tmp_path_factory) / "mail")
        page.close()
        yield context
    finally:
        context.close()


@pytest.fixture
def signed_in(session):
    """A new tab of the signed-in session, its console watched."""
    page = session.new_page()
    page.console_problems = watch_console(page)
    try:
        yield page
    finally:
        page.close()


def _check(page, name: str) -> None:
    """axe (WCAG 2.2 AA) with no violations, no sideways scroll at 390 px, in every language."""
    url = page.url.split("#")[0].split("?")[0]
    query = page.url.split("?")[1].split("#")[0] if "?" in page.url else ""
    kept = [part for part in query.split("&") if part and not part.startswith("lang=")]
    for lang in LANGUAGES:
        page.goto(f"{url}?{'&'.join([*kept, f'lang={lang}'])}")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert check_accessibility(page, WCAG_22_AA) == [], (name, lang)
        narrow_enough(page)
        screenshot(page, f"console/{name}-{lang}")
    page.goto(f"{url}?{'&'.join([*kept, 'lang=en'])}")


def test_complete_with_notes(served, signed_in, setup):
    page = signed_in
    page.goto(f"{served.base}/console/appointments/{setup['started']}?lang=en")
    _check(page, "appointment")
    page.get_by_role("button", name="Mark completed").click()
    summary = page.locator("#error-summary")
    assert summary.is_visible()  # no outcome chosen: the error is named, the notes kept
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.get_by_label("Notes for the client's file").fill("Housing form filled in together.")
    page.get_by_role("button", name="Mark completed").click()
    assert page.locator("#error-summary").is_visible()
    assert (
        page.get_by_label("Notes for the client's file").input_value()
        == "Housing form filled in together."
    )
    page.get_by_label("Outcome").select_option("follow_up_needed")
    page.get_by_role("button", name="Mark completed").click()
    assert page.get_by_role("status").inner_text().startswith("Marked completed")
    assert page.locator("#staff-notes").inner_text() == "Housing form filled in together."
    assert page.locator("#status").inner_text() == "Completed"
    assert page.console_problems == []


def test_book_a_follow_up(served, signed_in, setup):
    page = signed_in
    page.goto(f"{served.base}/console/appointments/{setup['upcoming']}?lang=en")
    days = page.locator("#days a[aria-current], #days .slots a")
    assert days.count() >= 2
    days.nth(1).click()
    assert "day=" in page.url
    page.locator("#slot .choice label").first.click()
    page.get_by_role("button", name="Book a follow-up at this time").click()
    assert page.get_by_role("status").inner_text().startswith("Follow-up booked")
    assert page.get_by_role("link", name="The earlier appointment").is_visible()
    assert page.console_problems == []


def test_record_verbal_consent(served, signed_in, setup):
    page = signed_in
    page.goto(f"{served.base}/console/appointments/{setup['upcoming']}?lang=en#consent")
    verbal = page.locator("#verbal")
    verbal.get_by_label("Consent form").select_option(str(setup["template"]))
    verbal.get_by_label("What you explained and how the client agreed").fill(
        "Read the form aloud by phone; the client agreed to both points."
    )
    verbal.get_by_role("button", name="Record verbal consent").click()
    assert not page.locator("#error-summary").count(), page.locator("#error-summary").inner_text()
    assert page.get_by_role("status").inner_text().startswith("Verbal consent recorded")
    assert page.get_by_text("given verbally").first.is_visible()
    download = page.get_by_role("link", name="Download the signed record (PDF)").first
    with page.expect_download() as caught:
        download.click()
    assert caught.value.suggested_filename.endswith(".pdf")
    page.get_by_role("button", name="Make a link for the client's copy").first.click()
    assert page.locator("#copy-link a").get_attribute("href").endswith(".pdf")
    page.goto(f"{served.base}/console/appointments/{setup['upcoming']}?lang=en")
    _check(page, "appointment-with-consent")
    assert page.console_problems == []


def test_client_file_in_every_language(served, signed_in, setup):
    page = signed_in
    page.goto(f"{served.base}/console/clients?q=souza&lang=en")
    _check(page, "client-search")
    page.get_by_role("link", name="Ana Souza").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Ana Souza"
    _check(page, "client-file")
    assert page.console_problems == []
