"""Phone-only clients end to end: booked on the page with JavaScript off and no email address,
every message to them an SMS at a stand-in of the provider's HTTP API (real HTTP), in their
language, with the short manage link; reminders, cancellation, consent by link or out loud."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from services.booking import outbox
from services.booking.manage_tokens import short_manage_token
from services.booking.models import Appointment
from services.consent import outbox as consent_outbox
from services.notify import channels, rendering
from services.notify import outbox as notify_outbox
from services.notify.models import Message
from shared import db as shared_db
from shared.testing import RecordingServer, twilio_handler
from shared.workers import step_on
from tests.booking.test_messages import create_consent_form
from tests.booking.test_pages_booking import HTML, TZ, hidden, slots, text

PHONE = "+14165550123"


@pytest.fixture
def sms(notify_app):
    """notify sending SMS through a Twilio stand-in (a real HTTP server)."""
    server = RecordingServer(twilio_handler)
    notify_app.config["SMS_URL"] = server.twilio_url
    yield server
    notify_app.config["SMS_URL"] = "console://"
    server.close()


def run_workers(booking_app, consent_app, notify_app, *, now=None) -> None:
    """booking's and consent's outboxes, then notify's, until nothing is left to do."""
    for _ in range(5):
        step_on(booking_app, outbox.dispatch, **({"now": now} if now else {}))
        step_on(consent_app, consent_outbox.dispatch)
        while step_on(notify_app, notify_outbox.deliver, **({"now": now} if now else {})):
            pass


def book_on_page(client, service, day, **form) -> tuple[str, str]:
    """Steps 1-3 as a client with JavaScript off; returns (the page's answer, its Location)."""
    picker = text(client.get(f"/{service.slug}?mode=phone&tz={TZ}&day={day}", headers=HTML))
    start = slots(picker)[0]
    page = text(client.get(f"/{service.slug}?mode=phone&tz={TZ}&day={day}&start={start}"))
    data = {
        "csrf_token": hidden(page, "csrf_token"),
        "request_key": hidden(page, "request_key"),
        "mode": "phone",
        "tz": TZ,
        "start": start,
        "name": "Amal Haddad",
        "email": "",
        "phone": "416 555 0123",
        "callback_number": "",
        "language": "fr",
        **form,
    }
    response = client.post(f"/{service.slug}", data=data, headers=HTML)
    return response, response.headers.get("Location", "")


def message_body(message: Message) -> str:
    """What notify rendered for a stored SMS (a template renders the same at every try)."""
    return rendering.render(template=message.template, locale=message.locale, data=message.data).sms


def sent_sms(notify_app) -> list[Message]:
    with shared_db.get_db(notify_app).transaction() as session:
        return list(
            session.query(Message).filter_by(channel="sms", status="sent").order_by(Message.id)
        )


def test_phone_only_client_books_on_the_page_and_hears_everything_by_sms(
    booking_app, consent_app, notify_app, sms, make_service, make_token, next_weekday
):
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(modes=["phone"], required_consent_template_ids=[template_id])
    client = booking_app.test_client()
    response, location = book_on_page(client, service, next_weekday(1))
    assert response.status_code == 303, text(response)
    token = re.search(r"/manage/(fdm_[0-9a-f]{48})", location).group(1)
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.query(Appointment).one()
        assert appointment.client_email is None
        assert appointment.client_phone == PHONE
        assert appointment.notify_by == "sms"  # the default without an email address
        start = appointment.start

    run_workers(booking_app, consent_app, notify_app)
    bodies = [form["Body"] for form in sms.requests]
    assert {form["To"] for form in sms.requests} == {PHONE}
    [confirmation] = [b for b in bodies if "rendez-vous confirmé" in b]
    [signing] = [b for b in bodies if "/consent/sign/fdc_" in b]
    assert len(bodies) == 2  # the reminders wait for their time
    short = f"http://frontdesk.test/booking/m/{short_manage_token(token)}"
    assert confirmation.startswith("Frontdesk : rendez-vous confirmé le ")
    assert short in confirmation and token not in confirmation
    assert "Enregistrement de la séance" in signing  # the form's French title
    for body in bodies:
        assert body.endswith("Réponses non lues.")
    for message in sent_sms(notify_app):
        assert (
            message.segments == channels.sms_size(channels.sms_body(message_body(message))).segments
        )
        assert message.segments <= 2

    # The short link opens the same manage page.
    opened = client.get(short.removeprefix("http://frontdesk.test/booking"), headers=HTML)
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/manage/{token}")
    assert client.get(opened.headers["Location"], headers=HTML).status_code == 200

    # The day-before reminders, by SMS, when they are due: the appointment's and the form's.
    run_workers(booking_app, consent_app, notify_app, now=start - timedelta(hours=23))
    sign_first, reminder = sorted(form["Body"] for form in sms.requests[2:])
    assert reminder.startswith("Rappel Frontdesk : Settlement intake")
    assert "Signez le formulaire avant." in reminder  # the form is not signed yet
    assert "avant votre rendez-vous : http://frontdesk.test/consent/sign/" in sign_first

    # Cancelled on the manage page: an SMS says so, the hour-before reminder never goes.
    asking = text(client.get(f"/manage/{token}/cancel", headers=HTML))
    cancelled = client.post(
        f"/manage/{token}/cancel",
        data={"csrf_token": hidden(asking, "csrf_token"), "reason": ""},
        headers=HTML,
    )
    assert cancelled.status_code == 303
    run_workers(booking_app, consent_app, notify_app, now=start - timedelta(minutes=30))
    [notice] = [form["Body"] for form in sms.requests[4:]]
    assert "est annulé." in notice
    assert len(sms.requests) == 5
