"""The appointment page: what it shows, its actions through the APIs, and staff scoping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from console_builders import csrf_of, local

from services.booking.outbox import dispatch as booking_dispatch
from shared.workers import step_on

CONSENT_FORM = {
    "name": "Session recording",
    "locales": {
        "en": {
            "title": "Session recording",
            "body": "We would like to record this session.",
            "checkboxes": {"recording": "I agree to the recording"},
        },
    },
    "checkboxes": [{"key": "recording", "required": True}],
}


@pytest.fixture
def consent_form(consent_app, make_token) -> int:
    """A consent form in consent, made by an admin; its id."""
    token = make_token("consent", "admin")
    made = consent_app.test_client().post(
        "/api/v1/templates", json=CONSENT_FORM, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


@pytest.fixture
def amira(make_staff) -> int:
    return make_staff(email="amira@maple.example", name="Amira Haddad")


def _post(client, page_path: str, url: str, **fields):
    """Post one of the page's forms as a browser would (with the page's CSRF token)."""
    page = client.get(page_path)
    return client.post(url, data={"csrf_token": csrf_of(page.text), **fields})


def _started(book, staff_id: int) -> int:
    """An appointment that has started: yesterday at 10:00 in Toronto, booked the hour before.

    Inside the staff member's hours whatever the time of day the tests run (one starting a few
    minutes ago did not fit them late in the evening in Toronto)."""
    yesterday = datetime.now(ZoneInfo("America/Toronto")).date() - timedelta(days=1)
    start = local(yesterday, 10)
    return book(staff_id, start, now=start - timedelta(hours=1))


def test_the_page_shows_the_appointment_its_history_and_messages(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    page = sign_in("amira@maple.example").get(f"/appointments/{appointment}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Ana Souza" in html and "10:00" in html and "10:45" in html
    assert 'href="tel:+14165550123"' in html
    assert "Interpreter: Portuguese" in html
    assert "History" in html and "Booked" in html
    assert "Send the invitation again" in html
    assert "You can mark it completed or as a no-show once it has started." in html


def test_a_phone_only_clients_appointment_shows_no_empty_email(amira, book, sign_in, future_day):
    client = {
        "name": "Li Wei",
        "email": None,
        "phone": "+15145550777",
        "language": "en",
        "time_zone": "America/Toronto",
        "notify_by": "sms",
    }
    appointment = book(amira, local(future_day, 10), client=client)
    html = sign_in("amira@maple.example").get(f"/appointments/{appointment}").text
    assert 'href="tel:+15145550777"' in html
    assert "mailto:" not in html and "None" not in html


def test_complete_needs_an_outcome_and_keeps_the_notes_on_error(amira, book, sign_in):
    appointment = _started(book, amira)
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    refused = _post(client, path, f"{path}/complete", outcome="", notes="Talked about housing.")
    assert refused.status_code == 422
    assert 'id="error-summary"' in refused.text and 'href="#complete-outcome"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Talked about housing.</textarea>" in refused.text
    done = _post(
        client, path, f"{path}/complete", outcome="resolved", notes="Talked about housing."
    )
    assert done.status_code == 302
    page = client.get(done.headers["Location"])
    assert "Marked completed" in page.text and "Completed" in page.text
    assert "Talked about housing." in page.text and "Resolved" in page.text


def test_an_appointment_not_started_cannot_be_completed(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    refused = _post(client, path, f"{path}/complete", outcome="resolved", notes="")
    assert refused.status_code == 409
    assert 'href="#complete"' in refused.text  # the problem is named in the summary


def test_no_show_and_cancel_with_a_reason(amira, book, sign_in, future_day):
    client = sign_in("amira@maple.example")
    started = _started(book, amira)
    path = f"/appointments/{started}"
    assert _post(client, path, f"{path}/no-show").status_code == 302
    assert "No-show" in client.get(path).text
    later = book(amira, local(future_day, 10))
    path = f"/appointments/{later}"
    done = _post(client, path, f"{path}/cancel", reason="The office is closed that day.")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).text
    assert "Cancelled. The client is told." in page
    assert "The office is closed that day." in page


def _first_slot(html: str) -> str:
    return re.search(r'name="start" id="slot-1" value="([^"]+)"', html).group(1)


def test_reschedule_with_the_slot_picker(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    next_day = future_day + timedelta(days=1)
    page = client.get(f"{path}?day={next_day}")
    assert "Days with free times" in page.text and 'aria-current="date"' in page.text
    start = _first_slot(page.text)
    assert start.startswith(next_day.isoformat()) or start.startswith(future_day.isoformat())
    moved = client.post(
        f"{path}/slot",
        data={"csrf_token": csrf_of(page.text), "start": start, "action": "reschedule"},
    )
    assert moved.status_code == 302, moved.text
    assert "Rescheduled" in client.get(path).text


def test_book_a_follow_up_in_one_step(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    page = client.get(f"{path}?day={future_day + timedelta(days=7)}")
    booked = client.post(
        f"{path}/slot",
        data={
            "csrf_token": csrf_of(page.text),
            "start": _first_slot(page.text),
            "action": "follow_up",
        },
    )
    assert booked.status_code == 302
    follow_up = client.get(booked.headers["Location"]).text
    assert "Follow-up booked" in follow_up and "The earlier appointment" in follow_up


def test_choosing_no_time_is_a_field_error(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    refused = _post(client, path, f"{path}/slot", action="follow_up")
    assert refused.status_code == 422
    assert 'href="#slot-start"' in refused.text and 'id="slot-start-error"' in refused.text


def test_resend_the_invite_once_per_click(booking_app, amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    page = client.get(path).text
    click = re.search(r'name="click" value="([0-9a-f]+)"', page).group(1)
    for _ in range(2):
        sent = client.post(
            f"{path}/resend-invite", data={"csrf_token": csrf_of(page), "click": click}
        )
        assert sent.status_code == 302
    after = client.get(path).text
    assert after.count("Invite sent again") == 1
    step_on(booking_app, booking_dispatch)
    assert "Confirmation with the invitation" in client.get(path).text


def test_record_verbal_consent_and_download_its_record(
    amira, book, sign_in, future_day, consent_form
):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    refused = _post(
        client, path, f"{path}/consents/verbal", template_id=str(consent_form), explained=""
    )
    assert refused.status_code == 422
    assert 'href="#verbal-explained"' in refused.text
    done = _post(
        client,
        path,
        f"{path}/consents/verbal",
        template_id=str(consent_form),
        explained="Read the form aloud; the client said yes.",
        witness="Grace Okafor",
    )
    assert done.status_code == 302, done.text
    page = client.get(done.headers["Location"]).text
    assert "Verbal consent recorded" in page and "given verbally" in page
    record_link = re.search(r'href="([^"]+record\.pdf)"', page).group(1)
    pdf = client.get(record_link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    request_id = re.search(r"/consents/(\d+)/withdraw", page).group(1)
    copy = _post(client, path, f"{path}/consents/{request_id}/download-link")
    assert copy.status_code == 201
    url = re.search(r'<a href="(http[^"]+\.pdf)" dir="ltr"', copy.text).group(1)
    assert "/consent/records/" in url and "shown only now" in copy.text
    withdrawn = _post(
        client, path, f"{path}/consents/{request_id}/withdraw", reason="The client asked."
    )
    assert withdrawn.status_code == 302
    assert "Withdrawn" in client.get(path).text


def test_send_and_resend_a_signing_link(amira, book, sign_in, future_day, consent_form):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    sent = _post(client, path, f"{path}/consents", template_id=str(consent_form), click="c1")
    assert sent.status_code == 302, sent.text
    page = client.get(path).text
    assert "Waiting for signature" in page
    request_id = re.search(r"/consents/(\d+)/resend", page).group(1)
    again = _post(client, path, f"{path}/consents/{request_id}/resend")
    assert again.status_code == 302
    assert "The signing link is on its way" in client.get(again.headers["Location"]).text


def test_staff_b_gets_for_staff_a_appointment_the_404_of_a_missing_one(
    amira, make_staff, book, sign_in, future_day, consent_form
):
    make_staff(email="bo@maple.example")
    appointment = book(amira, local(future_day, 10))
    bo = sign_in("bo@maple.example")
    html = {"Accept": "text/html"}
    missing = bo.get("/appointments/999999", headers=html)
    theirs = bo.get(f"/appointments/{appointment}", headers=html)
    assert missing.status_code == theirs.status_code == 404
    assert theirs.mimetype == "text/html"
    # The same page: nothing but the request's own id tells the two apart.
    assert re.sub(r"[0-9a-f]{16}", "", missing.text) == re.sub(r"[0-9a-f]{16}", "", theirs.text)
    assert "Ana Souza" not in theirs.text
    assert bo.get(f"/appointments/{appointment}/consents/1/record.pdf").status_code == 404
    csrf = csrf_of(bo.get("/").text)
    for action, fields in (
        ("complete", {"outcome": "resolved"}),
        ("no-show", {}),
        ("cancel", {"reason": "x"}),
        ("resend-invite", {}),
        ("slot", {"start": local(future_day, 12).isoformat(), "action": "follow_up"}),
        ("consents/verbal", {"template_id": str(consent_form), "explained": "x"}),
        ("consents", {"template_id": str(consent_form)}),
    ):
        refused = bo.post(
            f"/appointments/{appointment}/{action}", data={"csrf_token": csrf, **fields}
        )
        assert refused.status_code == 404, (action, refused.status_code)


def test_admins_act_on_anyones_appointment(amira, make_staff, book, sign_in, future_day):
    make_staff(email="office@maple.example", role="admin")
    appointment = book(amira, local(future_day, 10))
    office = sign_in("office@maple.example")
    path = f"/appointments/{appointment}"
    assert office.get(path).status_code == 200
    done = _post(office, path, f"{path}/cancel", reason="Staff ill.")
    assert done.status_code == 302


def test_a_cancelled_appointment_offers_no_more_actions(amira, book, sign_in, future_day):
    appointment = book(amira, local(future_day, 10))
    client = sign_in("amira@maple.example")
    path = f"/appointments/{appointment}"
    _post(client, path, f"{path}/cancel", reason="")
    html = client.get(path).text
    assert "Cancelled" in html
    for action in ("Mark completed", "Cancel the appointment", "Send the invitation again"):
        assert action not in html
    assert "Move this appointment" not in html and "Book a follow-up at this time" not in html


def test_times_are_the_persons_wall_clock_on_a_dst_day(amira, book, sign_in):
    # The second Sunday of March: Toronto springs forward; 22:00 there is 02:00 UTC next day.
    today = datetime.now(UTC).date()
    year = today.year if today < today.replace(month=3, day=1) else today.year + 1
    first = datetime(year, 3, 1).date()
    day = first + timedelta(days=(6 - first.weekday()) % 7 + 7)
    appointment = book(amira, local(day, 22))
    html = sign_in("amira@maple.example").get(f"/appointments/{appointment}").text
    assert "10:00\u202fPM" in html or "10:00 PM" in html
    assert "10:45" in html and "(America/Toronto)" in html


def test_the_free_times_line_isolates_names_and_zone_in_a_right_to_left_page(
    amira, book, sign_in, future_day
):
    # Names and the zone are Latin text in an Arabic sentence: each in its own <bdi>, so
    # their direction cannot reorder the words and punctuation around them.
    appointment = book(amira, local(future_day, 10))
    html = sign_in("amira@maple.example").get(f"/appointments/{appointment}?lang=ar").text
    assert 'dir="rtl"' in html
    line = re.search(r'<p class="muted">([^<]*<bdi>[^\n]*America/Toronto</bdi>\.)</p>', html)
    assert line is not None, html
    assert "<bdi>Amira Haddad</bdi>" in line.group(1) and line.group(1).count("<bdi>") == 3
