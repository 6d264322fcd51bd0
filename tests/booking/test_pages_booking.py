"""The public booking pages through the Flask test client, with JavaScript off (plain forms)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from icalendar import Calendar

from services.booking.models import Appointment
from services.booking.operations import appointments
from shared import db as shared_db

HTML = {"Accept": "text/html,application/xhtml+xml"}
TZ = "America/Toronto"
BOOKING_DIR = Path(__file__).resolve().parents[2] / "services" / "booking"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(booking_app):
    """The app lives for the whole run; each test starts with no POSTs counted."""
    for limiter in booking_app.extensions["limiter"]:
        limiter.reset()


@pytest.fixture
def client(booking_app):
    return booking_app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'type="hidden" name="{name}" value="([^"]*)"', html)
    return unescape(found.group(1)) if found else ""


def slots(html: str) -> list[str]:
    return re.findall(r'data-slot="([^"]+)"', html)


def details(html: str, **overrides) -> dict:
    """The details form filled in like a client would, from the rendered step 3."""
    data = {
        "csrf_token": hidden(html, "csrf_token"),
        "request_key": hidden(html, "request_key"),
        "mode": hidden(html, "mode"),
        "tz": hidden(html, "tz"),
        "start": hidden(html, "start"),
        "around": hidden(html, "around"),
        "name": "Ana Souza",
        "email": "ana@example.org",
        "phone": "416 555 0123",
        "backup": "callback",
        "callback_number": "",
        "captions": "1",
        "interpreter": "1",
        "interpreter_language": "Portuguese",
        "language": "fr",
        "notes": "First visit",
    }
    data.update(overrides)
    return data


def load(booking_app, appointment_id: int) -> Appointment:
    with shared_db.get_db(booking_app).transaction() as session:
        return session.get(Appointment, appointment_id)


def token_of(location: str) -> str:
    return re.search(r"/manage/(fdm_[0-9a-f]{48})", location).group(1)


@pytest.fixture
def service(make_service):
    return make_service(location=None)


@pytest.fixture
def day(next_weekday):
    return next_weekday(1)  # a Tuesday at least a week ahead: Amira works 09:00-17:00


def open_details(client, service, day, start=None) -> str:
    """Steps 1-2 as links and GET forms; returns step 3's HTML for the first (or given) slot."""
    picker = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}", headers=HTML))
    start = start or slots(picker)[0]
    page = client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}&start={start}", headers=HTML)
    assert page.status_code == 200
    return text(page)


def test_services_page_lists_public_services_with_duration_and_plain_modes(client, make_service):
    shown = make_service(
        name="Tax clinic", slug="tax", modes=["phone", "in_person"], location="1 Main St"
    )
    make_service(name="Hidden", slug="hidden", listed=False)
    html = text(client.get("/", headers=HTML))
    assert 'href="/tax"' in html and "Tax clinic" in html
    assert "45 minutes" in html
    assert "We call you on your phone. You do not need the internet." in html
    assert "You come to our office and meet us there." in html
    assert "Hidden" not in html
    assert shown.slug in html


