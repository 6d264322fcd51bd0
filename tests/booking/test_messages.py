"""Messages never lost: outbox -> notify -> SMTP, invites parsed back, outages, billing, consent."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from services.booking import ical, outbox
from services.booking.models import OutboxIntent
from services.notify import outbox as notify_outbox
from services.notify.models import Message
from shared.db import get_db, utcnow
from shared.workers import step_on

CONSENT_FORM = {
    "name": "Session recording and information sharing",
    "locales": {
        "en": {
            "title": "Session recording and information sharing",
            "body": "We would like to record this session.",
            "checkboxes": {"recording": "I agree to the recording"},
        },
        "fr": {
            "title": "Enregistrement de la séance",
            "body": "Nous aimerions enregistrer cette séance.",
            "checkboxes": {"recording": "J'accepte l'enregistrement"},
        },
    },
    "checkboxes": [{"key": "recording", "required": True}],
}


@pytest.fixture
def smtp(notify_app, smtp_sink):
    """notify delivering into the test's SMTP sink."""
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


@pytest.fixture
def down(booking_app):
    """down(service): make booking's client for notify or consent point at a closed port."""
    saved = {}

    clients = booking_app.extensions["clients"]

    def make(service: str) -> None:
        client = getattr(clients, service)
        saved.setdefault(service, client)
        setattr(clients, service, type(client)("http://127.0.0.1:9", token="x", retries=0))

    def restore() -> None:
        for service, client in saved.items():
            getattr(clients, service).close()
            setattr(clients, service, client)
        saved.clear()

    make.restore = restore
    yield make
    restore()


def deliver(notify_app) -> None:
    """Run notify's worker until nothing due is left."""
    for _ in range(20):
        if not step_on(notify_app, notify_outbox.deliver):
            return


def invites(messages, to: str) -> list[Calendar]:
    """The iMIP calendars of the messages sent to `to`, in order."""
    found = []
    for message in messages:
        if message["To"] != to:
            continue
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_content())
                assert part.get_param("method") == str(calendar["METHOD"])
                found.append(calendar)
    return found


def notify_messages(notify_app, make_token, **params) -> list[dict]:
    token = make_token("notify", "admin")
    response = notify_app.test_client().get(
        "/api/v1/messages", query_string=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.get_json()


def intents(session) -> list[OutboxIntent]:
    rows = list(session.scalars(sa.select(OutboxIntent).order_by(OutboxIntent.id)))
    session.rollback()
    return rows


def book_via_api(booking_app, service, start, booking_body, **overrides) -> dict:
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, start, **overrides)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_confirmation_staff_notice_and_reminders_reach_smtp_with_invite(
    booking_app, notify_app, smtp, make_service, make_token, next_weekday, at, booking_body
):
    service = make_service()
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    appointment = body["appointment"]
    assert step_on(booking_app, outbox.dispatch) == 4  # confirmation, staff notice, 2 reminders
    deliver(notify_app)
    messages = smtp.wait_for(2)
    recipients = sorted(m["To"] for m in messages)
    assert recipients == ["amira@maple.example", "ana@example.org"]
    client_mail = next(m for m in messages if m["To"] == "ana@example.org")
    text = client_mail.get_body(("plain",)).get_content()
    assert "https://meet.example.org/amira" in text
    assert body["manage_url"] in text
    staff_mail = next(m for m in messages if m["To"] == "amira@maple.example")
    assert body["manage_token"] not in staff_mail.as_string()
    assert "+14165550100" in text or "+1 416" in text  # the dial-in backup
    [calendar] = invites(messages, "ana@example.org")
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == appointment["uid"]
    assert int(event["SEQUENCE"]) == 0
    assert "amira@maple.example" in str(event["ORGANIZER"])
    assert "ana@example.org" in str(event["ATTENDEE"])
    assert str(event["LOCATION"]) == "https://meet.example.org/amira"
    conferences = event.get("CONFERENCE")
    conferences = conferences if isinstance(conferences, list) else [conferences]
    assert "tel:+14165550100" in [str(c) for c in conferences]
    assert event.walk("VALARM")
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == "America/Toronto"
    reminders = notify_messages(
        notify_app, make_token, group=f"appointment:{appointment['id']}:reminders"
    )
    assert sorted(m["status"] for m in reminders) == ["scheduled", "scheduled"]
    assert {m["template"] for m in reminders} == {"booking_reminder"}
    assert {m["locale"] for m in reminders} == {"fr"}


