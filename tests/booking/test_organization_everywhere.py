"""The organization's profile on booking's pages, in its emails through real SMTP, and in the
client's invite."""

from __future__ import annotations

import re
from email.utils import getaddresses

import pytest
import sqlalchemy as sa
import vobject

from services.booking import outbox
from services.notify import outbox as notify_outbox
from services.notify.models import Message
from shared.db import get_db
from shared.organization import ORGANIZATION_SOURCE
from shared.workers import step_on

PROFILE = {
    "name": "Maple Community Services",
    "phone": "+14165550123",
    "email": "hello@maple.example",
    "address": "120 Maple Street, Toronto ON M5V 2T6",
    "hours": {
        "en": "Monday to Friday, 9:00 to 17:00",
        "fr": "Du lundi au vendredi, de 9 h à 17 h",
        "ar": "من الاثنين إلى الجمعة",
    },
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}
PHONE = "+1 416-555-0123"
HOURS_SHOWN = {  # Spanish has no text of its own: the default language's is shown
    "en": PROFILE["hours"]["en"],
    "fr": PROFILE["hours"]["fr"],
    "es": PROFILE["hours"]["en"],
    "ar": PROFILE["hours"]["ar"],
}


@pytest.fixture
def profile(booking_app, make_token):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    response = booking_app.test_client().put("/api/v1/organization", json=PROFILE, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def smtp(notify_app, smtp_sink):
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_every_booking_page_shows_the_name_and_contacts_in_each_language(
    booking_app, profile, make_service, lang
):
    service = make_service()
    client = booking_app.test_client()
    for path in ("/", f"/{service.slug}", "/no-such-service"):
        answer = client.get(path, query_string={"lang": lang}, headers={"Accept": "text/html"})
        html = answer.get_data(as_text=True)
        header = html[html.index('<header class="site-header">') : html.index("</header>")]
        assert "Maple Community Services" in header, path
        footer = html[html.index('<footer class="site-footer">') :]
        assert f'<a href="tel:+14165550123" dir="ltr">{PHONE}</a>' in footer, path
        assert 'href="mailto:hello@maple.example"' in footer
        assert "120 Maple Street" in footer
        assert HOURS_SHOWN[lang] in footer
        assert "<title>" in html and "Frontdesk" not in html[: html.index("</title>")]


def test_the_logo_is_in_every_page_header(booking_app, profile, make_token):
    from test_organization import image

    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    client = booking_app.test_client()
    answer = client.put(
        "/api/v1/organization/logo", data=image("PNG"), content_type="image/png", headers=headers
    )
    path = answer.get_json()["logo_url"].removeprefix("http://frontdesk.test")
    html = client.get("/").get_data(as_text=True)
    assert f'<img class="logo" src="{path.replace("&", "&amp;")}" alt=""' in html


def test_with_nothing_to_book_the_page_gives_the_number_to_call(booking_app, profile):
    for lang in ("en", "fr", "es", "ar"):
        html = (
            booking_app.test_client().get("/", query_string={"lang": lang}).get_data(as_text=True)
        )
        notice = re.search(r'<p class="notice" id="no-services">(.*?)</p>', html).group(1)
        assert PHONE in notice, lang


def test_without_a_profile_pages_show_the_configured_name_and_no_empty_contacts(booking_app):
    html = booking_app.test_client().get("/").get_data(as_text=True)
    assert booking_app.config["ORG_NAME"] in html
    assert 'class="contacts"' not in html and "tel:" not in html


def test_emails_come_from_the_organization_with_its_reply_to_and_contacts(
    booking_app, notify_app, smtp, profile, make_service, next_weekday, at, booking_body
):
    service = make_service()
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    )
    assert response.status_code == 201
    step_on(booking_app, outbox.dispatch)
    for _ in range(5):
        step_on(notify_app, notify_outbox.deliver)
    mails = smtp.wait_for(2)
    for mail in mails:  # the client's confirmation and the staff member's notice
        [(display, address)] = getaddresses([str(mail["From"])])
        assert display == "Maple Community Services" and address
        assert str(mail["Reply-To"]) == "frontdesk@maple.example"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        for body in (text, html):
            assert PHONE in body and "hello@maple.example" in body and "120 Maple Street" in body
            assert "None" not in body and "no-reply@localhost" not in body
    client_mail = next(m for m in mails if m["To"] == "ana@example.org")
    assert PROFILE["hours"]["fr"] in client_mail.get_body(("plain",)).get_content()  # in French
    [inline] = [p for p in client_mail.walk() if p.get_content_type() == "text/calendar"]
    organizer = vobject.readOne(inline.get_content()).vevent.organizer
    assert organizer.params["CN"] == ["Maple Community Services"]
    assert organizer.value == "mailto:amira@maple.example"  # replies still reach the staff member


def test_messages_say_what_the_profile_said_when_they_were_posted(
    booking_app, notify_app, profile, make_service, next_weekday, at, booking_body
):
    service = make_service()
    booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    )
    step_on(booking_app, outbox.dispatch)
    with get_db(notify_app).transaction() as session:
        reminders = session.scalars(
            sa.select(Message).where(Message.template == "booking_reminder")
        ).all()
        assert reminders
        for message in reminders:  # scheduled for later, written now: notify never asks booking
            assert message.data["org_name"] == "Maple Community Services"
            assert message.data["org_phone"] == PHONE
            assert message.data["org_reply_to"] == "frontdesk@maple.example"


def test_when_the_profile_cannot_be_read_the_unavailable_page_still_names_the_organization(
    booking_app, monkeypatch
):
    def unreadable():
        raise sa.exc.OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setitem(booking_app.extensions, ORGANIZATION_SOURCE, unreadable)
    monkeypatch.setitem(booking_app.config, "PROPAGATE_EXCEPTIONS", False)
    answer = booking_app.test_client().get("/", headers={"Accept": "text/html"})
    assert answer.status_code == 503  # like any other read the database did not answer
    assert answer.headers["Retry-After"]
    page = answer.get_data(as_text=True)
    assert "<html" in page and booking_app.config["ORG_NAME"] in page