def test_booking_with_javascript_off_end_to_end(client, booking_app, service, day, at):
    start_page = text(client.get(f"/{service.slug}", headers=HTML))
    assert 'id="choose-mode"' in start_page and 'id="mode-video"' in start_page
    assert re.search(r'<select id="tz" name="tz" data-detect-tz', start_page)

    picker = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}", headers=HTML))
    assert f'id="day-{day}"' in picker and 'aria-current="date"' in picker
    assert 'id="slot-morning"' in picker and 'id="slot-afternoon"' in picker
    offered = slots(picker)
    first = at(day, 9).isoformat().replace("+00:00", "Z")
    assert offered[0] == first
    assert ">9:00\u202fAM<" in picker or ">9:00 AM<" in picker  # shown in the client's zone

    form = open_details(client, service, day, first)
    assert 'id="details"' in form and 'name="website"' in form
    response = client.post(f"/{service.slug}", data=details(form), headers=HTML)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.endswith("?new=1")
    token = token_of(location)

    confirmation = client.get(location, headers=HTML)
    page = text(confirmation)
    assert confirmation.headers["Referrer-Policy"] == "no-referrer"
    assert "You are booked" in page
    assert "https://meet.example.org/amira" in page  # how to join
    assert "If the video does not work, we will call you at +1 416-555-0123." in page
    assert "Bring your documents" in page  # what to prepare
    assert f"/manage/{token}/event.ics" in page and "calendar.google.com" in page
    assert f"http://localhost/manage/{token}" in page  # the manage link
    assert "An interpreter: Portuguese" in page

    with shared_db.get_db(booking_app).transaction() as session:
        booked = appointments.get_by_manage_token(session=session, token=token)
        appointment_id = booked.id
        assert booked.client_language == "fr" and booked.client_time_zone == TZ
        assert booked.backup_callback_number == "+14165550123"
        assert booked.accommodation_captions and booked.client_notes == "First visit"

    moving = text(client.get(f"/manage/{token}/reschedule?day={day}", headers=HTML))
    assert 'id="reschedule-form"' in moving
    new_start = at(day, 11).isoformat().replace("+00:00", "Z")
    assert new_start in slots(moving)
    response = client.post(
        f"/manage/{token}/reschedule",
        data={"csrf_token": hidden(moving, "csrf_token"), "tz": TZ, "start": new_start},
        headers=HTML,
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("?moved=1")
    assert "Your appointment was moved" in text(
        client.get(response.headers["Location"], headers=HTML)
    )
    moved = load(booking_app, appointment_id)
    assert moved.start == at(day, 11) and moved.sequence == 1

    asking = text(client.get(f"/manage/{token}/cancel", headers=HTML))
    assert "Are you sure?" in asking and 'id="cancel-form"' in asking
    response = client.post(
        f"/manage/{token}/cancel",
        data={"csrf_token": hidden(asking, "csrf_token"), "reason": "I found a job"},
        headers=HTML,
    )
    assert response.status_code == 303
    assert "Your appointment is cancelled" in text(
        client.get(response.headers["Location"], headers=HTML)
    )
    cancelled = load(booking_app, appointment_id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "I found a job"
    assert client.get(f"/manage/{token}", headers=HTML).status_code == 410


def test_step_one_without_a_mode_asks_for_one(client, service):
    response = client.get(f"/{service.slug}?tz={TZ}", headers=HTML)
    html = text(response)
    assert 'id="error-summary"' in html and "Please choose how you want to meet." in html
    assert 'aria-describedby="mode-error"' in html


def test_chosen_time_zone_is_kept_and_used_for_the_times(client, service, day):
    html = text(client.get(f"/{service.slug}?mode=video&tz=Europe/Paris&day={day}", headers=HTML))
    assert re.search(r">3:00\s?PM<", html)  # 09:00 in Toronto
    assert 'name="tz" value="Europe/Paris"' in html
    again = text(client.get(f"/{service.slug}?mode=video&tz=Europe/Paris&change=1", headers=HTML))
    assert 'value="Europe/Paris" selected' in again and "data-server-chosen" in again


def test_validation_errors_keep_the_input_and_tie_each_error_to_its_field(client, service, day):
    form = open_details(client, service, day)
    data = details(
        form, email="not-an-email", name="", notes="Keep me", backup="callback", phone=""
    )
    response = client.post(f"/{service.slug}", data=data, headers=HTML)
    assert response.status_code == 422
    html = text(response)
    assert 'id="error-summary"' in html
    assert '<a href="#email">' in html and '<a href="#name">' in html
    assert '<a href="#callback_number">' in html
    assert re.search(r'id="email"[^>]*value="not-an-email"', html)
    assert re.search(r'id="email"[^>]*aria-describedby="email-hint email-error"', html)
    assert 'aria-invalid="true"' in html
    assert ">Keep me</textarea>" in html
    assert re.search(r'id="interpreter_language"[^>]*value="Portuguese"', html)
    assert 'id="captions" name="captions" value="1" checked' in html


def test_fields_longer_than_their_limit_are_refused(client, service, day):
    form = open_details(client, service, day)
    response = client.post(f"/{service.slug}", data=details(form, name="x" * 201), headers=HTML)
    assert response.status_code == 422
    assert "Please keep this under 200 characters." in text(response)


def test_slot_just_taken_offers_the_nearest_ones_and_keeps_the_input(
    client, booking_app, service, day, at, book
):
    form = open_details(client, service, day)
    book(service, at(day, 9))  # someone else is faster
    response = client.post(f"/{service.slug}", data=details(form, notes="Still here"), headers=HTML)
    assert response.status_code == 409
    html = text(response)
    assert "Someone just booked this time" in html
    nearest = slots(html)
    assert nearest and at(day, 9).isoformat().replace("+00:00", "Z") not in nearest
    assert ">Still here</textarea>" in html
    again = details(html, start=nearest[0], notes="Still here")
    response = client.post(f"/{service.slug}", data=again, headers=HTML)
    assert response.status_code == 303


def test_not_choosing_one_of_the_nearest_slots_asks_again(client, service, day, at, book):
    form = open_details(client, service, day)
    book(service, at(day, 9))
    taken = text(client.post(f"/{service.slug}", data=details(form), headers=HTML))
    data = details(taken, start="")
    response = client.post(f"/{service.slug}", data=data, headers=HTML)
    assert response.status_code == 422
    assert '<a href="#nearest-1">' in text(response)


def test_a_stale_slot_link_shows_the_taken_notice(client, service, day, at, book):
    book(service, at(day, 9))
    start = at(day, 9).isoformat().replace("+00:00", "Z")
    html = text(
        client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}&start={start}", headers=HTML)
    )
    assert "Someone just booked this time" in html and 'id="nearest-1"' in html


def test_double_submit_shows_the_same_booking(client, booking_app, service, day):
    data = details(open_details(client, service, day))
    first = client.post(f"/{service.slug}", data=data, headers=HTML)
    second = client.post(f"/{service.slug}", data=data, headers=HTML)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]