def test_reschedule_and_cancel_send_invites_with_same_uid_and_growing_sequence(
    booking_app, notify_app, smtp, make_service, make_token, next_weekday, at, booking_body
):
    service = make_service()
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    appointment, token = body["appointment"], body["manage_token"]
    client = booking_app.test_client()
    step_on(booking_app, outbox.dispatch)
    new_start = at(next_weekday(2), 11)
    moved = client.post(
        f"/api/v1/manage/{token}/reschedule",
        json={"start": new_start.isoformat().replace("+00:00", "Z")},
    )
    assert moved.status_code == 200
    step_on(booking_app, outbox.dispatch)
    group = f"appointment:{appointment['id']}:reminders"
    statuses = sorted(m["status"] for m in notify_messages(notify_app, make_token, group=group))
    assert statuses == ["cancelled", "cancelled", "scheduled", "scheduled"]
    assert client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "sick"}).status_code == 200
    step_on(booking_app, outbox.dispatch)
    deliver(notify_app)
    messages = smtp.wait_for(6)
    calendars = invites(messages, "ana@example.org")
    events = [c.walk("VEVENT")[0] for c in calendars]
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {str(e["UID"]) for e in events} == {appointment["uid"]}
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2]
    assert str(events[-1]["STATUS"]) == "CANCELLED"
    assert events[1].decoded("DTSTART") == new_start
    statuses = {m["status"] for m in notify_messages(notify_app, make_token, group=group)}
    assert statuses == {"cancelled"}
    assert [i.status for i in intents_all(booking_app)] == ["sent"] * len(intents_all(booking_app))


def test_invites_name_their_sender_as_the_organizers_sent_by(
    booking_app, notify_app, smtp, make_service, next_weekday, at, booking_body
):
    service = make_service()
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    cancel = f"/api/v1/manage/{body['manage_token']}/cancel"
    step_on(booking_app, outbox.dispatch)
    assert booking_app.test_client().post(cancel, json={"reason": "sick"}).status_code == 200
    step_on(booking_app, outbox.dispatch)
    deliver(notify_app)
    mails = [m for m in smtp.wait_for(4) if m["To"] == "ana@example.org"]
    assert len(mails) == 2
    for mail in mails:
        sender = parseaddr(str(mail["From"]))[1]
        assert sender and sender != "amira@maple.example"
        [inline] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
        # Read by a parser the code does not use.
        organizer = vobject.readOne(inline.get_content()).vevent.organizer
        assert organizer.value == "mailto:amira@maple.example"
        assert organizer.params["SENT-BY"] == [f"mailto:{sender}"]


