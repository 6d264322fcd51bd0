"""One-line texts (names, titles, a typed signature, an interpreter language) refuse control
characters and bidi overrides everywhere; text stored before that cannot take a feed down, and
free text is isolated where it is shown, so nothing displays in another order than typed."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from abuse_builders import SIGNATURE, at, booking_body, next_monday

from services.booking.models import Staff
from shared import db as shared_db
from shared.organization import OrgProfile

HOSTILE = [
    "Amira\r\nX-Injected: yes",
    "Amira\nHaddad",
    "Amira\x1b[31m",
    "Amira\x85Haddad",  # C1 next line
    "\u202eadiraH arimA",  # right-to-left override
    "Amira \u2066Haddad\u2069",  # left-to-right isolate
    "Amira\u202aHaddad",
]


@pytest.fixture
def admin(make_token):
    return {
        service: {"Authorization": f"Bearer {make_token(service, 'admin')}"}
        for service in ("booking", "consent", "notify")
    }


@pytest.mark.parametrize("name", HOSTILE)
def test_a_client_name_with_control_or_bidi_characters_is_422(booking_app, service, name):
    body = booking_body(service["id"], at(next_monday(), 10), name=name)
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert "name" in response.get_json()["errors"]["client"]


@pytest.mark.parametrize("name", HOSTILE[:1] + HOSTILE[4:5])
def test_one_line_fields_of_every_service_refuse_them(
    apps, admin, service, make_signing_link, service_token, name
):
    booking = apps["booking"].test_client()
    checks = [
        (booking, "post", "/api/v1/staff", {"name": name}, admin["booking"]),
        (booking, "post", "/api/v1/services", {"name": name}, admin["booking"]),
        (
            booking,
            "post",
            "/api/v1/appointments",
            booking_body(
                service["id"],
                at(next_monday(), 10),
            )
            | {"accommodations": {"interpreter_language": name}},
            {},
        ),
    ]
    for client, method, path, body, headers in checks:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.get_json())
        assert "name" in str(response.get_json()["errors"]) or "interpreter" in str(
            response.get_json()["errors"]
        )
    _, token = make_signing_link()
    signed = (
        apps["consent"]
        .test_client()
        .post(f"/api/v1/sign/{token}", json={**SIGNATURE, "typed_name": name})
    )
    assert signed.status_code == 422, signed.get_json()
    assert "typed_name" in signed.get_json()["errors"]
    message = (
        apps["notify"]
        .test_client()
        .post(
            "/api/v1/messages",
            json={"channel": "email", "to": "ana@example.org", "subject": name, "text": "Hello"},
            headers={"Authorization": f"Bearer {service_token}"},
        )
    )
    assert message.status_code == 422, message.get_json()
    assert "subject" in message.get_json()["errors"]


def test_plain_names_in_any_script_are_welcome(booking_app, service):
    for number, name in enumerate(["Émile Zoë", "محمد علي", "李小龙", "O'Brien-Smith"]):
        body = booking_body(service["id"], at(next_monday(), 10 + number), name=name)
        response = booking_app.test_client().post(
            "/api/v1/appointments", json=body, environ_base={"REMOTE_ADDR": f"10.0.0.{number}"}
        )
        assert response.status_code == 201, response.get_json()


def test_a_staff_name_with_crlf_stored_earlier_does_not_take_the_feed_down(
    booking_app, service, feed_token, book_api
):
    book_api(10)
    with shared_db.get_db(booking_app).transaction() as session:
        session.execute(
            sa.update(Staff)
            .where(Staff.id == service["staff_id"])
            .values(name="Amira\r\nX-Injected: yes\u202e")
        )
    for path in (f"/feeds/{feed_token}.ics",):
        response = booking_app.test_client().get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        body = response.get_data(as_text=True)
        assert "\r\nX-Injected" not in body
        assert "\u202e" not in body


def test_the_signing_page_refuses_a_typed_name_with_an_override_and_keeps_the_input(
    consent_app, make_signing_link
):
    _, token = make_signing_link()
    client = consent_app.test_client()
    page = client.get(f"/sign/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post(
        f"/sign/{token}",
        data={
            "csrf_token": csrf,
            "typed_name": "Ana \u202eazuoS",
            "disclosure_accepted": "yes",
            "checkbox_recording": "yes",
        },
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Type your name on one line, without special characters." in html
    assert 'value="Ana \u202eazuoS"' in html  # what was typed is kept, to fix


def test_the_pdf_record_isolates_what_people_typed(consent_app, make_signing_link):
    """A name stored before the check, with a right-to-left override, stays inside its own
    FSI ... PDI on the legal record: it cannot reorder the words around it."""
    from services.consent.models import ConsentRecord, ConsentRequest
    from services.consent.operations import records

    request_id, token = make_signing_link()
    signed = consent_app.test_client().post(f"/api/v1/sign/{token}", json=SIGNATURE)
    assert signed.status_code == 200, signed.get_json()
    with consent_app.app_context(), shared_db.get_db(consent_app).transaction() as session:
        request = session.get(ConsentRequest, request_id)
        record = session.scalar(
            sa.select(ConsentRecord).where(ConsentRecord.request_id == request_id)
        )
        reversed_name = "\u202eazuoS anA"
        record.answers = {
            **record.answers,
            "signer": {"typed_name": reversed_name, "proxy": True, "relationship": "mother"},
        }
        request.client_name = reversed_name
        html = records.record_html(record, request, "0" * 64, OrgProfile(name="Maple"))
        session.rollback()
    isolated = f"\u2068{reversed_name}\u2069"
    assert html.count(isolated) >= 4  # signed by, on behalf of, audit client, audit signer
    assert "\u2068mother\u2069" in html
    assert reversed_name not in html.replace(isolated, "")


def test_pages_show_names_and_free_text_in_bdi(booking_app, book_api):
    token = book_api(10)["manage_token"]
    page = booking_app.test_client().get(f"/manage/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<bdi>Ana Souza</bdi>" in html
    assert "<bdi>Amira Haddad</bdi>" in html


def test_the_booking_page_refuses_a_name_with_a_line_break_and_keeps_the_form(booking_app, service):
    from html import unescape

    from abuse_builders import iso

    client = booking_app.test_client()
    start = iso(at(next_monday(), 15))
    page = client.get(
        f"/intake?mode=video&tz=America/Toronto&day={next_monday()}&start={start}",
        headers={"Accept": "text/html"},
    )
    html = page.get_data(as_text=True)
    form = {}
    for name in ("csrf_token", "request_key", "mode", "tz", "start", "around"):
        found = re.search(rf'type="hidden" name="{name}" value="([^"]*)"', html)
        form[name] = unescape(found.group(1)) if found else ""
    form.update(
        name="Ana\u202e Souza",
        email="ana@example.org",
        phone="416 555 0123",
        backup="callback",
        interpreter_language="Dari\r\nBcc: x",
    )
    refused = client.post("/intake", data=form, headers={"Accept": "text/html"})
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    # Two fields with the same message: once in the summary (linked to the first), and beside
    # each input.
    assert shown.count("Please use one line of plain text, without special characters.") == 3
    assert 'value="ana@example.org"' in shown
