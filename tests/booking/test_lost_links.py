"""'Lost my link?' on the help center, with JavaScript off: the same answer whoever asks, the
manage links sent through the outbox and notify (real SMTP, an SMS stand-in over HTTP) only to
the contact stored on the appointments, in the client's language; rate-limited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_pages_booking import HTML, hidden, text
from test_phone_only import PHONE, run_workers

from services.booking.manage_tokens import manage_token_for, short_manage_token
from services.booking.models import Appointment, OutboxIntent
from services.booking.operations import appointments
from services.booking.operations.appointments import CLIENT as CLIENT_ACTOR
from shared.testing import RecordingServer, twilio_handler

ANA = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "language": "fr",
    "time_zone": "America/Toronto",
}
BOB = {"name": "Bob Tran", "email": "bob@example.org", "language": "en"}
AMAL = {"name": "Amal Haddad", "phone": PHONE, "notify_by": "sms", "language": "ar"}
PHONE_ONLY = {"callback_number": PHONE, "use_dial_in": False}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(booking_app):
    """The app lives for the whole run; each test starts with no POSTs counted."""
    for limiter in booking_app.extensions["limiter"]:
        limiter.reset()


@pytest.fixture
def sms(notify_app):
    """notify sending SMS through a Twilio stand-in (a real HTTP server)."""
    server = RecordingServer(twilio_handler)
    notify_app.config["SMS_URL"] = server.twilio_url
    yield server
    notify_app.config["SMS_URL"] = "console://"
    server.close()


@pytest.fixture
def smtp(notify_app, smtp_sink):
    """notify delivering into the test's SMTP sink."""
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


def ask(client, contact: str, address: str = "192.0.2.10"):
    """Fill in and send the lost-link form as a browser at `address` would."""
    environ = {"REMOTE_ADDR": address}
    page = text(client.get("/help/lost-link", headers=HTML, environ_base=environ))
    return client.post(
        "/help/lost-link",
        data={"csrf_token": hidden(page, "csrf_token"), "contact": contact},
        headers=HTML,
        environ_base=environ,
    )


def lost_link_intents(session) -> list[OutboxIntent]:
    rows = list(
        session.scalars(
            sa.select(OutboxIntent)
            .where(OutboxIntent.kind == "notify.lost_links")
            .order_by(OutboxIntent.id)
        )
    )
    session.rollback()
    return rows


def booked_for(book, make_service, next_weekday, at, client, *, days=(1,), mode="video"):
    """Appointments of one client on the given weekdays next week (one service)."""
    service = make_service(modes=[mode])
    extra = {"backup": PHONE_ONLY} if mode == "phone" else {}
    return [
        book(
            service, at(next_weekday(day), 10), client=dict(client), mode=mode, **extra
        ).appointment
        for day in days
    ]


def test_known_and_unknown_contacts_get_the_same_answer(
    booking_app, session, book, make_service, next_weekday, at
):
    booked_for(book, make_service, next_weekday, at, ANA)
    client = booking_app.test_client()
    answers = []
    for contact in ("ana@example.org", "nobody@example.org", "+1 416 555 0199"):
        response = ask(client, contact)
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/help/lost-link/sent")
        answers.append(text(client.get(response.headers["Location"], headers=HTML)))
    assert answers[0] == answers[1] == answers[2]
    assert "Check your messages" in answers[0]
    # Only the known contact has a message on its way (through the outbox, never inline).
    [intent] = lost_link_intents(session)
    assert intent.payload["channel"] == "email"


def test_links_reach_only_the_matching_email_in_the_clients_language(
    booking_app, notify_app, smtp, session, book, make_service, next_weekday, at
):
    anas = booked_for(book, make_service, next_weekday, at, ANA, days=(1, 2))
    [bobs] = booked_for(book, make_service, next_weekday, at, BOB, days=(3,))
    secret = booking_app.config["SECRET_KEY"]
    smtp.messages.clear()
    run_workers(booking_app, None, notify_app)  # the confirmations go first
    confirmations = len(smtp.messages)

    assert ask(booking_app.test_client(), "  Ana@Example.org ").status_code == 303
    run_workers(booking_app, None, notify_app)
    [message] = smtp.wait_for(confirmations + 1)[confirmations:]
    assert message["To"] == "ana@example.org"
    assert message["Subject"].startswith("Les liens de vos rendez-vous")
    body = message.get_body(("plain",)).get_content()
    for appointment in anas:
        assert f"/booking/manage/{manage_token_for(appointment.uid, secret)}" in body
    assert manage_token_for(bobs.uid, secret) not in body
    assert "Frontdesk" in body and "None" not in body


def test_a_phone_number_gets_the_short_links_by_sms_in_the_clients_language(
    booking_app, notify_app, sms, session, book, make_service, next_weekday, at
):
    [amal] = booked_for(book, make_service, next_weekday, at, AMAL, mode="phone")
    run_workers(booking_app, None, notify_app)
    sms.requests.clear()

    # Typed without the country code, as people say their number.
    assert ask(booking_app.test_client(), "416-555-0123").status_code == 303
    run_workers(booking_app, None, notify_app)
    [sent] = sms.requests
    assert sent["To"] == PHONE
    token = manage_token_for(amal.uid, booking_app.config["SECRET_KEY"])
    assert f"/booking/m/{short_manage_token(token)}" in sent["Body"]
    assert "روابط مواعيدك" in sent["Body"]


def test_cancelled_appointments_are_not_sent_and_nothing_is_queued(
    booking_app, session, book, make_service, next_weekday, at
):
    [appointment] = booked_for(book, make_service, next_weekday, at, ANA)
    appointments.cancel(
        session=session,
        appointment=session.get(Appointment, appointment.id),
        actor=CLIENT_ACTOR,
        reason=None,
    )
    session.commit()
    assert ask(booking_app.test_client(), "ana@example.org").status_code == 303
    assert lost_link_intents(session) == []


def test_a_contact_that_is_neither_email_nor_phone_is_refused_and_kept(booking_app):
    response = ask(booking_app.test_client(), "ana at example")
    assert response.status_code == 422
    page = text(response)
    assert 'value="ana at example"' in page
    assert 'aria-invalid="true"' in page
    assert "email address or the phone number you gave when booking" in page


def test_lost_link_is_rate_limited_per_contact_across_addresses(booking_app):
    client = booking_app.test_client()
    statuses = [
        ask(client, "ana@example.org", address=f"192.0.2.{n}").status_code for n in range(1, 5)
    ]
    assert statuses == [303, 303, 303, 429]
    # Another contact is still answered.
    assert ask(client, "bob@example.org", address="192.0.2.9").status_code == 303


def test_a_phone_number_is_counted_alike_with_or_without_its_country_code(booking_app):
    client = booking_app.test_client()
    typed = ["+1 416 555 0123", "416-555-0123", "(416) 555 0123", "+14165550123"]
    statuses = [
        ask(client, number, address=f"192.0.2.{n}").status_code for n, number in enumerate(typed)
    ]
    assert statuses == [303, 303, 303, 429]


def test_lost_link_is_rate_limited_per_address(booking_app):
    client = booking_app.test_client()
    statuses = [ask(client, f"client{n}@example.org").status_code for n in range(6)]
    assert statuses == [303] * 5 + [429]
