"""A service's join instructions (video, phone) and access notes (in person), in the client's
language with the default language's as fallback: through the API (validated, at most 2,000
characters), on the confirmation/manage page, in the confirmation and reminder emails (real
SMTP), in the invite and the calendar file, in the staff member's notices (in their language);
never in the SMS, which links to the page. The access notes also show on the booking page before
a time is chosen."""

from __future__ import annotations

import re
from html import unescape as html_unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from services.booking import outbox
from services.notify import outbox as notify_outbox
from services.notify import rendering
from services.notify.models import Message
from shared.db import get_db
from shared.workers import step_on

ENGLISH = {
    "name": "Settlement intake",
    "join_instructions": "Open the link 5 minutes early.\nIf the video fails, we call you.",
    "access_notes": "Entrance on the side street, step-free.\n2nd floor, buzzer 4.",
}
VERSIONS = {
    "fr": {
        "name": "Premier entretien",
        "join_instructions": "Ouvrez le lien 5 minutes en avance.\nSi la vidéo échoue, nous "
        "vous appelons.",
        "access_notes": "Entrée par la rue latérale, sans marches.\n2e étage, interphone 4.",
    },
    "ar": {
        "name": "المقابلة الأولى",
        "join_instructions": "افتح الرابط قبل 5 دقائق.\nإذا لم يعمل الفيديو، نتصل بك.",  # noqa: RUF001
        "access_notes": "المدخل من الشارع الجانبي، دون درج.\nالطابق الثاني، الجرس 4.",  # noqa: RUF001
    },
}
ADDRESS = "120 Maple Street, Toronto"
CLIENT = {"name": "Ana Souza", "email": "ana@example.org", "time_zone": "America/Toronto"}
HTML = {"Accept": "text/html"}


def english_left(text: str) -> list[str]:
    """The English guidance lines still in a text."""
    lines = [*ENGLISH["join_instructions"].split("\n"), *ENGLISH["access_notes"].split("\n")]
    return [line for line in lines if line in text]


@pytest.fixture
def service(make_service):
    return make_service(
        **ENGLISH,
        slug="intake",
        modes=["video", "phone", "in_person"],
        location=ADDRESS,
        translations=VERSIONS,
    )


@pytest.fixture
def admin(booking_app, make_token):
    """POST/PATCH services as an admin: (method, path, body) -> response."""
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    client = booking_app.test_client()
    return lambda method, path, body: client.open(path, method=method, json=body, headers=headers)


@pytest.fixture
def smtp(notify_app, smtp_sink):
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


def test_the_api_takes_and_returns_the_guidance_and_its_versions(booking_app, admin):
    body = {**ENGLISH, "slug": "intake", "duration_minutes": 45, "translations": VERSIONS}
    created = admin("POST", "/api/v1/services", body)
    assert created.status_code == 201, created.get_json()
    service_id = created.get_json()["id"]
    read = booking_app.test_client().get(f"/api/v1/services/{service_id}").get_json()
    assert read["join_instructions"] == ENGLISH["join_instructions"]
    assert read["access_notes"] == ENGLISH["access_notes"]
    assert read["translations"] == VERSIONS
    # A PATCH of one field leaves the other as it was.
    changed = admin("PATCH", f"/api/v1/services/{service_id}", {"access_notes": "Door B."})
    assert changed.status_code == 200
    assert changed.get_json()["access_notes"] == "Door B."
    assert changed.get_json()["join_instructions"] == ENGLISH["join_instructions"]


def test_a_service_without_guidance_has_empty_texts(admin):
    created = admin(
        "POST", "/api/v1/services", {"name": "Quick chat", "slug": "chat", "duration_minutes": 15}
    )
    assert created.status_code == 201
    assert created.get_json()["join_instructions"] == ""
    assert created.get_json()["access_notes"] == ""


@pytest.mark.parametrize(
    ("fields", "error_key"),
    [
        ({"join_instructions": "x" * 2001}, "join_instructions"),
        ({"access_notes": "x" * 2001}, "access_notes"),
        ({"join_instructions": 12}, "join_instructions"),
        ({"translations": {"fr": {"access_notes": "x" * 2001}}}, "translations"),
        ({"translations": {"ar": {"join_instructions": ["a"]}}}, "translations"),
    ],
)
def test_the_api_refuses_guidance_that_does_not_validate(admin, fields, error_key):
    body = {"name": "Intake", "slug": "intake", "duration_minutes": 45, **fields}
    answer = admin("POST", "/api/v1/services", body)
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["code"]
    assert error_key in answer.get_json()["errors"]


