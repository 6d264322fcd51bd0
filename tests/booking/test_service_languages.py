"""A service's name, description and resources in the client's language: on every booking
page, in the confirmation email and invite (real SMTP), through the API, in a staff feed in the
staff member's language; a language without a version falls back to the default's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar
from markupsafe import escape

from services.booking import outbox
from services.booking.demo import (
    INTAKE_TRANSLATIONS,
    TAX_TRANSLATIONS,
    WORKSHOP_TRANSLATIONS,
    load_demo,
)
from services.booking.operations import appointments
from services.booking.operations.appointments import Actor
from services.notify import outbox as notify_outbox
from services.notify.models import Message
from shared.db import get_db
from shared.workers import step_on

ENGLISH = {
    "name": "Settlement intake",
    "description": "A first conversation about housing and work.",
    "resources": [{"title": "Bring your documents", "url": None, "text": "ID, PR card"}],
}
VERSIONS = {
    "fr": {
        "name": "Premier entretien",
        "description": "Un premier échange sur le logement et le travail.",
        "resources": [{"title": "Apportez vos papiers", "url": None, "text": "Pièce d'identité"}],
    },
    "es": {
        "name": "Entrevista inicial",
        "description": "Una primera conversación sobre vivienda y trabajo.",
        "resources": [{"title": "Traiga sus documentos", "url": None, "text": "Identificación"}],
    },
    "ar": {
        "name": "المقابلة الأولى",
        "description": "محادثة أولى حول السكن والعمل.",
        "resources": [{"title": "أحضر وثائقك", "url": None, "text": "بطاقة الهوية"}],
    },
}
HTML = {"Accept": "text/html"}


def english_left(html: str) -> list[str]:
    """The English service texts still in a page."""
    texts = [ENGLISH["name"], ENGLISH["description"], ENGLISH["resources"][0]["title"]]
    return [text for text in texts if text in html]


@pytest.fixture
def service(make_service):
    return make_service(**ENGLISH, slug="intake", translations=VERSIONS)


@pytest.fixture
def smtp(notify_app, smtp_sink):
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


@pytest.mark.parametrize("lang", ["fr", "es", "ar"])
def test_every_booking_page_shows_the_service_in_the_clients_language(
    booking_app, service, book, next_weekday, at, lang
):
    booked = book(service, at(next_weekday(1), 10), client={"language": lang} | CLIENT_BASE)
    client = booking_app.test_client()
    for path in ("/", "/intake", "/help", f"/manage/{booked.manage_token}"):
        answer = client.get(path, query_string={"lang": lang}, headers=HTML)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200, path
        assert VERSIONS[lang]["name"] in html, path
        assert english_left(html) == [], path
    listing = client.get("/", query_string={"lang": lang}, headers=HTML).get_data(as_text=True)
    assert VERSIONS[lang]["description"] in listing
    manage = client.get(f"/manage/{booked.manage_token}", query_string={"lang": lang})
    assert VERSIONS[lang]["resources"][0]["title"] in manage.get_data(as_text=True)


CLIENT_BASE = {"name": "Ana Souza", "email": "ana@example.org", "time_zone": "America/Toronto"}


def test_a_language_or_field_without_a_version_falls_back_to_the_default(booking_app, make_service):
    make_service(**ENGLISH, slug="intake", translations={"fr": {"name": "Premier entretien"}})
    client = booking_app.test_client()
    spanish = client.get("/", query_string={"lang": "es"}, headers=HTML).get_data(as_text=True)
    assert ENGLISH["name"] in spanish and ENGLISH["description"] in spanish
    french = client.get("/", query_string={"lang": "fr"}, headers=HTML).get_data(as_text=True)
    assert "Premier entretien" in french and ENGLISH["name"] not in french
    assert ENGLISH["description"] in french  # no French description: the default's


def test_the_api_takes_and_returns_the_versions(booking_app, make_token, make_staff):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    client = booking_app.test_client()
    body = {**ENGLISH, "slug": "intake", "duration_minutes": 45, "translations": VERSIONS}
    created = client.post("/api/v1/services", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    service_id = created.get_json()["id"]
    assert client.get(f"/api/v1/services/{service_id}").get_json()["translations"] == VERSIONS
    changed = client.patch(
        f"/api/v1/services/{service_id}",
        json={"translations": {"fr": {"name": "Entretien"}}},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.get_json()["translations"] == {"fr": {"name": "Entretien"}}


@pytest.mark.parametrize(
    "translations",
    [
        {"xx": {"name": "Nope"}},  # a language the suite does not speak
        {"fr": {"name": ""}},
        {"fr": {"name": "Deux\nlignes"}},
        {"fr": {"colour": "bleu"}},
        {"fr": {"resources": [{"url": "https://example.org"}]}},  # a resource needs a title
        {"fr": "Premier entretien"},
    ],
)
def test_the_api_refuses_versions_that_do_not_validate(booking_app, make_token, translations):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    body = {**ENGLISH, "slug": "intake", "duration_minutes": 45, "translations": translations}
    answer = booking_app.test_client().post("/api/v1/services", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.get_json()["code"]
    assert any(key.startswith("translations") for key in answer.get_json()["errors"])


def test_the_confirmation_email_and_invite_are_in_the_clients_language(
    booking_app, notify_app, smtp, service, next_weekday, at, booking_body
):
    client = CLIENT_BASE | {"language": "es"}
    response = booking_app.test_client().post(
        "/api/v1/appointments",
        json=booking_body(service.id, at(next_weekday(1), 10), client=client),
    )
    assert response.status_code == 201, response.get_json()
    step_on(booking_app, outbox.dispatch)
    for _ in range(5):
        step_on(notify_app, notify_outbox.deliver)
    mails = smtp.wait_for(2)
    mail = next(m for m in mails if m["To"] == "ana@example.org")
    for part in (mail.get_body(("plain",)), mail.get_body(("html",))):
        body = part.get_content()
        assert VERSIONS["es"]["name"] in body
        assert ENGLISH["name"] not in body and ENGLISH["resources"][0]["title"] not in body
    [inline] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    event = vobject.readOne(inline.get_content()).vevent
    assert VERSIONS["es"]["name"] in event.summary.value
    assert ENGLISH["name"] not in event.summary.value + event.description.value
    # The staff member (en, ar, fr: English first) reads the default language's.
    staff_mail = next(m for m in mails if m["To"] != "ana@example.org")
    assert ENGLISH["name"] in staff_mail.get_body(("plain",)).get_content()


def test_a_french_speaking_staff_members_feed_is_in_french(
    booking_app, make_staff, make_service, book, next_weekday, at, make_token
):
    staff = make_staff(languages=["ti", "fr", "en"])  # Tigrinya is not spoken by the suite
    service = make_service(staff=[staff], **ENGLISH, slug="intake", translations=VERSIONS)
    book(service, at(next_weekday(1), 10))
    client = booking_app.test_client()
    token = make_token("booking", "staff", staff_id=staff.id)
    made = client.post(
        f"/api/v1/staff/{staff.id}/feed-token", headers={"Authorization": f"Bearer {token}"}
    )
    feed = client.get(made.get_json()["url"].split("/booking", 1)[1])
    [event] = Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith(VERSIONS["fr"]["name"] + " · ")
    assert ENGLISH["name"] not in str(event["SUMMARY"]) + str(event["DESCRIPTION"])


@pytest.mark.parametrize("lang", ["fr", "es", "ar"])
def test_the_demo_services_speak_every_language_of_the_pages(booking_app, session, lang):
    load_demo(session=session, consent_template_ids={"recording": 3})
    session.commit()
    english = [
        "Settlement intake",
        "Tax clinic",
        "Job search workshop",
        "settlement needs",
        "income tax return",
        "Before your intake",
    ]
    client = booking_app.test_client()
    for path in ("/", "/settlement-intake", "/tax-clinic", "/help"):
        html = client.get(path, query_string={"lang": lang}, headers=HTML).get_data(as_text=True)
        assert [text for text in english if text in html] == [], path
    listing = client.get("/", query_string={"lang": lang}, headers=HTML).get_data(as_text=True)
    for version in (INTAKE_TRANSLATIONS, TAX_TRANSLATIONS, WORKSHOP_TRANSLATIONS):
        assert escape(version[lang]["name"]) in listing


def test_every_email_and_sms_to_the_client_carries_the_service_in_their_language(
    booking_app, notify_app, service, next_weekday, at, booking_body
):
    client = CLIENT_BASE | {"language": "ar", "phone": "+14165550123", "notify_by": "both"}
    response = booking_app.test_client().post(
        "/api/v1/appointments",
        json=booking_body(service.id, at(next_weekday(1), 10), client=client),
    )
    assert response.status_code == 201, response.get_json()
    step_on(booking_app, outbox.dispatch)
    with get_db(notify_app).transaction() as session:
        to_client = session.scalars(
            sa.select(Message).where(Message.template.like("booking_%"), Message.locale == "ar")
        ).all()
        assert {message.channel for message in to_client} == {"email", "sms"}
        for message in to_client:  # the confirmation and the reminders, both channels
            assert message.data["service_name"] == VERSIONS["ar"]["name"], message.template
            assert message.data["resources"] == VERSIONS["ar"]["resources"]


def test_a_staff_members_feed_notes_and_cancellations_are_in_their_language(
    session, booking_app, make_staff, make_service, book, next_weekday, at, make_token
):
    staff = make_staff(languages=["es"])
    service = make_service(staff=[staff], **ENGLISH, slug="intake", translations=VERSIONS)
    gone = book(service, at(next_weekday(1), 10), accommodations={"captions": True}).appointment
    appointments.cancel(session=session, appointment=gone, actor=Actor("admin"), reason="sick")
    session.commit()
    client = booking_app.test_client()
    token = make_token("booking", "staff", staff_id=staff.id)
    made = client.post(
        f"/api/v1/staff/{staff.id}/feed-token", headers={"Authorization": f"Bearer {token}"}
    )
    feed = client.get(made.get_json()["url"].split("/booking", 1)[1])
    [event] = Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Cancelada: Entrevista inicial · Videollamada · Cliente: A. S."
    description = str(event["DESCRIPTION"])
    assert "Adaptaciones: subtítulos" in description and "En la consola: " in description


def test_the_manage_link_api_answers_in_the_clients_language(
    booking_app, service, book, next_weekday, at
):
    booked = book(service, at(next_weekday(1), 10), client={"language": "fr"} | CLIENT_BASE)
    answer = booking_app.test_client().get(f"/api/v1/manage/{booked.manage_token}").get_json()
    assert answer["service_name"] == VERSIONS["fr"]["name"]
    assert answer["resources"] == VERSIONS["fr"]["resources"]


@pytest.mark.parametrize(
    ("language", "name"), [("fr-CA", "Premier entretien"), ("", ENGLISH["name"])]
)
def test_a_regional_language_reads_its_languages_version(make_service, language, name):
    service = make_service(**ENGLISH, slug="intake", translations=VERSIONS)
    assert service.text_in(language).name == name
