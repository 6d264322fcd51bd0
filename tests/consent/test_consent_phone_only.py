"""Consent for clients without email: the request takes a phone number instead, and every
message to the client (signing link, signed-record link) goes by the channel they chose."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from consent_builders import form_content
from test_pages_signing import HTML, csrf_of, good_answers, open_form

from services.consent.models import OutboxItem
from shared import db as shared_db

SIGNATURE = {
    "typed_name": "Amal Haddad",
    "disclosure_accepted": True,
    "checkboxes": {"recording": True, "sharing": True},
    "fields": {"pronouns": "she/her"},
    "timezone": "America/Toronto",
}


@pytest.fixture
def client(consent_app):
    return consent_app.test_client()


@pytest.fixture
def template_id(client, make_token):
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    response = client.post(
        "/api/v1/templates", json={"name": "Recording", **form_content()}, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def ask(client, make_token, template_id):
    """ask(**client fields) -> the POST /requests response (the link sent)."""
    service = {"Authorization": f"Bearer {make_token('consent', 'service')}"}

    def make(**fields):
        body = {"template_id": template_id, "client_name": "Amal Haddad", "locale": "ar"}
        body.update(fields)
        return client.post("/api/v1/requests", json=body, headers=service)

    return make


def to_notify(consent_app) -> list[tuple[str, str, str, str]]:
    """(channel, to, template, idempotency key) of every queued message to notify, in order."""
    with shared_db.get_db(consent_app).transaction() as session:
        items = session.scalars(sa.select(OutboxItem).order_by(OutboxItem.id)).all()
        return [
            (i.body["channel"], i.body["to"], i.body["template"], i.idempotency_key)
            for i in items
            if i.target == "notify" and i.body
        ]


def test_a_request_needs_an_email_address_or_a_phone_number(ask):
    response = ask()
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["client_email"]
    sms_without_phone = ask(client_email="amal@example.org", notify_by="sms")
    assert list(sms_without_phone.get_json()["errors"]) == ["client_phone"]


def test_phone_only_client_gets_the_signing_and_record_links_by_sms(ask, client, consent_app):
    created = ask(client_phone="+1 416 555 0123")
    assert created.status_code == 201, created.get_json()
    request = created.get_json()
    assert request["client_email"] is None and request["notify_by"] == "sms"
    token = request["signing_url"].rsplit("/", 1)[1]
    assert client.post(f"/api/v1/sign/{token}", json=SIGNATURE).status_code == 200
    queued = to_notify(consent_app)
    assert [(c, to, t) for c, to, t, _ in queued] == [
        ("sms", "+14165550123", "consent_request"),
        ("sms", "+14165550123", "consent_signed"),
    ]


def test_both_channels_queue_one_message_each_with_its_own_key(ask, consent_app):
    created = ask(client_email="amal@example.org", client_phone="+14165550123", notify_by="both")
    assert created.status_code == 201
    queued = to_notify(consent_app)
    assert [(c, t) for c, _, t, _ in queued] == [
        ("email", "consent_request"),
        ("sms", "consent_request"),
    ]
    assert len({key for *_, key in queued}) == 2


def test_a_signed_consent_is_reused_by_phone_number_for_a_client_without_email(ask, client):
    first = ask(client_phone="+14165550123").get_json()
    token = first["signing_url"].rsplit("/", 1)[1]
    assert client.post(f"/api/v1/sign/{token}", json=SIGNATURE).status_code == 200
    again = ask(client_phone="+1 (416) 555-0123")
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    other = ask(client_phone="+14165550199")
    assert other.status_code == 201 and other.get_json()["id"] != first["id"]


def test_pages_tell_a_texted_client_their_copy_and_confirmation_come_by_sms(ask, client):
    token = ask(client_phone="+14165550123", locale="en").get_json()["signing_url"]
    token = token.rsplit("/", 1)[1]
    answers = good_answers(csrf_of(open_form(client, token)))
    thanks = client.post(f"/sign/{token}", data=answers).get_data(as_text=True)
    assert "We also send it to you by text message (SMS)." in thanks
    page = client.get(f"/sign/{token}/withdraw", headers=HTML).get_data(as_text=True)
    withdrawn = client.post(f"/sign/{token}/withdraw", data={"csrf_token": csrf_of(page)})
    assert "You will get a text message (SMS) to confirm it." in withdrawn.get_data(as_text=True)
