"""Issue 22's "Done when" story in Chromium, in one walk: the admin opens the sign-in link
`make serve` printed, sets up the organization, invites a staff member, publishes a consent
form, makes a service needing it; the staff member signs in from the invitation, sets weekly
hours; a client books by phone only (SMS); the staff member sees the booking on the agenda,
records verbal consent, completes it with notes, books a follow-up and finds the client's file.
Every page visited passes axe (WCAG 2.2 AA); a numbered screenshot of each step is saved under
var/screenshots/console/story-NN-<step>.png (390 px wide, full page)."""

from __future__ import annotations

import email
import re
import sqlite3
import struct
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from email import policy
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from browser_checks import PHONE, WCAG_22_AA, check_accessibility, narrow_enough, screenshot

pytestmark = pytest.mark.browser

ZONE = "America/Toronto"
# Python's None shown for a value the client did not give (a phone-only client's email).
NO_VALUE = re.compile(r"\bNone\b(?! needed)")


def _png() -> bytes:
    """A small valid PNG (a 16x16 teal square) for the logo upload."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x00\x80\x80" * 16 for _ in range(16))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _emailed_link(served, address: str, timeout: float = 45) -> str:
    """The console link in the newest email to `address` (the outbox is a folder)."""
    folder = served.instance / "mail"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        paths = folder.glob("*.eml") if folder.exists() else []
        for path in sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]):
                text = message.get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/console/sign-in/\S+", text).group(0)
        time.sleep(0.3)
    raise AssertionError(f"no console email to {address}")


def _step(page, number: int, name: str, found: dict) -> None:
    """The story's checks on the page it reached: no sideways scroll at 390 px, axe's
    violations collected (asserted together at the end), a numbered screenshot."""
    # After a form's post, the new page's text can be there before its style sheet is.
    page.wait_for_load_state("load")
    narrow_enough(page)
    if violations := check_accessibility(page, WCAG_22_AA):
        found[f"{number:02d}-{name}"] = violations
    screenshot(page, f"console/story-{number:02d}-{name}")


def _follow(page, served, link: str) -> None:
    """Open a sign-in link (made for the served host) and press Sign in."""
    page.goto(served.base + urlsplit(link).path + "?lang=en")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/(\?.*)?$"))


def _move_to_the_past(served, appointment_id: int) -> None:
    """Make the appointment one that started ten minutes ago: the console cannot complete an
    appointment before it starts, and the story cannot wait for it (the one database step)."""
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=10)
    end = start + timedelta(minutes=30)
    with sqlite3.connect(served.instance / "booking.db") as connection:
        connection.execute(
            'UPDATE appointments SET start = ?, "end" = ?, blocked_start = ?, blocked_end = ? '
            "WHERE id = ?",
            (
                *(value.isoformat(" ") + ".000000" for value in (start, end, start, end)),
                appointment_id,
            ),
        )


def _agenda_says(page, served, day: str, label: str) -> str:
    """What the agenda's row of the client's appointment says under `label`, once the
    services' workers have told booking (notify's delivery, consent's signature): the agenda
    is reloaded (on the appointment's `day`) until the value is final or 45 s have passed."""
    final = {"Invitation": "Delivered", "Consent": "Signed"}[label]
    row = page.locator("li.agenda-row", has_text="Ana Souza")
    deadline = time.monotonic() + 45
    while True:
        page.goto(f"{served.base}/console/?day={day}&lang=en")
        value = row.locator(f"dt:text-is('{label}') + dd").inner_text()
        if value == final or time.monotonic() > deadline:
            return value
        page.wait_for_timeout(1000)


def _context(browser):
    """A 390 px phone with its own client address (sign-in and booking are rate-limited)."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return browser.new_context(
        viewport=PHONE,
        has_touch=True,
        timezone_id=ZONE,
        extra_http_headers={"X-Forwarded-For": address},
    )


def test_a_new_admin_sets_up_and_a_staff_member_serves_a_client(served, browser):
    suffix = uuid.uuid4().hex[:6]
    staff_email = f"samira-{suffix}@maple.example"
    form_name = f"Recording consent {suffix}"
    service_name = f"Settlement intake {suffix}"
    slug = f"story-intake-{suffix}"
    client_phone = f"+1 416 555 {int(suffix, 16) % 9000 + 1000}"
    found: dict[str, list] = {}
    admin_context, staff_context, client_context = (_context(browser) for _ in range(3))
    try:
        # 1. The admin opens the first-run link that `make serve` printed.
        admin = admin_context.new_page()
        admin.goto(served.base + urlsplit(served.admin_sign_in).path + "?lang=en")
        _step(admin, 1, "first-sign-in", found)
        admin.get_by_role("button", name="Sign in").click()
        admin.wait_for_url(re.compile(r"/console/(\?.*)?$"))
        _step(admin, 2, "admin-agenda", found)

        # 2. The organization profile, with its logo.
        admin.goto(f"{served.base}/console/setup/organization?lang=en")
        admin.locator("#name").fill("Maple Settlement Services")
        admin.locator("#phone").fill("+1 416 555 0100")
        admin.locator("#address").fill("12 Maple Street, Toronto ON M5V 2T6")
        admin.locator("#hours-en").fill("Monday to Friday, 9 am to 5 pm")
        admin.locator("#hours-fr").fill("Du lundi au vendredi, de 9 h à 17 h")
        admin.get_by_role("button", name="Save", exact=True).click()
        admin.get_by_text("Saved.").wait_for()
        admin.set_input_files(
            "#logo", files=[{"name": "maple.png", "mimeType": "image/png", "buffer": _png()}]
        )
        admin.get_by_role("button", name="Upload the logo").click()
        admin.locator("img.org-logo").wait_for()
        assert admin.locator("#name").input_value() == "Maple Settlement Services"
        _step(admin, 3, "organization", found)

        # 3. Invite the staff member.
        admin.goto(f"{served.base}/console/setup/staff/invite?lang=en")
        admin.get_by_label("Name").fill("Samira Nouri")
        admin.get_by_label("Email address").fill(staff_email)
        admin.get_by_label("Time zone").fill(ZONE)
        admin.get_by_role("button", name="Invite").click()
        admin.get_by_text("Samira Nouri is invited").wait_for()
        _step(admin, 4, "staff-invited", found)

        # 4. A consent form, previewed, then published.
        admin.goto(f"{served.base}/console/setup/consent-forms/new?lang=en")
        admin.locator("#name").fill(form_name)
        admin.locator("#title-en").fill("Session recording")
        admin.locator("#body-en").fill(
            "We would like to **record** this session.\n\n- Kept 12 months\n- Never shared"
        )
        admin.locator("#title-fr").fill("Enregistrement de la séance")
        admin.locator("#body-fr").fill("Nous aimerions **enregistrer** cette séance.")
        admin.locator("#box-key-0").fill("recording")
        admin.locator("#box-required-0").check()
        admin.locator("#box-label-0-en").fill("I agree that this session may be recorded.")
        admin.locator("#box-label-0-fr").fill("J'accepte que cette séance soit enregistrée.")
        admin.locator("#validity_days").fill("365")
        admin.locator("button[value=preview]").click()
        admin.locator("#preview-heading").wait_for()
        assert admin.locator(".consent-preview strong").first.inner_text() == "record"
        _step(admin, 5, "consent-form-preview", found)
        admin.locator("button[value=publish]").click()
        admin.wait_for_load_state()
        admin.goto(f"{served.base}/console/setup/consent-forms?lang=en")
        admin.get_by_text(form_name).first.wait_for()
        _step(admin, 6, "consent-form-published", found)

        # 5. A service needing that form, offered by the staff member.
        admin.goto(f"{served.base}/console/setup/services/new?lang=en")
        admin.locator("#name").fill(service_name)
        admin.locator("#slug").fill(slug)
        admin.locator("#duration_minutes").fill("30")
        admin.locator("#modes").check()  # video
        admin.locator("#modes-phone").check()
        admin.locator("#min_notice_minutes").fill("0")
        admin.locator("#slot_step_minutes").fill("30")
        admin.locator("label", has_text=form_name).click()
        admin.locator("label", has_text="Samira Nouri").click()
        admin.locator("#listed").check()
        admin.locator("#active").check()
        admin.get_by_role("button", name="Save", exact=True).click()
        admin.wait_for_load_state()
        assert not admin.locator("#error-summary").count(), admin.locator(
            "#error-summary"
        ).inner_text()
        admin.goto(f"{served.base}/console/setup/services?lang=en")
        admin.get_by_text(service_name).first.wait_for()
        _step(admin, 7, "service", found)

        # 6. The staff member signs in from the invitation, sets weekly hours.
        staff = staff_context.new_page()
        _follow(staff, served, _emailed_link(served, staff_email))
        staff.get_by_text("Signed in as Samira Nouri").wait_for()
        _step(staff, 8, "staff-signed-in", found)
        staff.goto(f"{served.base}/console/availability?lang=en")
        today = datetime.now(ZoneInfo(ZONE))
        for weekday in sorted({today.weekday(), (today + timedelta(days=1)).weekday()}):
            day = staff.locator(f"#day-{weekday}")
            day.locator(f"#day-{weekday}-0-start").fill("00:00")
            day.locator(f"#day-{weekday}-0-end").fill("23:45")
            day.get_by_role("button", name=re.compile("^Save ")).click()
            staff.get_by_text(re.compile(r"saved\.$")).first.wait_for()
        _step(staff, 9, "availability", found)

        # 7. A client with no email books on the public page, to be told by SMS.
        client = client_context.new_page()
        client.goto(f"{served.base}/booking/?lang=en")
        client.locator(f"#service-{slug} a.button").click()
        client.locator("#mode-phone").check()
        client.locator("#show-times").click()
        first_day = client.locator("#days a").first
        # The day in Toronto (the client's zone and the staff member's): the agenda's day.
        booked_day = first_day.get_attribute("id").removeprefix("day-")
        first_day.click()
        client.locator("#slot-list input[type=radio]").first.check()
        _step(client, 10, "client-slots", found)
        client.locator("#slot-continue").click()
        client.locator("#name").fill("Ana Souza")
        client.locator("#phone").fill(client_phone)
        client.locator("#notify_by-sms").check()
        _step(client, 11, "client-details", found)
        client.locator("#book").click()
        client.locator("#booked").wait_for()
        _step(client, 12, "client-booked", found)

        # 8. The staff member sees it on the agenda with the backup number, and that the
        # confirmation (the invitation, here by SMS) reached the client: notify's worker sends
        # it within seconds, the agenda says so once it has.
        assert _agenda_says(staff, served, booked_day, "Invitation") == "Delivered"
        row = staff.locator("li.agenda-row", has_text="Ana Souza")
        digits = re.sub(r"\D", "", client_phone)
        assert digits in re.sub(r"\D", "", row.locator("a[href^='tel:']").first.inner_text())
        _step(staff, 13, "agenda-with-booking", found)
        row.locator("h3 a").click()
        staff.wait_for_url(re.compile(r"/console/appointments/\d+"))
        appointment_id = int(re.search(r"/appointments/(\d+)", staff.url).group(1))
        appointment_url = f"{served.base}/console/appointments/{appointment_id}?lang=en"
        _step(staff, 14, "appointment", found)
        assert not NO_VALUE.search(staff.locator("main").inner_text())

        verbal = staff.locator("#verbal")
        verbal.get_by_label("Consent form").select_option(label=form_name)
        verbal.get_by_label("What you explained and how the client agreed").fill(
            "Read the form aloud by phone; the client agreed to the recording."
        )
        verbal.get_by_role("button", name="Record verbal consent").click()
        assert staff.get_by_role("status").inner_text().startswith("Verbal consent recorded")
        _step(staff, 15, "verbal-consent", found)
        assert _agenda_says(staff, served, booked_day, "Consent") == "Signed"
        staff.goto(appointment_url)

        _move_to_the_past(served, appointment_id)
        staff.goto(appointment_url)
        staff.get_by_label("Outcome").select_option("follow_up_needed")
        staff.get_by_label("Notes for the client's file").fill("Housing form filled in together.")
        staff.get_by_role("button", name="Mark completed").click()
        assert staff.get_by_role("status").inner_text().startswith("Marked completed")
        assert staff.locator("#status").inner_text() == "Completed"
        _step(staff, 16, "completed", found)

        days = staff.locator("#days a[aria-current], #days .slots a")
        days.nth(1 if days.count() > 1 else 0).click()
        staff.locator("#slot .choice label").first.click()
        staff.get_by_role("button", name="Book a follow-up at this time").click()
        assert staff.get_by_role("status").inner_text().startswith("Follow-up booked")
        _step(staff, 17, "follow-up-booked", found)

        # 9. The client's file.
        staff.goto(f"{served.base}/console/clients?q=souza&lang=en")
        _step(staff, 18, "client-search", found)
        assert not NO_VALUE.search(staff.locator("main").inner_text())
        staff.get_by_role("link", name="Ana Souza").first.click()
        assert staff.get_by_role("heading", level=1).inner_text() == "Ana Souza"
        assert "Housing form filled in together." in staff.locator("main").inner_text()
        _step(staff, 19, "client-file", found)
        assert not NO_VALUE.search(staff.locator("main").inner_text())
    finally:
        for context in (admin_context, staff_context, client_context):
            context.close()
    assert found == {}
