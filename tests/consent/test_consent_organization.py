"""Consent shows the organization's profile that booking owns: on the signing pages in every
language, in the PDF record (pdftotext), in its messages; and still renders when booking is down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from consent_builders import ORIGIN, form_content
from consent_validators import pdftotext

from services.consent.clients import BookingClient
from services.consent.models import OutboxItem
from services.consent.operations import forms, records, requests
from shared import db as shared_db
from shared.organization import ORGANIZATION_SOURCE

PROFILE = {
    "name": "Maple Community Services",
    "phone": "+14165550123",
    "email": "hello@maple.example",
    "address": "120 Maple Street, Toronto ON M5V 2T6",
    "hours": {"en": "Monday to Friday, 9:00 to 17:00", "ar": "من الاثنين إلى الجمعة"},
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}
PHONE = "+1 416-555-0123"
HTML = {"Accept": "text/html"}


@pytest.fixture
def profile(booking_app, make_token):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    response = booking_app.test_client().put("/api/v1/organization", json=PROFILE, headers=headers)
    assert response.status_code == 200


@pytest.fixture
def settings(consent_app) -> records.RecordSettings:
    """The settings consent's pages and API use: the profile comes from booking."""
    return records.RecordSettings.from_config(
        consent_app.config, org_source=consent_app.extensions[ORGANIZATION_SOURCE]
    )


def create(consent_app, settings, *, locale: str = "en", send: bool = True):
    with shared_db.get_db(consent_app).transaction() as session:
        template = forms.create_template(session=session, name="Recording", content=form_content())
        created = requests.create_request(
            session=session,
            template=template,
            client={
                "client_name": "Ana López",
                "client_email": "ana@example.org",
                "client_phone": None,
                "locale": locale,
                "timezone": "America/Toronto",
            },
            settings=settings,
            send=send,
            origin=ORIGIN,
        )
        return created.request.id, created.signing_url.rsplit("/", 1)[1]


@pytest.fixture
def booking_down(consent_app):
    clients = consent_app.extensions["clients"]
    saved = clients.booking
    clients.booking = BookingClient("http://127.0.0.1:9", token="x", retries=0)
    consent_app.extensions[ORGANIZATION_SOURCE].forget()
    yield
    clients.booking.close()
    clients.booking = saved
    consent_app.extensions[ORGANIZATION_SOURCE].forget()


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_signing_page_shows_the_organization_in_each_language(consent_app, profile, settings, lang):
    _id, token = create(consent_app, settings, locale=lang, send=False)
    html = consent_app.test_client().get(f"/sign/{token}", headers=HTML).get_data(as_text=True)
    header = html[html.index('<header class="site-header">') : html.index("</header>")]
    assert "Maple Community Services" in header
    footer = html[html.index('<footer class="site-footer">') :]
    assert f'<a href="tel:+14165550123" dir="ltr">{PHONE}</a>' in footer
    assert "hello@maple.example" in footer and "120 Maple Street" in footer


def test_signing_page_renders_with_the_configured_name_when_booking_is_down(
    consent_app, settings, booking_down
):
    _id, token = create(consent_app, settings, send=False)
    answer = consent_app.test_client().get(f"/sign/{token}", headers=HTML)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert consent_app.config["ORG_NAME"] in html
    assert "tel:" not in html


def test_the_record_names_the_organization_and_its_phone(consent_app, profile, settings, tmp_path):
    _id, token = create(consent_app, settings, send=False)
    with shared_db.get_db(consent_app).transaction() as session:
        signed = requests.sign(
            session=session,
            token=token,
            settings=settings,
            origin=ORIGIN,
            typed_name="Ana López",
            disclosure_accepted=True,
            checkboxes={"recording": True, "sharing": True},
            fields={"pronouns": "she/her"},
        )
        pdf = signed.record.pdf
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf)
    text = pdftotext(path)
    assert "Maple Community Services" in text
    assert PHONE in text
    assert "hello@maple.example" in text


def test_consent_messages_carry_the_profile_for_notify(consent_app, profile, settings):
    request_id, _token = create(consent_app, settings, locale="ar")
    with shared_db.get_db(consent_app).transaction() as session:
        [item] = session.scalars(
            sa.select(OutboxItem).where(
                OutboxItem.request_id == request_id, OutboxItem.target == "notify"
            )
        ).all()
        data = item.body["data"]
    assert data["org_name"] == "Maple Community Services"
    assert data["org_phone"] == PHONE
    assert data["org_hours"] == PROFILE["hours"]["ar"]  # in the client's language
    assert data["org_reply_to"] == "frontdesk@maple.example"