def test_the_longest_guidance_is_accepted(admin):
    body = {"name": "Intake", "slug": "intake", "duration_minutes": 45, "access_notes": "x" * 2000}
    assert admin("POST", "/api/v1/services", body).status_code == 201


def test_line_breaks_sent_as_crlf_are_stored_as_lf_and_counted_once(admin):
    """1,000 lines sent with CRLF are 1,999 characters once stored: within the limit."""
    notes = "\r\n".join(["x"] * 1000)
    body = {"name": "Intake", "slug": "intake", "duration_minutes": 45, "access_notes": notes}
    answer = admin("POST", "/api/v1/services", body)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["access_notes"] == "\n".join(["x"] * 1000)


def test_a_language_or_field_without_a_version_reads_the_default(make_service):
    service = make_service(
        **ENGLISH, slug="intake", translations={"fr": {"access_notes": "Porte B."}}
    )
    french = service.text_in("fr-CA")
    assert french.access_notes == "Porte B."
    assert french.join_instructions == ENGLISH["join_instructions"]  # no French one
    assert service.text_in("es").access_notes == ENGLISH["access_notes"]


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_confirmation_page_shows_how_to_join_in_the_clients_language(
    booking_app, service, book, next_weekday, at, lang
):
    booked = book(service, at(next_weekday(1), 10), client={"language": lang} | CLIENT)
    page = booking_app.test_client().get(
        f"/manage/{booked.manage_token}", query_string={"lang": lang, "new": "1"}, headers=HTML
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    join = html.split('id="how-to-join"', 1)[1].split("</section>", 1)[0]
    assert 'id="join-instructions"' in join
    assert VERSIONS[lang]["join_instructions"] in join
    assert english_left(html) == []
    assert VERSIONS[lang]["access_notes"] not in html  # a video appointment: no way in to find


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_an_in_person_appointment_shows_access_notes_next_to_the_address(
    booking_app, service, book, next_weekday, at, lang
):
    booked = book(
        service, at(next_weekday(1), 10), mode="in_person", client={"language": lang} | CLIENT
    )
    page = booking_app.test_client().get(
        f"/manage/{booked.manage_token}", query_string={"lang": lang}, headers=HTML
    )
    html = page.get_data(as_text=True)
    steps = html.split('id="how-to-join"', 1)[1].split("</ol>", 1)[0]
    assert steps.index('id="map-link"') < steps.index('id="access-notes"')
    assert VERSIONS[lang]["access_notes"] in steps
    assert english_left(html) == []
    assert 'id="join-instructions"' not in html


def test_guidance_is_shown_as_text_never_as_html(booking_app, make_service, book, next_weekday, at):
    service = make_service(join_instructions='<a href="https://evil.example">Click</a>')
    booked = book(service, at(next_weekday(1), 10))
    html = booking_app.test_client().get(f"/manage/{booked.manage_token}", headers=HTML).text
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Click&lt;/a&gt;" in html
    assert '<a href="https://evil.example">' not in html


def test_the_manage_link_api_gives_the_guidance_of_the_appointments_mode(
    booking_app, service, book, next_weekday, at
):
    client = booking_app.test_client()
    video = book(service, at(next_weekday(1), 10), client={"language": "fr"} | CLIENT)
    answer = client.get(f"/api/v1/manage/{video.manage_token}").get_json()
    assert answer["join_instructions"] == VERSIONS["fr"]["join_instructions"]
    assert answer["access_notes"] == ""
    there = book(
        service, at(next_weekday(2), 10), mode="in_person", client={"language": "fr"} | CLIENT
    )
    answer = client.get(f"/api/v1/manage/{there.manage_token}").get_json()
    assert answer["access_notes"] == VERSIONS["fr"]["access_notes"]
    assert answer["join_instructions"] == ""


@pytest.mark.parametrize(
    ("mode", "field"), [("video", "join_instructions"), ("in_person", "access_notes")]
)
def test_the_calendar_file_describes_how_to_join_or_get_in(
    booking_app, service, book, next_weekday, at, mode, field
):
    booked = book(service, at(next_weekday(1), 10), mode=mode, client={"language": "ar"} | CLIENT)
    answer = booking_app.test_client().get(f"/manage/{booked.manage_token}/event.ics")
    [event] = Calendar.from_ical(answer.data).walk("VEVENT")
    description = str(event["DESCRIPTION"])
    assert VERSIONS["ar"][field] in description
    assert english_left(description) == []


def test_the_confirmation_email_and_its_invite_carry_the_guidance(
    booking_app, notify_app, smtp, service, next_weekday, at, booking_body
):
    client = CLIENT | {"language": "fr"}
    response = booking_app.test_client().post(
        "/api/v1/appointments",
        json=booking_body(service.id, at(next_weekday(1), 10), client=client, mode="in_person"),
    )
    assert response.status_code == 201, response.get_json()
    step_on(booking_app, outbox.dispatch)
    for _ in range(5):
        step_on(notify_app, notify_outbox.deliver)
    mail = next(m for m in smtp.wait_for(2) if m["To"] == "ana@example.org")
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # mail's line ends
    assert VERSIONS["fr"]["access_notes"] in text and "Pour entrer :" in text
    html = mail.get_body(("html",)).get_content()
    for line in VERSIONS["fr"]["access_notes"].split("\n"):
        assert line in html
    assert english_left(text + html) == []
    assert VERSIONS["fr"]["join_instructions"] not in text  # in person: no link to join
    [inline] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(inline.get_content()).walk("VEVENT")
    assert VERSIONS["fr"]["access_notes"] in str(event["DESCRIPTION"])


def test_reminders_carry_the_guidance_and_sms_leave_it_to_the_manage_page(
    booking_app, notify_app, service, next_weekday, at, booking_body
):
    client = CLIENT | {"language": "ar", "phone": "+14165550123", "notify_by": "both"}
    response = booking_app.test_client().post(
        "/api/v1/appointments",
        json=booking_body(service.id, at(next_weekday(1), 10), client=client),
    )
    assert response.status_code == 201, response.get_json()
    step_on(booking_app, outbox.dispatch)
    with get_db(notify_app).transaction() as session:
        reminders = session.scalars(
            sa.select(Message).where(Message.template == "booking_reminder")
        ).all()
        assert {message.channel for message in reminders} == {"email", "sms"}
        for message in reminders:
            assert message.data["join_instructions"] == VERSIONS["ar"]["join_instructions"]
            shown = rendering.render(template=message.template, locale="ar", data=message.data)
            if message.channel == "email":
                assert VERSIONS["ar"]["join_instructions"] in shown.text
                assert "تعليماتنا:" in shown.text
            else:
                first_line = VERSIONS["ar"]["join_instructions"].split("\n")[0]
                assert first_line not in shown.sms


def google_details(html: str) -> str:
    """The details of the page's add-to-Google-Calendar link."""
    href = html_unescape(re.search(r'id="add-google" href="([^"]+)"', html).group(1))
    assert len(href) <= 6000
    return parse_qs(urlsplit(href).query)["details"][0]


def test_the_google_calendar_link_carries_the_guidance_while_it_stays_short(
    booking_app, make_service, book, next_weekday, at
):
    client = booking_app.test_client()
    short = make_service(join_instructions="Test your microphone first.")
    booked = book(short, at(next_weekday(1), 10))
    html = client.get(f"/manage/{booked.manage_token}", headers=HTML).text
    assert "Test your microphone first." in google_details(html)
    # 2,000 Arabic characters are 12,000 once percent-encoded: the link leaves them to the page.
    long = make_service(translations={"ar": {"join_instructions": "ب" * 2000}})
    booked = book(long, at(next_weekday(2), 10), client={"language": "ar"} | CLIENT)
    html = client.get(f"/manage/{booked.manage_token}", query_string={"lang": "ar"}).text
    assert "ب" * 2000 in html and "ب" * 100 not in google_details(html)


def test_the_openapi_document_describes_the_guidance_and_its_limit(booking_app):
    schemas = booking_app.test_client().get("/openapi.json").get_json()["components"]["schemas"]
    for name in ("ServiceCreate", "ServiceTranslation"):
        for field in ("join_instructions", "access_notes"):
            described = schemas[name]["properties"][field]
            assert described["maxLength"] == 2000, (name, field)
            assert "never HTML" in described["description"], (name, field)


def place_on(html: str) -> str:
    """The booking page's in-person place: its address, map link and access notes."""
    return html.split('id="in-person-place"', 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_booking_page_shows_the_access_notes_before_a_time_is_chosen(
    booking_app, service, lang
):
    """Step-free entrance, floor, buzzer: a client can tell whether they can get in before
    choosing a time, under the address and its map link, in the page's language."""
    client = booking_app.test_client()
    for args in ({"lang": lang}, {"lang": lang, "mode": "in_person", "tz": "America/Toronto"}):
        html = client.get(f"/{service.slug}", query_string=args, headers=HTML).text
        place = place_on(html)
        assert f"<bdi>{ADDRESS}</bdi>" in place  # its number stays first in Arabic
        assert place.index('id="map-link"') < place.index('id="access-notes"')
        assert VERSIONS[lang]["access_notes"] in place
        assert english_left(html) == []
        assert html.index('id="in-person-place"') < html.index("<form")


def test_the_booking_page_shows_access_notes_as_text_never_as_html(booking_app, make_service):
    service = make_service(modes=["in_person"], location=ADDRESS, access_notes="Door <b>B</b>")
    html = booking_app.test_client().get(f"/{service.slug}", headers=HTML).text
    assert "Door &lt;b&gt;B&lt;/b&gt;" in place_on(html)
    assert "<b>B" not in html


def test_a_video_booking_page_shows_no_access_notes(booking_app, make_service, service):
    client = booking_app.test_client()
    video_only = make_service(**ENGLISH, modes=["video"], location=ADDRESS)
    html = client.get(f"/{video_only.slug}", query_string={"lang": "fr"}, headers=HTML).text
    assert 'id="in-person-place"' not in html
    assert ENGLISH["access_notes"] not in html
    # A service offering in person too, once the client chose video: none either.
    args = {"lang": "fr", "mode": "video", "tz": "America/Toronto"}
    html = client.get(f"/{service.slug}", query_string=args, headers=HTML).text
    assert 'id="in-person-place"' not in html
    assert VERSIONS["fr"]["access_notes"] not in html


def test_the_staff_notice_tells_staff_what_the_client_was_told_in_the_staffs_language(
    booking_app, notify_app, make_service, make_staff, make_token, next_weekday, at, booking_body
):
    """The staff member reads the join instructions (video) or the access notes (in person) in
    their own language (French here) in the booked and rescheduled notices, text and HTML."""
    staff = make_staff(languages=["fr"])
    service = make_service(
        staff=[staff],
        **ENGLISH,
        modes=["video", "in_person"],
        location=ADDRESS,
        translations=VERSIONS,
    )
    client = booking_app.test_client()
    client_in_arabic = CLIENT | {"language": "ar"}
    ids = {}
    for day, mode in ((1, "video"), (2, "in_person")):
        body = booking_body(
            service.id, at(next_weekday(day), 10), client=client_in_arabic, mode=mode
        )
        response = client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.get_json()
        ids[mode] = response.get_json()["appointment"]["id"]
    moved = client.post(
        f"/api/v1/appointments/{ids['in_person']}/reschedule",
        json={"start": at(next_weekday(2), 11).isoformat()},
        headers={"Authorization": f"Bearer {make_token('booking', 'admin')}"},
    )
    assert moved.status_code == 200, moved.get_json()
    step_on(booking_app, outbox.dispatch)
    with get_db(notify_app).transaction() as session:
        notices = session.scalars(
            sa.select(Message)
            .where(Message.template == "booking_staff_notice")
            .order_by(Message.id)
        ).all()
        shown = [
            (
                m.data["event"],
                m.data["mode"],
                m.locale,
                rendering.render(template=m.template, locale=m.locale, data=m.data),
            )
            for m in notices
        ]
    assert [(event, mode) for event, mode, _, _ in shown] == [
        ("booked", "video"),
        ("booked", "in_person"),
        ("rescheduled", "in_person"),
    ]
    for event, mode, locale, rendered in shown:
        assert locale == "fr"
        told, not_told = (
            ("join_instructions", "access_notes")
            if mode == "video"
            else ("access_notes", "join_instructions")
        )
        for line in VERSIONS["fr"][told].split("\n"):
            assert line in rendered.text, (event, mode)
            assert line in rendered.html, (event, mode)
        assert VERSIONS["fr"][not_told].split("\n")[0] not in rendered.text + rendered.html
        assert english_left(rendered.text + rendered.html) == [], (event, mode)
        assert VERSIONS["ar"][told].split("\n")[0] not in rendered.text  # the client's language