def test_booking_emails_show_a_resource_without_a_link_and_never_none(
    booking_app, notify_app, smtp, make_service, next_weekday, at, booking_body
):
    service = make_service()  # its one resource has a title and text but no URL
    book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    step_on(booking_app, outbox.dispatch)
    deliver(notify_app)
    [mail] = [m for m in smtp.wait_for(2) if m["To"] == "ana@example.org"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "None" not in text and "None" not in html and 'href=""' not in html
    assert "Bring your documents (ID, PR card)" in text


def intents_all(booking_app) -> list[OutboxIntent]:
    from shared.db import get_db

    with get_db(booking_app).transaction() as session:
        return list(session.scalars(sa.select(OutboxIntent).order_by(OutboxIntent.id)))


def test_notify_outage_delays_messages_and_nothing_is_sent_twice(
    booking_app, notify_app, make_service, make_token, next_weekday, at, booking_body, down
):
    service = make_service(reminder_offsets_minutes=[60])
    book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    down("notify")
    assert step_on(booking_app, outbox.dispatch) == 0
    pending = intents_all(booking_app)
    assert {i.status for i in pending} == {"pending"}
    assert pending[0].attempts == 1 and pending[0].last_error
    down.restore()
    # Not before its backoff...
    assert step_on(booking_app, outbox.dispatch) == 0
    # ...then everything goes out, once.
    assert step_on(booking_app, outbox.dispatch, now=utcnow() + timedelta(minutes=1)) == 3
    sent = notify_messages(notify_app, make_token)
    assert len(sent) == 3
    # A dispatcher that died after sending but before recording it sends again: notify
    # recognizes the idempotency keys and nothing is duplicated.
    from shared.db import get_db

    with get_db(booking_app).transaction() as session:
        session.execute(sa.update(OutboxIntent).values(status="pending", attempts=0))
    assert step_on(booking_app, outbox.dispatch, now=utcnow() + timedelta(minutes=5)) == 3
    assert len(notify_messages(notify_app, make_token)) == 3


def test_completion_sends_billing_email_and_signed_webhook(
    booking_app, notify_app, make_service, make_token, next_weekday, at, booking_body, started
):
    service = make_service()
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    appointment = body["appointment"]
    started(appointment["id"])
    settings = {
        "BILLING_EMAIL": "billing@maple.example",
        "BILLING_WEBHOOK_URL": "https://billing.example.org/hook",
        "BILLING_WEBHOOK_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    previous = {name: booking_app.config.get(name) for name in settings}
    booking_app.config.update(settings)
    try:
        token = make_token("booking", "staff", staff_id=appointment["staff_id"])
        done = booking_app.test_client().post(
            f"/api/v1/appointments/{appointment['id']}/complete",
            json={"outcome": "resolved", "notes": "All set"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert done.status_code == 200
        step_on(booking_app, outbox.dispatch)
    finally:
        booking_app.config.update(previous)
    billing = [
        m
        for m in notify_messages(notify_app, make_token)
        if m["template"] == "billing_notice" or m["channel"] == "webhook"
    ]
    assert sorted((m["channel"], m["to"]) for m in billing) == [
        ("email", "billing@maple.example"),
        ("webhook", "https://billing.example.org/hook"),
    ]
    failed = [i for i in intents_all(booking_app) if i.status == "failed"]
    assert failed == []


def create_consent_form(consent_app, make_token) -> int:
    token = make_token("consent", "admin")
    response = consent_app.test_client().post(
        "/api/v1/templates", json=CONSENT_FORM, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_required_consent_is_requested_and_its_link_is_in_the_confirmation(
    booking_app,
    consent_app,
    notify_app,
    smtp,
    make_service,
    make_token,
    next_weekday,
    at,
    booking_body,
):
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(required_consent_template_ids=[template_id])
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    step_on(booking_app, outbox.dispatch)
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    appointment = (
        booking_app.test_client()
        .get(f"/api/v1/appointments/{body['appointment']['id']}", headers=admin)
        .get_json()
    )
    assert appointment["consent_status"] == "pending"
    [consent] = appointment["consents"]
    assert consent["template_id"] == template_id
    assert "signing_url" not in consent  # the link is the client's: their mail, their page
    manage = booking_app.test_client().get(f"/api/v1/manage/{body['manage_token']}").get_json()
    [own] = manage["consents"]
    assert "/consent/sign/" in own["signing_url"]
    deliver(notify_app)
    client_mail = next(m for m in smtp.wait_for(2) if m["To"] == "ana@example.org")
    assert own["signing_url"] in client_mail.get_body(("plain",)).get_content()


def test_staff_and_admins_reading_appointments_never_get_the_clients_signing_link(
    booking_app, consent_app, notify_app, make_service, make_token, next_weekday, at, booking_body
):
    """Whoever holds the signing link signs as the client: the appointment as staff and admins
    read it (one, or in a list) and the staff member's notices name the consent, never its link."""
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(required_consent_template_ids=[template_id])
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    step_on(booking_app, outbox.dispatch)
    appointment = body["appointment"]
    client = booking_app.test_client()
    for role, staff_id in (("staff", appointment["staff_id"]), ("admin", None)):
        headers = {"Authorization": f"Bearer {make_token('booking', role, staff_id=staff_id)}"}
        one = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers)
        listed = client.get("/api/v1/appointments", headers=headers)
        [consent] = one.get_json()["consents"]
        assert consent["status"] == "pending" and consent["request_id"]
        for response in (one, listed):
            assert response.status_code == 200
            assert "/consent/sign/" not in response.get_data(as_text=True), role
    moved = client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        json={"start": at(next_weekday(1), 11).isoformat()},
        headers={"Authorization": f"Bearer {make_token('booking', 'admin')}"},
    )
    assert moved.status_code == 200, moved.get_json()
    step_on(booking_app, outbox.dispatch)
    with get_db(notify_app).transaction() as session:
        notices = session.scalars(
            sa.select(Message.data)
            .where(Message.template == "booking_staff_notice")
            .order_by(Message.id)
        ).all()
    assert [data["event"] for data in notices] == ["booked", "rescheduled"]
    assert all(data["consent_links"] == [] for data in notices)


def test_absent_consent_service_delays_consent_but_not_the_booking(
    booking_app, consent_app, make_service, make_token, next_weekday, at, booking_body, down
):
    template_id = create_consent_form(consent_app, make_token)
    service = make_service(required_consent_template_ids=[template_id])
    down("consent")
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    assert body["appointment"]["consent_status"] == "pending"
    step_on(booking_app, outbox.dispatch)
    by_kind = {i.kind: i for i in intents_all(booking_app)}
    assert by_kind["consent.request"].status == "pending"
    assert by_kind["consent.request"].last_error
    # The confirmation waits a little for the consent links (and the appointment's later
    # messages wait behind it, so a quick cancellation can never overtake the invite)...
    assert by_kind["notify.client"].status == "pending"
    assert by_kind["notify.staff"].status == "pending"
    # ...then goes without them rather than not at all.
    step_on(booking_app, outbox.dispatch, now=utcnow() + timedelta(minutes=11))
    by_kind = {i.kind: i for i in intents_all(booking_app)}
    assert by_kind["notify.client"].status == "sent"
    assert by_kind["notify.staff"].status == "sent"
    assert by_kind["consent.request"].status == "pending"
    # When consent is back, the request is made and consent emails the link itself.
    down.restore()
    step_on(booking_app, outbox.dispatch, now=utcnow() + timedelta(hours=2))
    by_kind = {i.kind: i for i in intents_all(booking_app)}
    assert by_kind["consent.request"].status == "sent"
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    appointment = (
        booking_app.test_client()
        .get(f"/api/v1/appointments/{body['appointment']['id']}", headers=admin)
        .get_json()
    )
    assert [c["template_id"] for c in appointment["consents"]] == [template_id]


def test_refused_message_is_marked_failed_and_the_rest_still_goes(
    booking_app, notify_app, make_service, make_token, next_weekday, at, booking_body
):
    from shared.db import get_db

    service = make_service(reminder_offsets_minutes=[60])
    book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    with get_db(booking_app).transaction() as session:
        first = session.scalars(sa.select(OutboxIntent).order_by(OutboxIntent.id)).first()
        first.payload = {**first.payload, "template": "no_such_template"}
    assert step_on(booking_app, outbox.dispatch) == 2
    rows = intents_all(booking_app)
    assert [r.status for r in rows] == ["failed", "sent", "sent"]
    assert rows[0].last_error.startswith("HTTP 422")


def test_reminders_are_rescheduled_when_the_consent_is_signed(
    booking_app, notify_app, make_service, make_token, next_weekday, at, booking_body
):
    service = make_service(required_consent_template_ids=[7], reminder_offsets_minutes=[60])
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    appointment_id = body["appointment"]["id"]
    service_token = {"Authorization": f"Bearer {make_token('booking', 'service')}"}
    booking_app.test_client().put(
        f"/api/v1/appointments/{appointment_id}/consents/41",
        json={"template_id": 7, "form_title": "Recording", "status": "pending"},
        headers=service_token,
    )
    signed = booking_app.test_client().put(
        f"/api/v1/appointments/{appointment_id}/consents/41",
        json={"template_id": 7, "form_title": "Recording", "status": "signed"},
        headers=service_token,
    )
    assert signed.status_code == 200
    # The consent lane (the intent for template 7) is not needed here: consent already answered.
    from shared.db import get_db

    with get_db(booking_app).transaction() as session:
        session.execute(
            sa.update(OutboxIntent)
            .where(OutboxIntent.kind == "consent.request")
            .values(status="skipped")
        )
    step_on(booking_app, outbox.dispatch)
    reminders = notify_messages(
        notify_app, make_token, group=f"appointment:{appointment_id}:reminders"
    )
    assert sorted(m["status"] for m in reminders) == ["cancelled", "scheduled"]
    kinds = [i.kind for i in intents_all(booking_app) if i.kind.startswith("notify.")]
    assert kinds[-2:] == ["notify.cancel_group", "notify.reminder"]


def test_withdrawn_consent_is_told_to_the_staff_member(
    booking_app, notify_app, smtp, make_service, make_token, next_weekday, at, booking_body
):
    service = make_service(required_consent_template_ids=[7])
    body = book_via_api(booking_app, service, at(next_weekday(1), 10), booking_body)
    appointment_id = body["appointment"]["id"]
    service_token = {"Authorization": f"Bearer {make_token('booking', 'service')}"}
    for status in ("signed", "withdrawn"):
        response = booking_app.test_client().put(
            f"/api/v1/appointments/{appointment_id}/consents/41",
            json={"template_id": 7, "form_title": "Recording", "status": status},
            headers=service_token,
        )
        assert response.status_code == 200
    from shared.db import get_db

    with get_db(booking_app).transaction() as session:
        session.execute(
            sa.update(OutboxIntent)
            .where(OutboxIntent.kind == "consent.request")
            .values(status="skipped")
        )
    step_on(booking_app, outbox.dispatch)
    deliver(notify_app)
    staff_email = service.staff[0].email
    notices = [m for m in smtp.messages if m["To"] == staff_email]
    withdrawn = [m for m in notices if m["Subject"].startswith("Consent withdrawn")]
    assert len(withdrawn) == 1
    assert "Recording" in withdrawn[0].get_body(("plain",)).get_content()


def test_an_arabic_clients_invite_is_written_in_arabic(
    session, make_service, next_weekday, at, book
):
    service = make_service()
    client = {
        "name": "Amira Haddad",
        "email": "amira@example.org",
        "phone": "+14165550123",
        "language": "ar",
        "time_zone": "America/Toronto",
    }
    booked = book(service, at(next_weekday(), 10), client=client)
    method, text = ical.invite(booked.appointment)
    (event,) = vobject.readOne(text).vevent_list
    assert method == "REQUEST"
    assert event.summary.value == f"{service.name} مع {booked.appointment.staff.name}"
    assert "مكالمة فيديو" in event.description.value
    assert "الخطة البديلة: إذا لم يعمل الفيديو" in event.description.value
    assert event.valarm.description.value == f"{service.name} يبدأ قريبًا"