def test_a_replayed_form_from_another_address_never_shows_the_first_booking(
    client, booking_app, service, day
):
    """The form's request key is its sender's: the same form from another address is a new
    request (the time is taken), never a redirect to the first client's manage link."""
    data = details(open_details(client, service, day))
    first = client.post(
        f"/{service.slug}", data=data, headers=HTML, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )
    replayed = client.post(
        f"/{service.slug}", data=data, headers=HTML, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert first.status_code == 303
    assert replayed.status_code != 303 and "Location" not in replayed.headers
    assert token_of(first.headers["Location"]) not in text(replayed)


def test_phone_mode_needs_a_number_to_call(client, service, day):
    picker = text(client.get(f"/{service.slug}?mode=phone&tz={TZ}&day={day}", headers=HTML))
    form = text(
        client.get(f"/{service.slug}?mode=phone&tz={TZ}&start={slots(picker)[0]}", headers=HTML)
    )
    assert 'id="backup-callback"' not in form and 'id="callback_number"' in form
    response = client.post(f"/{service.slug}", data=details(form, phone=""), headers=HTML)
    assert response.status_code == 422
    assert "Please enter the number we should call." in text(response)
    response = client.post(
        f"/{service.slug}", data=details(form, phone="+1 604 555 0199"), headers=HTML
    )
    page = text(client.get(response.headers["Location"], headers=HTML))
    assert "We will call you at +1 604-555-0199." in page


def test_in_person_confirmation_gives_the_address(client, make_service, next_weekday):
    service = make_service(modes=["in_person"], location="12 Maple Street, Toronto")
    day = next_weekday(2)
    picker = text(client.get(f"/{service.slug}?tz={TZ}&day={day}", headers=HTML))
    form = text(client.get(f"/{service.slug}?tz={TZ}&start={slots(picker)[0]}", headers=HTML))
    assert 'id="backup-plan"' not in form
    response = client.post(f"/{service.slug}", data=details(form), headers=HTML)
    page = text(client.get(response.headers["Location"], headers=HTML))
    assert "12 Maple Street, Toronto" in page and "Please arrive 5 minutes early." in page
    # A map search link for the address; nothing on the page is loaded from the map site.
    assert (
        'id="map-link" href="https://www.openstreetmap.org/search?query=12%20Maple%20Street%2C%20Toronto"'
        in page
    )
    assert "<img" not in page and "<iframe" not in page


def test_video_with_dial_in_backup_shows_the_number_to_call(client, service, day):
    form = open_details(client, service, day)
    response = client.post(
        f"/{service.slug}", data=details(form, backup="dial_in", phone=""), headers=HTML
    )
    page = text(client.get(response.headers["Location"], headers=HTML))
    assert "If the video does not work, call us at +1 416-555-0100." in page


def test_honeypot_refuses_silently(client, booking_app, service, day):
    form = open_details(client, service, day)
    response = client.post(
        f"/{service.slug}", data=details(form, website="http://spam"), headers=HTML
    )
    assert response.status_code == 303 and "/manage/" not in response.headers["Location"]
    with shared_db.get_db(booking_app).transaction() as session:
        assert session.query(Appointment).count() == 0


def test_form_post_without_csrf_token_is_refused_kindly(client, service, day):
    data = details(open_details(client, service, day))
    del data["csrf_token"]
    response = client.post(f"/{service.slug}", data=data, headers=HTML)
    assert response.status_code == 400 and "text/html" in response.content_type
    assert "Error code: 400" in text(response)


def test_booking_posts_are_rate_limited(client, service, day):
    data = details(open_details(client, service, day), email="", phone="")  # neither: invalid
    statuses = [
        client.post(f"/{service.slug}", data=data, headers=HTML).status_code for _ in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    assert "Too many tries" in text(client.post(f"/{service.slug}", data=data, headers=HTML))


def test_unknown_and_revoked_manage_links_get_the_same_friendly_404(
    client, booking_app, service, day, at, book
):
    booked = book(service, at(day, 11))
    with shared_db.get_db(booking_app).transaction() as session:  # completed: link revoked
        appointment = session.get(Appointment, booked.appointment.id)
        appointments.complete(
            session=session,
            appointment=appointment,
            actor=appointments.CLIENT,
            outcome="resolved",
            now=appointment.end,
        )
    unknown = client.get("/manage/fdm_" + "0" * 48, headers=HTML)
    revoked = client.get(f"/manage/{booked.manage_token}", headers=HTML)
    malformed = client.get("/manage/not-a-token", headers=HTML)
    for response in (unknown, revoked, malformed):
        assert response.status_code == 404
        assert "We could not find this page" in text(response)
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert text(unknown).replace("manage_link_not_found", "") == text(revoked).replace(
        "manage_link_not_found", ""
    )
    assert client.get(f"/manage/{booked.manage_token}/cancel", headers=HTML).status_code == 404


@pytest.mark.parametrize(
    ("lang", "title", "again"),
    [
        ("en", "This appointment was cancelled", "Book again"),
        ("fr", "Ce rendez-vous a été annulé", "Réserver à nouveau"),
        ("es", "Esta cita fue cancelada", "Reservar de nuevo"),
    ],
)
def test_manage_link_of_a_cancelled_appointment_says_so_and_offers_to_book_again(
    client, booking_app, service, day, at, book, lang, title, again
):
    booked = book(service, at(day, 11))
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.get(Appointment, booked.appointment.id)
        appointments.cancel(session=session, appointment=appointment, actor=appointments.CLIENT)
    token = booked.manage_token
    for path in (f"/manage/{token}", f"/manage/{token}/cancel", f"/manage/{token}/reschedule"):
        response = client.get(f"{path}?lang={lang}", headers=HTML)
        assert response.status_code == 410, path
        html = unescape(text(response))
        assert title in html and again in html
        assert f'id="book-again" href="/{service.slug}"' in html
        assert "manage_link_not_found" not in html and "410" not in html  # no error code
        assert response.headers["Referrer-Policy"] == "no-referrer"
    # The API and the calendar file still answer like an unknown link.
    assert client.get(f"/api/v1/manage/{token}").status_code == 404
    assert client.get(f"/manage/{token}/event.ics").status_code == 404


def test_event_file_is_publish_with_the_invite_uid(client, service, day, at, book):
    booked = book(service, at(day, 9))
    response = client.get(f"/manage/{booked.manage_token}/event.ics")
    assert response.mimetype == "text/calendar"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    calendar = Calendar.from_ical(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == booked.appointment.uid


@pytest.mark.parametrize(
    "language, words",
    [
        ("fr", ["avec", "Appel vidéo", "Plan de secours", "Si la vidéo ne marche pas", "bientôt"]),
        ("es", ["con", "Videollamada", "Plan de respaldo", "Si el video no funciona", "pronto"]),
        ("en", ["with", "Video call", "Backup plan", "If the video does not work", "soon"]),
    ],
)
def test_calendar_files_speak_the_clients_language(client, service, day, at, book, language, words):
    from services.booking import ical

    booked = book(
        service,
        at(day, 9),
        client={"name": "Ana Souza", "email": "ana@example.org", "language": language},
        backup={"callback_number": "+14165550123", "use_dial_in": True},
    )
    published = Calendar.from_ical(client.get(f"/manage/{booked.manage_token}/event.ics").data)
    _method, invite = ical.invite(booked.appointment)
    for calendar in (published, Calendar.from_ical(invite)):
        event = calendar.walk("VEVENT")[0]
        shown = " ".join(
            [str(event["SUMMARY"]), str(event["DESCRIPTION"])]
            + [str(alarm["DESCRIPTION"]) for alarm in event.walk("VALARM")]
        )
        assert all(word in shown for word in words), (language, shown)


def test_confirmation_lists_consent_forms_with_their_signing_links(
    client, booking_app, make_service, day, at, book
):
    service = make_service(required_consent_template_ids=[7])
    booked = book(service, at(day, 9))
    page = text(client.get(f"/manage/{booked.manage_token}", headers=HTML))
    assert "We will email you a link to sign the form" in page
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.get(Appointment, booked.appointment.id)
        appointments.set_consent(
            session=session,
            appointment=appointment,
            request_id=41,
            template_id=7,
            form_title="Session recording",
            status="pending",
            signing_url="http://frontdesk.test/consent/sign/fdc_abc",
        )
    page = text(client.get(f"/manage/{booked.manage_token}", headers=HTML))
    assert 'href="http://frontdesk.test/consent/sign/fdc_abc" id="sign-41"' in page
    assert "Waiting for your signature" in page


def test_reschedule_to_a_taken_time_offers_the_nearest(client, service, day, at, book):
    mine = book(service, at(day, 9))
    page = text(client.get(f"/manage/{mine.manage_token}/reschedule?day={day}", headers=HTML))
    book(service, at(day, 13))
    response = client.post(
        f"/manage/{mine.manage_token}/reschedule",
        data={"csrf_token": hidden(page, "csrf_token"), "tz": TZ, "start": at(day, 13).isoformat()},
        headers=HTML,
    )
    assert response.status_code == 409
    assert "Someone just booked this time" in text(response) and 'id="nearest-1"' in text(response)
    missing = client.post(
        f"/manage/{mine.manage_token}/reschedule",
        data={"csrf_token": hidden(page, "csrf_token"), "tz": TZ},
        headers=HTML,
    )
    assert missing.status_code == 422 and '<a href="#slot-1">' in text(missing)


def test_days_navigation_moves_through_the_horizon(client, service, day):
    html = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&first={day}", headers=HTML))
    later = unescape(re.search(r'id="days-later" href="([^"]+)"', html).group(1))
    earlier = unescape(re.search(r'id="days-earlier" href="([^"]+)"', html).group(1))
    assert "first=" in later and "first=" in earlier
    assert client.get(later, headers=HTML).status_code == 200
    assert 'id="days-earlier"' not in text(
        client.get(f"/{service.slug}?mode=video&tz={TZ}", headers=HTML)
    )


def test_language_switcher_keeps_the_chosen_step(client, service, day):
    html = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}", headers=HTML))
    switch = unescape(re.search(r'<a href="([^"]+)" hreflang="fr"', html).group(1))
    assert "mode=video" in switch and f"day={day}" in switch and "lang=fr" in switch
    french = text(client.get(f"/{service.slug}{switch}", headers=HTML))
    assert '<html lang="fr"' in french and "Jours avec des heures libres" in french


def _page_urls(client, service, day, token) -> list[str]:
    picker = f"/{service.slug}?mode=video&tz={TZ}&day={day}"
    start = slots(text(client.get(picker, headers=HTML)))[0]
    return [
        "/",
        f"/{service.slug}",
        picker,
        f"{picker}&start={start}",
        f"/manage/{token}?new=1",
        f"/manage/{token}/cancel",
        f"/manage/{token}/reschedule",
        f"/cancelled?service={service.slug}",
    ]


def test_each_page_with_its_css_and_js_stays_under_100_kb(client, service, day, at, book):
    booked = book(service, at(day, 15))
    assets = sum(
        len(client.get(f"/static/fd/{name}").data) for name in ("frontdesk.css", "frontdesk.js")
    )
    for url in _page_urls(client, service, day, booked.manage_token):
        response = client.get(url, headers=HTML)
        assert response.status_code == 200, url
        assert len(response.data) + assets < 100_000, url


def _english_sentences() -> set[str]:
    """The page strings written in English here (several words, so not names or codes)."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = set()
    for _, _, message, *_ in extract_from_dir(BOOKING_DIR, method_map):
        message = message if isinstance(message, str) else message[0]
        plain = re.split(r"%\(\w+\)\w", message)
        found.update(part.strip() for part in plain if len(part.split()) >= 3)
    return found


@pytest.mark.parametrize("lang", ["fr", "es", "ar"])
def test_french_and_spanish_pages_have_no_english_left(client, service, day, at, book, lang):
    booked = book(service, at(day, 15), accommodations={"captions": True})
    english = _english_sentences()
    assert len(english) > 50
    pages = _page_urls(client, service, day, booked.manage_token)
    form = text(client.get(pages[3], headers=HTML))
    invalid = client.post(
        f"/{service.slug}?lang={lang}", data=details(form, email="x", name=""), headers=HTML
    )
    bodies = [
        text(client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}", headers=HTML))
        for url in pages
    ]
    bodies.append(text(invalid))
    for body in bodies:
        assert f'<html lang="{lang}"' in body
        left = sorted(sentence for sentence in english if unescape(sentence) in unescape(body))
        assert left == []


@pytest.mark.parametrize(
    "query",
    [
        "mode=video&tz=America/Toronto&start=9999-12-31T00:00:00Z",
        "mode=video&tz=America/Toronto&first=9999-12-25&day=0001-01-01",
        "mode=video&tz=Not/AZone",
        "mode=fax&tz=UTC",
        "mode=video&tz=UTC&start=yesterday",
    ],
)
def test_nonsense_in_the_query_never_breaks_the_page(client, service, query):
    assert client.get(f"/{service.slug}?{query}", headers=HTML).status_code == 200


def test_group_sessions_show_the_places_left(client, make_service, day, at, book):
    service = make_service(capacity=3)
    book(service, at(day, 9))
    html = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}&lang=es", headers=HTML))
    assert "Quedan 2 lugares" in html and "Quedan 3 lugares" in html


def test_places_left_take_arabics_plural_forms(client, make_service, day, at, book):
    service = make_service(capacity=3)
    book(service, at(day, 9))
    html = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&day={day}&lang=ar", headers=HTML))
    assert "بقي مكانان (2)" in html and "بقيت 3 أماكن" in html


def test_links_carry_the_public_prefix_when_mounted_under_booking(apps, service):
    from werkzeug.test import Client

    from frontdesk.suite import Suite

    browser = Client(Suite(apps))
    listing = browser.get("/booking/", headers=HTML).get_data(as_text=True)
    assert f'href="/booking/{service.slug}"' in listing
    assert 'href="/booking/static/fd/frontdesk.css"' in listing
    page = browser.get(f"/booking/{service.slug}", headers=HTML).get_data(as_text=True)
    assert 'action="/booking/' in page


def test_a_backup_plan_no_staff_member_can_hold_is_explained_and_input_kept(
    client, make_staff, make_service, day
):
    phone_only = make_staff(name="Phone only", video_link_template=None)
    no_dial_in = make_staff(name="No dial-in", dial_in=None)
    service = make_service(staff=[phone_only, no_dial_in])
    form = open_details(client, service, day)
    response = client.post(
        f"/{service.slug}", data=details(form, backup="dial_in", notes="Kept"), headers=HTML
    )
    assert response.status_code == 422
    html = text(response)
    assert '<a href="#backup-callback">' in html and ">Kept</textarea>" in html


def test_an_empty_cross_site_form_cannot_cancel(client, booking_app, service, day, at, book):
    booked = book(service, at(day, 9))
    response = client.post(
        f"/manage/{booked.manage_token}/cancel",
        headers={**HTML, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert load(booking_app, booked.appointment.id).status == "confirmed"


@pytest.mark.parametrize(
    "email", ["ana..souza@example.org", "ana(souza)@example.org", "ana@exa_mple.org"]
)
def test_booking_page_refuses_the_addresses_the_booking_api_refuses(
    client, booking_app, service, day, email
):
    """The page checks the details with the API's AppointmentCreateSchema: no address gets
    through one door and not the other."""
    response = client.post(
        f"/{service.slug}",
        data=details(open_details(client, service, day), email=email),
        headers=HTML,
    )
    assert response.status_code == 422
    html = text(response)
    assert (
        '<a href="#email">' in html
        and "Please enter an email address like name@example.com." in html
    )
    assert re.search(rf'id="email"[^>]*value="{re.escape(email)}"', html)


def test_details_inputs_take_their_lengths_from_the_api_schema(client, service, day):
    from services.booking.schemas import AppointmentCreateSchema
    from shared.fields import max_length

    html = open_details(client, service, day)
    for key, path in [
        ("email", "client.email"),
        ("interpreter_language", "accommodations.interpreter_language"),
        ("accommodation_other", "accommodations.other"),
        ("notes", "client_notes"),
    ]:
        limit = max_length(AppointmentCreateSchema(), path)
        assert re.search(rf'id="{key}"[^>]*maxlength="{limit}"', html), key


def test_arabic_pages_are_right_to_left_and_in_arabic(client, service, day, at, book):
    booked = book(service, at(day, 15))
    picker = f"/{service.slug}?mode=video&tz={TZ}&day={day}&lang=ar"
    service_page = text(client.get(picker, headers=HTML))
    assert '<html lang="ar" dir="rtl">' in service_page
    assert "الخطوة 2 من 3: اختر يومًا ووقتًا" in service_page
    # The switcher's other languages keep their own direction inside the Arabic page.
    assert 'hreflang="fr" lang="fr" dir="ltr"' in service_page
    assert 'hreflang="ar" lang="ar" dir="rtl" aria-current="true">العربية</a>' in service_page
    manage = text(client.get(f"/manage/{booked.manage_token}?lang=ar", headers=HTML))
    assert '<html lang="ar" dir="rtl">' in manage
    assert "تعديل أو إلغاء" in manage and "أضف إلى تقويمك" in manage
    english = text(client.get(f"/{service.slug}?lang=en", headers=HTML))
    assert '<html lang="en" dir="ltr">' in english


def test_error_summary_says_a_message_shared_by_two_inputs_once(client, service, day):
    form = open_details(client, service, day)
    data = details(form, phone="abc", callback_number="xyz", backup="callback")
    html = text(client.post(f"/{service.slug}", data=data, headers=HTML))
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    lines = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a>', summary)
    assert lines == [("phone", "Please enter a phone number, for example +1 416 555 0100.")]
    # Each input still carries its own message beside it.
    assert 'id="phone-error"' in html and 'id="callback_number-error"' in html


def test_french_time_zones_read_as_places_not_heure_colon(client, service):
    html = unescape(text(client.get(f"/{service.slug}?lang=fr", headers=HTML)))
    assert "heure :" not in html
    assert re.search(r'<option value="America/Toronto"[^>]*>Canada \(Toronto\) \(UTC', html)
    spanish = unescape(text(client.get(f"/{service.slug}?lang=es", headers=HTML)))
    assert "hora de Canadá (Toronto)" in spanish


def test_back_after_booking_says_the_time_is_the_clients_own(client, booking_app, service, day):
    form = open_details(client, service, day)
    start = hidden(form, "start")
    response = client.post(f"/{service.slug}", data=details(form), headers=HTML)
    token = token_of(response.headers["Location"])
    # Back: the browser asks for the details step of the time it has just booked.
    back = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&start={start}", headers=HTML))
    assert 'id="own-booking"' in back and "You have booked this time" in back
    assert f'href="/manage/{token}"' in back
    assert "Someone just booked this time" not in back
    # Another browser still hears that the time was just taken.
    other = booking_app.test_client()
    page = text(other.get(f"/{service.slug}?mode=video&tz={TZ}&start={start}", headers=HTML))
    assert "Someone just booked this time" in page and 'id="own-booking"' not in page


def test_confirmation_links_straight_to_the_form_to_sign_now(
    client, booking_app, make_service, day, at, book
):
    service = make_service(required_consent_template_ids=[7])
    booked = book(service, at(day, 9))
    page = text(client.get(f"/manage/{booked.manage_token}?new=1", headers=HTML))
    sign_now = f"/manage/{booked.manage_token}/sign"
    assert re.search(rf'id="booked".*href="{sign_now}"[^>]*>Sign the form now<', page, re.S)
    # Before the consent service has made the form: the page says it is being prepared.
    preparing = client.get(sign_now, headers=HTML)
    assert preparing.status_code == 200
    assert "Your form is being prepared" in text(preparing)
    with shared_db.get_db(booking_app).transaction() as session:
        appointments.set_consent(
            session=session,
            appointment=session.get(Appointment, booked.appointment.id),
            request_id=41,
            template_id=7,
            form_title="Session recording",
            status="pending",
            signing_url="http://frontdesk.test/consent/sign/fdc_abc",
        )
    response = client.get(sign_now, headers=HTML)
    assert response.status_code == 303
    assert response.headers["Location"] == "http://frontdesk.test/consent/sign/fdc_abc"


def test_confirmation_without_forms_has_no_sign_now_link(client, service, day, at, book):
    booked = book(service, at(day, 9))
    page = text(client.get(f"/manage/{booked.manage_token}?new=1", headers=HTML))
    assert 'id="booked"' in page and 'id="sign-now"' not in page


def test_a_service_with_one_way_to_meet_asks_no_mode_question(client, make_service):
    workshop = make_service(modes=["video"], location=None)
    page = text(client.get(f"/{workshop.slug}", headers=HTML))
    assert 'type="radio"' not in page and "How do you want to meet?" not in page
    assert 'id="only-mode"' in page and "Video call" in page
    assert "Step 1 of 3: Your time zone" in page
    assert '<input type="hidden" name="mode" value="video">' in page
    french = text(client.get(f"/{workshop.slug}?lang=fr", headers=HTML))
    assert "votre fuseau horaire" in french


def test_a_group_workshops_backup_plan_is_its_dial_in_not_a_call_back(
    client, booking_app, make_service, day
):
    workshop = make_service(capacity=8, location=None)
    form = open_details(client, workshop, day)
    assert 'id="backup-group-dial-in"' in form
    assert 'id="backup-callback"' not in form and 'id="callback_number"' not in form
    data = details(form, phone="", callback_number="")
    data.pop("backup")
    data["backup"] = hidden(form, "backup")
    response = client.post(f"/{workshop.slug}", data=data, headers=HTML)
    assert response.status_code == 303, text(response)
    page = text(client.get(response.headers["Location"], headers=HTML))
    assert "If the video does not work, call us at +1 416-555-0100." in page
    assert "we will call you" not in page


def test_a_group_without_a_dial_in_keeps_the_call_back(client, make_service, make_staff, day):
    workshop = make_service(capacity=8, location=None, staff=[make_staff(dial_in=None)])
    form = open_details(client, workshop, day)
    assert 'id="backup-callback"' in form and 'id="backup-group-dial-in"' not in form


def test_month_calendar_links_the_free_days_without_javascript(client, service, day):
    month = day.strftime("%Y-%m")
    html = text(client.get(f"/{service.slug}?mode=video&tz={TZ}&month={month}", headers=HTML))
    calendar = re.search(r'<nav aria-labelledby="month-title" id="month">.*?</nav>', html, re.S)
    grid = calendar.group(0)
    assert "<caption>" in grid and '<th scope="col"><abbr title="Monday">Mon</abbr></th>' in grid
    free = re.findall(r'id="month-(\d{4}-\d{2}-\d{2})" href="([^"]+)"', grid)
    assert day.isoformat() in dict(free)  # Amira works that Tuesday
    assert all(found.startswith(month) for found, _ in free)
    # Weekends are plain numbers, not links: Amira does not work then.
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    if saturday.month == day.month:
        assert saturday.isoformat() not in dict(free)
    # A day of the calendar is a link to that day's times: it works with JavaScript off.
    page = text(client.get(unescape(dict(free)[day.isoformat()]), headers=HTML))
    assert f'id="month-{day.isoformat()}"' in page
    assert re.search(rf'id="month-{day.isoformat()}"[^>]*aria-current="date"', page)
    assert 'id="slot-list"' in page and 'id="days"' in page  # the day list stays as well
