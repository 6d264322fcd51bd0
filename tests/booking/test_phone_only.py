"""Phone-only clients end to end: booked on the page with JavaScript off and no email address,
every message to them an SMS at a stand-in of the provider's HTTP API (real HTTP), in their
language, with the short manage link; reminders, cancellation, consent by link or out loud."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from test_messages import create_consent_form
from test_pages_booking import HTML, TZ, hidden, slots, text

from services.booking import outbox
from services.booking.manage_tokens import manage_token_from_short, short_manage_token
from services.booking.models import Appointment
from services.consent import outbox as consent_outbox
from services.notify import channels, rendering
from services.notify import outbox as notify_outbox
from services.notify.models import Message
from shared import db as shared_db
from shared.testing import RecordingServer, twilio_handler
from shared.workers import step_on

PHONE = "+14165550123"
# The phone-only SMS transcripts, kept with the screenshots as the evidence (CI artifact).
TRANSCRIPTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


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
        if consent_app is not None:
            step_on(consent_app, consent_outbox.dispatch)
        while step_on(notify_app, notify_outbox.deliver, **({"now": now} if now else {})):
            pass


def book_on_page(client, service, day, lang="en", **form) -> tuple[str, str]:
    """Steps 1-3 as a client with JavaScript off, the page in `lang`; returns (the page's
    answer, its Location)."""
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
    response = client.post(f"/{service.slug}?lang={lang}", data=data, headers=HTML)
    return response, response.headers.get("Location", "")


def message_body(message: Message) -> str:
    """What notify rendered for a stored SMS (a template renders the same at every try)."""
    return rendering.render(template=message.template, locale=message.locale, data=message.data).sms


def sent_sms(notify_app) -> list[Message]:
    with shared_db.get_db(notify_app).transaction() as session:
        return list(
            session.query(Message).filter_by(channel="sms", status="sent").order_by(Message.id)
        )


def write_transcript(notify_app, sms, lang: str) -> Path:
    """var/screenshots/sms-transcript-<lang>.txt: every SMS the provider's stand-in received,
    in order, with its recipient, the time notify sent it and its segments (notify's own count,
    matched to the text the provider got)."""
    sent = {channels.sms_body(message_body(m)): m for m in sent_sms(notify_app)}
    entries = []
    for number, form in enumerate(sms.requests, start=1):
        message = sent[form["Body"]]  # a text notify never sent fails here
        when = message.sent_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        entries.append(
            f"SMS {number}\nTo: {form['To']}\nTime: {when}\n"
            f"Segments: {message.segments}\n\n{form['Body']}\n"
        )
    path = TRANSCRIPTS / f"sms-transcript-{lang}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def test_phone_only_client_books_on_the_page_and_hears_everything_by_sms(
    booking_app, consent_app, notify_app, sms, make_service, make_token, next_weekday
):
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(modes=["phone"], required_consent_template_ids=[template_id])
    client = booking_app.test_client()
    response, location = book_on_page(client, service, next_weekday(1))
    assert response.status_code == 303, text(response)
    token = re.search(r"/manage/(fdm_[0-9a-f]{48})", location).group(1)
    booked = text(client.get(f"{location}&lang=fr", headers=HTML))
    assert "Nous envoyons les détails sur votre téléphone par SMS." in booked
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
    transcript = write_transcript(notify_app, sms, "fr").read_text(encoding="utf-8")
    assert transcript.count(f"To: {PHONE}") == 5 and notice in transcript


def test_arabic_phone_only_client_hears_everything_by_sms_in_arabic(
    booking_app, consent_app, notify_app, sms, make_service, make_token, next_weekday
):
    """The same story in Arabic (right to left): each SMS in Arabic, its transcript written."""
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(modes=["phone"], required_consent_template_ids=[template_id])
    client = booking_app.test_client()
    response, _location = book_on_page(client, service, next_weekday(1), "ar", language="ar")
    assert response.status_code == 303, text(response)
    with shared_db.get_db(booking_app).transaction() as session:
        start = session.query(Appointment).one().start
    run_workers(booking_app, consent_app, notify_app)
    run_workers(booking_app, consent_app, notify_app, now=start - timedelta(hours=23))
    assert len(sms.requests) == 4  # confirmation, signing link, both day-before reminders
    for form in sms.requests:
        assert form["To"] == PHONE
        assert re.search("[\u0600-\u06ff]{3}", form["Body"]), form["Body"]
    transcript = write_transcript(notify_app, sms, "ar").read_text(encoding="utf-8")
    assert transcript.count("Segments: ") == 4


def book_via_api(booking_app, service, start, booking_body, **client):
    body = booking_body(service.id, start)
    body["client"] = {key: value for key, value in {**body["client"], **client}.items() if value}
    return booking_app.test_client().post("/api/v1/appointments", json=body)


@pytest.mark.parametrize(
    ("client", "field"),
    [
        ({"email": None, "phone": None}, "client.email"),
        ({"email": None, "notify_by": "email"}, "client.email"),
        ({"phone": None, "notify_by": "sms"}, "client.phone"),
        ({"phone": None, "notify_by": "both"}, "client.phone"),
    ],
    ids=["neither", "email-without-address", "sms-without-phone", "both-without-phone"],
)
def test_api_needs_the_contact_of_the_chosen_channel(
    booking_app, make_service, next_weekday, at, booking_body, client, field
):
    response = book_via_api(
        booking_app, make_service(), at(next_weekday(1), 10), booking_body, **client
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    part, name = field.split(".")
    assert problem["code"] == "validation_failed" and list(problem["errors"][part]) == [name]


def test_api_books_a_phone_only_client_who_hears_by_sms_by_default(
    booking_app, make_service, next_weekday, at, booking_body
):
    response = book_via_api(
        booking_app, make_service(), at(next_weekday(1), 10), booking_body, email=None
    )
    assert response.status_code == 201, response.get_json()
    appointment = response.get_json()["appointment"]
    assert appointment["client_email"] is None
    assert appointment["client_phone"] == PHONE
    assert appointment["notify_by"] == "sms"
    with_email = book_via_api(
        booking_app, make_service(), at(next_weekday(1), 11), booking_body
    ).get_json()
    assert with_email["appointment"]["notify_by"] == "email"


def test_daily_cap_counts_one_phone_number_with_or_without_an_address(
    booking_app, make_service, next_weekday, at, booking_body
):
    booking_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"] = 2
    try:
        service, day = make_service(), next_weekday(1)
        assert (
            book_via_api(booking_app, service, at(day, 9), booking_body, email=None).status_code
            == 201
        )
        other_address = {"email": "someone.else@example.org"}
        assert (
            book_via_api(
                booking_app, service, at(day, 10), booking_body, **other_address
            ).status_code
            == 201
        )
        third = book_via_api(booking_app, service, at(day, 11), booking_body, email=None)
        assert third.status_code == 429
        assert third.get_json()["code"] == "too_many_bookings"
        another_phone = book_via_api(
            booking_app, service, at(day, 12), booking_body, email=None, phone="+14165550199"
        )
        assert another_phone.status_code == 201
    finally:
        booking_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"] = 5


def test_both_channels_send_email_and_sms_once_each_however_often_the_outbox_retries(
    booking_app, notify_app, sms, make_service, next_weekday, at, booking_body
):
    created = book_via_api(
        booking_app, make_service(), at(next_weekday(1), 10), booking_body, notify_by="both"
    )
    assert created.status_code == 201
    run_workers(booking_app, None, notify_app)
    with shared_db.get_db(booking_app).transaction() as session:
        keys = [intent.idempotency_key for intent in session.query(outbox.OutboxIntent)]
        session.query(outbox.OutboxIntent).update({"status": "pending"})  # as if no answer came
    run_workers(booking_app, None, notify_app)
    with shared_db.get_db(notify_app).transaction() as session:
        sent = [(m.channel, m.template, m.idempotency_key) for m in session.query(Message)]
    client_messages = sorted((c, t) for c, t, k in sent if t == "booking_confirmation")
    assert client_messages == [("email", "booking_confirmation"), ("sms", "booking_confirmation")]
    [confirmation_key] = [k for c, t, k in sent if t == "booking_confirmation" and c == "email"]
    assert f"{confirmation_key}-sms" in {k for _, _, k in sent} and confirmation_key in keys
    assert len(sms.requests) == 1  # the confirmation; the reminders wait for their time


def test_verbal_consent_service_tells_a_texted_client_staff_read_the_form(
    booking_app,
    consent_app,
    notify_app,
    sms,
    make_service,
    make_token,
    next_weekday,
    at,
    booking_body,
):
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(required_consent_template_ids=[template_id], verbal_consent=True)
    created = book_via_api(
        booking_app, service, at(next_weekday(1), 10), booking_body, email=None, language="en"
    )
    assert created.status_code == 201
    run_workers(booking_app, consent_app, notify_app)
    [confirmation] = [form["Body"] for form in sms.requests]  # no signing link sent
    manage = booking_app.test_client().get(
        f"/manage/{created.get_json()['manage_token']}", headers=HTML
    )
    assert "Staff will read the form to you and record your consent." in text(manage)
    assert "Staff will read the form to you and record your consent." in confirmation
    assert "/consent/sign/" not in confirmation


def test_short_manage_link_is_a_404_unless_it_is_a_whole_token(booking_app):
    client = booking_app.test_client()
    assert client.get("/m/" + "A" * 31, headers=HTML).status_code == 404
    assert client.get("/m/" + "*" * 32, headers=HTML).status_code == 404
    # A well-formed token of no appointment: the manage page's own friendly 404.
    unknown = client.get("/m/" + "A" * 32, headers=HTML)
    assert unknown.status_code == 303
    assert client.get(unknown.headers["Location"], headers=HTML).status_code == 404


def test_short_manage_link_keeps_the_tokens_strength_and_is_measured_shorter():
    token = "fdm_" + "0123456789abcdef" * 3
    short = short_manage_token(token)
    assert len(short) == 32 and manage_token_from_short(short) == token  # the same 192 bits
    long_link = f"https://book.maplecommunity.org/booking/manage/{token}"
    short_link = f"https://book.maplecommunity.org/booking/m/{short}"
    assert (len(long_link), len(short_link)) == (99, 74)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (
            {"phone": ""},
            "email",
            "Veuillez indiquer votre adresse courriel ou un numéro de téléphone qui reçoit les SMS.",
        ),
        (
            {"phone": "", "email": "amal@example.org", "notify_by": "sms"},
            "phone",
            "Veuillez indiquer le numéro de téléphone où vous écrire par SMS.",
        ),
        (
            {"notify_by": "both"},
            "email",
            "Veuillez indiquer votre adresse courriel, ou choisir de recevoir nos messages par SMS.",
        ),
    ],
    ids=["neither", "sms-without-phone", "both-without-email"],
)
def test_details_page_says_which_contact_is_missing_and_keeps_the_choice(
    booking_app, make_service, next_weekday, form, field, message
):
    client = booking_app.test_client()
    service = make_service(modes=["phone"])
    response, _ = book_on_page(client, service, next_weekday(1), lang="fr", **form)
    page = text(response)
    assert response.status_code == 422
    assert f'<a href="#{field}">{message}</a>' in page  # the error summary links to the input
    assert f'id="{field}-error"' in page
    chosen = form.get("notify_by")
    if chosen:
        radio = "notify_by" if chosen == "email" else f"notify_by-{chosen}"
        assert re.search(rf'id="{radio}" name="notify_by" value="{chosen}" checked', page)


def test_details_page_says_a_phone_number_reached_the_daily_cap(
    booking_app, make_service, next_weekday
):
    booking_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"] = 1
    try:
        client = booking_app.test_client()
        service = make_service(modes=["phone"])
        first, _ = book_on_page(client, service, next_weekday(1))
        assert first.status_code == 303
        again, _ = book_on_page(client, service, next_weekday(2))
        assert again.status_code == 429
        assert (
            '<a href="#phone">This phone number already has several bookings made today.'
            in text(again)
        )
    finally:
        booking_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"] = 5


def test_a_phone_only_client_keeps_a_phone_number(
    booking_app, make_service, make_token, next_weekday, at, booking_body
):
    created = book_via_api(
        booking_app, make_service(), at(next_weekday(1), 10), booking_body, email=None
    ).get_json()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    path = f"/api/v1/appointments/{created['appointment']['id']}"
    client = booking_app.test_client()
    removed = client.patch(path, json={"client_phone": None}, headers=admin)
    assert removed.status_code == 422
    assert list(removed.get_json()["errors"]) == ["client_phone"]
    changed = client.patch(path, json={"client_phone": "+1 416 555 0199"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["client_phone"] == "+14165550199"
