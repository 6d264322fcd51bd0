"""Retention periods: each service's daily job reduces or removes only what is past its period."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from privacy_story import EMAIL, NAME, OTHER_EMAIL

from frontdesk.workers import WORKERS, worker_function
from services.booking import privacy as booking_privacy
from services.booking.models import Appointment, AppointmentEvent, OutboxIntent
from services.consent import privacy as consent_privacy
from services.consent.models import AuditEvent, ConsentRecord, ConsentRequest, OutboxItem
from services.console.operations.privacy import erase_client
from services.notify import outbox as notify_outbox
from services.notify import privacy as notify_privacy
from services.notify.models import Message
from shared import db as shared_db
from shared.db import utcnow
from shared.workers import step_on


def _move_appointment_back(booking_app, appointment_id: int, days: int) -> None:
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.get(Appointment, appointment_id)
        shift = timedelta(days=days)
        appointment.start -= shift
        appointment.end -= shift
        appointment.blocked_start -= shift
        appointment.blocked_end -= shift


def _clients(booking_app) -> dict[int, str]:
    with shared_db.get_db(booking_app).transaction() as session:
        return dict(session.execute(sa.select(Appointment.id, Appointment.client_email)).all())


def test_booking_retention_anonymizes_only_appointments_past_the_period(story, booking_app):
    old, recent = story.appointments[EMAIL]
    _move_appointment_back(booking_app, old, days=800)
    with shared_db.get_db(booking_app).transaction() as session:
        counts = booking_privacy.apply_retention(session=session, config=booking_app.config)
    assert counts["appointments_anonymized"] == 1
    clients = _clients(booking_app)
    assert clients[old] == "erased"
    assert clients[recent] == EMAIL
    assert clients[story.appointments[OTHER_EMAIL][0]] == OTHER_EMAIL
    with shared_db.get_db(booking_app).transaction() as session:
        again = booking_privacy.apply_retention(session=session, config=booking_app.config)
        assert again["appointments_anonymized"] == 0
        assert session.get(Appointment, old).status == "completed"  # history and statistics stay


def test_booking_retention_of_zero_days_keeps_everything(story, booking_app):
    _move_appointment_back(booking_app, story.appointments[EMAIL][0], days=5000)
    config = {**booking_app.config, "RETENTION_APPOINTMENT_DAYS": 0}
    with shared_db.get_db(booking_app).transaction() as session:
        counts = booking_privacy.apply_retention(session=session, config=config)
        assert counts["appointments_anonymized"] == 0
    assert EMAIL in _clients(booking_app).values()


def test_notify_retention_reduces_only_final_messages_past_the_period(story, notify_app):
    while step_on(notify_app, notify_outbox.deliver):
        pass
    with shared_db.get_db(notify_app).transaction() as session:
        messages = session.scalars(sa.select(Message).order_by(Message.id)).all()
        sent = [m for m in messages if m.status == "sent"]
        scheduled = [m for m in messages if m.status == "scheduled"]
        assert sent and scheduled
        # every sent message and one reminder still to come were created long ago
        for message in sent + scheduled[:1]:
            message.created_at = utcnow() - timedelta(days=91)
        total = len(messages)
    with shared_db.get_db(notify_app).transaction() as session:
        counts = notify_privacy.apply_retention(session=session, config=notify_app.config)
    with shared_db.get_db(notify_app).transaction() as session:
        messages = session.scalars(sa.select(Message)).all()
        reduced = [m for m in messages if m.recipient.startswith("erased:")]
        assert counts == {"messages_reduced": len(reduced)} and reduced
        assert {m.id for m in reduced} == {m.id for m in sent}
        assert all(m.text is None and m.data == {} for m in reduced)
        untouched = [m for m in messages if m.id not in {r.id for r in reduced}]
        assert len(untouched) + len(reduced) == total
        assert all(m.data and not m.recipient.startswith("erased:") for m in untouched)


def test_consent_retention_deletes_restricted_records_past_the_period_only(
    story, apps, privacy_clients
):
    consent_app = apps["consent"]
    erase_client(clients=privacy_clients, email=EMAIL)
    database = shared_db.get_db(consent_app)
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert (counts["records_deleted"], counts["requests_deleted"]) == (0, 0)
        record = session.scalar(
            sa.select(ConsentRecord).where(ConsentRecord.request_id == story.consent_request_id)
        )
        record.signed_at = utcnow() - timedelta(days=2556)
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
    assert (counts["records_deleted"], counts["requests_deleted"]) == (1, 0)
    with database.transaction() as session:
        assert session.get(ConsentRequest, story.consent_request_id) is None
        assert not session.scalars(
            sa.select(AuditEvent).where(AuditEvent.request_id == story.consent_request_id)
        ).all()
        others = session.scalars(sa.select(ConsentRequest)).all()
        assert {r.client_email for r in others} == {OTHER_EMAIL}


def test_consent_retention_keeps_an_old_consent_in_force_and_deletes_it_once_withdrawn(story, apps):
    consent_app = apps["consent"]
    database = shared_db.get_db(consent_app)
    with database.transaction() as session:
        record = session.scalar(
            sa.select(ConsentRecord).where(ConsentRecord.request_id == story.consent_request_id)
        )
        record.signed_at = utcnow() - timedelta(days=4000)
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert counts["records_deleted"] == 0
        kept = session.get(ConsentRequest, story.consent_request_id)
        assert kept.client_name == NAME and kept.record is not None
        kept.record.withdrawn_at = utcnow() - timedelta(days=2556)  # it ended long ago
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert counts["records_deleted"] == 1
        assert session.get(ConsentRequest, story.consent_request_id) is None


def test_consent_retention_deletes_unsigned_requests_past_the_period(story, apps):
    consent_app = apps["consent"]
    database = shared_db.get_db(consent_app)
    with database.transaction() as session:
        unsigned = session.scalar(
            sa.select(ConsentRequest).where(ConsentRequest.client_email == OTHER_EMAIL)
        )
        unsigned_id = unsigned.id
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert (counts["records_deleted"], counts["requests_deleted"]) == (0, 0)
        unsigned.status = "expired"
        unsigned.updated_at = unsigned.expires_at = utcnow() - timedelta(days=366)
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert (counts["records_deleted"], counts["requests_deleted"]) == (0, 1)
        assert session.get(ConsentRequest, unsigned_id) is None
        assert session.get(ConsentRequest, story.consent_request_id) is not None


def test_retention_workers_are_registered_and_run_a_pass_then_stop(story, booking_app):
    for service in ("booking", "consent", "notify"):
        name, run = worker_function(f"retention-{service}")
        assert name == service and WORKERS[f"retention-{service}"][0] == service
    old = story.appointments[EMAIL][0]
    _move_appointment_back(booking_app, old, days=800)
    stop = threading.Event()
    stop.set()  # one pass, then the wait returns at once
    _service, run = worker_function("retention-booking")
    run(booking_app, stop)
    assert _clients(booking_app)[old] == "erased"


def test_booking_retention_keeps_a_past_session_confirmed_and_records_the_erasure(
    story, booking_app
):
    past = story.appointments[EMAIL][1]  # confirmed, never marked completed
    _move_appointment_back(booking_app, past, days=800)
    with shared_db.get_db(booking_app).transaction() as session:
        booking_privacy.apply_retention(session=session, config=booking_app.config)
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.get(Appointment, past)
        assert (appointment.status, appointment.client_email) == ("confirmed", "erased")
        history = session.scalars(
            sa.select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == past)
            .order_by(AppointmentEvent.id)
        ).all()
        assert (history[-1].actor, history[-1].action) == ("retention", "client_erased")


def test_consent_retention_empties_old_delivered_outbox_calls_only(story, apps):
    consent_app = apps["consent"]
    database = shared_db.get_db(consent_app)
    with database.transaction() as session:
        items = [
            i
            for i in session.scalars(sa.select(OutboxItem).where(OutboxItem.status == "sent"))
            if i.body is not None
        ]
        assert len(items) >= 2
        old = items[0]
        old.created_at = utcnow() - timedelta(days=91)
        old_id, total = old.id, len(items)
    with database.transaction() as session:
        counts = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert counts["outbox_bodies_dropped"] == 1
    with database.transaction() as session:
        bodies = dict(session.execute(sa.select(OutboxItem.id, OutboxItem.body)).all())
        assert bodies[old_id] is None
        assert sum(bodies[i.id] is not None for i in items) == total - 1
        again = consent_privacy.apply_retention(session=session, config=consent_app.config)
        assert again["outbox_bodies_dropped"] == 0


def test_booking_retention_empties_old_settled_outbox_payloads_only(story, booking_app):
    database = shared_db.get_db(booking_app)
    with database.transaction() as session:
        query = sa.select(OutboxIntent).where(OutboxIntent.status == "sent")
        sent = [i for i in session.scalars(query.order_by(OutboxIntent.id)) if i.payload]
        assert len(sent) >= 2
        sent[0].created_at = utcnow() - timedelta(days=91)
        old_id = sent[0].id
    with database.transaction() as session:
        counts = booking_privacy.apply_retention(session=session, config=booking_app.config)
        assert counts["outbox_payloads_emptied"] == 1
    with database.transaction() as session:
        payloads = dict(session.execute(sa.select(OutboxIntent.id, OutboxIntent.payload)).all())
        assert payloads[old_id] == {}
        assert all(payloads[i.id] for i in sent[1:])
        again = booking_privacy.apply_retention(session=session, config=booking_app.config)
        assert again["outbox_payloads_emptied"] == 0
