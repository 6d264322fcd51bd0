"""The privacy operations called directly: what each service erases, keeps and finds."""

from __future__ import annotations

import sqlalchemy as sa
from privacy_story import EMAIL, OTHER_EMAIL, PHONE

from services.booking import privacy as booking_privacy
from services.booking.models import AppointmentEvent, OutboxIntent
from services.notify import operations as notify_operations
from services.notify import privacy as notify_privacy
from services.notify.models import Message
from shared import db as shared_db
from shared.actors import Actor
from shared.privacy import ClientLookup, pseudonym


def test_pseudonym_is_stable_per_address_and_depends_on_the_secret():
    assert pseudonym("k1", "Ana@Example.org ") == pseudonym("k1", "ana@example.org")
    assert pseudonym("k1", EMAIL) != pseudonym("k2", EMAIL)
    assert pseudonym("k1", EMAIL).startswith("erased:") and EMAIL not in pseudonym("k1", EMAIL)


def test_booking_erasure_drops_the_cancel_reason_from_history_but_keeps_its_shape(
    story, booking_app
):
    booking = booking_app.test_client()
    token = story.manage_tokens[1]
    cancelled = booking.post(f"/api/v1/manage/{token}/cancel", json={"reason": "I moved to Laval"})
    assert cancelled.status_code == 200, cancelled.get_json()
    appointment_id = story.appointments[EMAIL][1]
    with shared_db.get_db(booking_app).transaction() as session:
        result = booking_privacy.erase_client(
            session=session,
            client=ClientLookup(EMAIL.upper()),
            actor=Actor("admin"),
            config=booking_app.config,
        )
        assert result["erased"]["confirmed_appointments_cancelled"] == 0
        history = session.scalars(
            sa.select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == appointment_id)
            .order_by(AppointmentEvent.id)
        ).all()
        actions = [(e.actor, e.action) for e in history]
        assert actions[0] == ("client", "booked") and ("client", "cancelled") in actions
        assert all("reason" not in e.details for e in history)
        assert "start" in history[0].details
        payloads = session.scalars(
            sa.select(OutboxIntent.payload).where(
                OutboxIntent.appointment_id == appointment_id,
                OutboxIntent.kind != "notify.cancel_group",
            )
        ).all()
        assert payloads and all(p == {} for p in payloads)
        assert not session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxIntent)
            .where(
                OutboxIntent.appointment_id == appointment_id,
                OutboxIntent.status == "pending",
                OutboxIntent.kind != "notify.cancel_group",
            )
        )


def test_notify_erasure_finds_sms_to_the_client_and_mentions_in_messages_to_others(notify_app):
    database = shared_db.get_db(notify_app)
    with database.transaction() as session:
        for fields in (
            {"channel": "sms", "to": PHONE, "text": "Your session is tomorrow"},
            {
                "channel": "email",
                "to": "staff@maple.example",
                "subject": "x",
                "text": f"Call {PHONE}",
            },
            {"channel": "email", "to": OTHER_EMAIL, "subject": "Hello", "text": "Your session"},
        ):
            notify_operations.create_message(
                session=session,
                fields=fields,
                idempotency_key=None,
                fingerprint="",
                mail_from="Frontdesk <no-reply@localhost>",
            )
    with database.transaction() as session:
        result = notify_privacy.erase_client(
            session=session,
            client=ClientLookup(EMAIL, phones=(PHONE,)),
            actor=Actor("admin"),
            config={"SECRET_KEY": "s3cret"},
        )
        assert result["erased"] == {
            "messages_to_client": 1,
            "messages_about_client": 1,
            "unsent_messages_cancelled": 2,
        }
    with database.transaction() as session:
        by_text = {m.id: m for m in session.scalars(sa.select(Message).order_by(Message.id))}
        sms, staff, other = by_text.values()
        assert sms.recipient == pseudonym("s3cret", PHONE) and sms.text is None
        assert staff.recipient == "staff@maple.example" and staff.text is None
        assert staff.status == sms.status == "cancelled"
        assert other.recipient == OTHER_EMAIL and other.text == "Your session"
        assert other.status == "scheduled"
