"""A client's personal data in booking: export it, erase it, and anonymize it after a retention
period (GDPR arts. 15, 17 and 5(1)(e); PIPEDA principles 4.5 and 4.9).

Erasure anonymizes each of the client's appointments instead of deleting it:
- blanked: client name and email (replaced by "erased"), phone, backup callback number,
  time zone (the staff member's own is put back), accommodations (captions, interpreter
  language, other needs), the client's notes, the staff member's notes about the session and
  the cancellation reason; the idempotency fingerprint (a hash of the booking body);
- revoked: the manage token (its hash is dropped, so the client's link answers 404) and the
  consent signing links copied onto the appointment;
- history: every entry keeps who, what and when, but its details keep only ids, times, mode,
  status and outcome (a cancellation reason, for one, is dropped);
- outbox: intents not sent yet are skipped (nothing more goes out about the client) and the
  payload of every intent is emptied;
- a confirmed appointment still to come is cancelled first (the staff member's feed shows the
  cancellation and its reminders are withdrawn at notify): a session with nobody to meet
  cannot happen; past ones keep their status;
- the history gets a `client_erased` entry (who erased, when).
Kept, for statistics and the staff member's records: the times, service, staff member, mode,
status, outcome, language and the history's shape. Nothing kept names the client, so an
export by the same address afterwards finds nothing.

Retention (`frontdesk worker retention-booking`, daily): appointments that ended more than
FRONTDESK_RETENTION_APPOINTMENT_DAYS ago are anonymized the same way (0 keeps them forever);
the payloads of outbox intents settled (sent, failed, skipped) more than
FRONTDESK_RETENTION_MESSAGE_DAYS ago are emptied (they copy times and a cancellation reason).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking import outbox
from services.booking.models import Appointment, AppointmentEvent, OutboxIntent, Question
from services.booking.operations.appointments import record
from shared.actors import Actor
from shared.db import reclaim_after_commit, utcnow
from shared.privacy import ERASED, ClientLookup
from shared.timestamps import utc_iso

log = logging.getLogger("frontdesk.booking.privacy")

# History details that say nothing about the client: ids, times, mode, status, outcome.
HISTORY_KEYS_KEPT = frozenset(
    {"start", "previous_start", "staff_id", "mode", "follow_up_of", "fields", "request_id"}
    | {"status", "outcome"}
)
KEPT_WHY = (
    "Times, service, staff member, mode, status and outcome are kept without the client's "
    "details, for statistics and the staff member's own records."
)
RETENTION_BATCH = 500


def _of_client(client: ClientLookup):
    """Appointments booked with the client's address (any case) or one of their numbers."""
    matches = []
    if client.email:
        matches.append(sa.func.lower(Appointment.client_email) == client.email.strip().lower())
    if client.phones:
        matches.append(Appointment.client_phone.in_(client.phones))
    return sa.or_(*matches) if matches else sa.false()


def appointments_of(*, session: Session, client: ClientLookup) -> list[Appointment]:
    """The client's appointments (by address, case-insensitively, or by phone number, as
    E.164), oldest first."""
    return list(
        session.scalars(
            sa.select(Appointment)
            .where(_of_client(client))
            .order_by(Appointment.start, Appointment.id)
        )
    )


def _appointment_view(session: Session, appointment: Appointment) -> dict[str, Any]:
    history = session.scalars(
        sa.select(AppointmentEvent)
        .where(AppointmentEvent.appointment_id == appointment.id)
        .order_by(AppointmentEvent.id)
    )
    return {
        "id": appointment.id,
        "uid": appointment.uid,
        "service": {"id": appointment.service_id, "name": appointment.service.name},
        "staff": {"id": appointment.staff_id, "name": appointment.staff.name},
        "start": utc_iso(appointment.start),
        "end": utc_iso(appointment.end),
        "status": appointment.status,
        "mode": appointment.mode,
        "video_url": appointment.video_url,
        "client": {
            "name": appointment.client_name,
            "email": appointment.client_email,
            "phone": appointment.client_phone,
            "language": appointment.client_language,
            "time_zone": appointment.client_time_zone,
        },
        "backup": {
            "callback_number": appointment.backup_callback_number,
            "use_dial_in": appointment.backup_use_dial_in,
        },
        "accommodations": appointment.accommodations,
        "client_notes": appointment.client_notes,
        "staff_notes": appointment.staff_notes,
        "outcome": appointment.outcome,
        "cancel_reason": appointment.cancel_reason,
        "follow_up_of_id": appointment.follow_up_of_id,
        "created_at": utc_iso(appointment.created_at),
        "updated_at": utc_iso(appointment.updated_at),
        "consents": [
            {
                "request_id": c.request_id,
                "template_id": c.template_id,
                "form_title": c.form_title,
                "status": c.status,
            }
            for c in appointment.consents
        ],
        "history": [
            {"at": utc_iso(e.at), "actor": e.actor, "action": e.action, "details": e.details}
            for e in history
        ],
    }


def export_client(
    *, session: Session, client: ClientLookup, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything booking holds about a client (by email address or phone number).

    `phones`, `message_keys` and `appointment_ids` tell the caller what to look for at consent
    and notify: the client's numbers, the idempotency keys of the messages booking sent about
    these appointments, and the appointments themselves.
    """
    found = appointments_of(session=session, client=client)
    numbers = (n for a in found for n in (a.client_phone, a.backup_callback_number) if n)
    phones = sorted({*client.phones, *numbers})
    keys = session.scalars(
        sa.select(OutboxIntent.idempotency_key)
        .where(
            OutboxIntent.appointment_id.in_([a.id for a in found]),
            OutboxIntent.kind.like("notify.%"),
        )
        .order_by(OutboxIntent.id)
    )
    return {
        "service": "booking",
        "email": client.email,
        "phones": list(client.phones),
        "data": {
            "appointments": [_appointment_view(session, a) for a in found],
            "phones": phones,
            "message_keys": list(keys),
            "appointment_ids": [a.id for a in found],
        },
    }


def _still_to_come(appointment: Appointment) -> bool:
    return appointment.status == "confirmed" and appointment.end > utcnow()


def anonymize(*, session: Session, appointment: Appointment, actor: Actor) -> None:
    """Drop the client's details from one appointment; keep what statistics need."""
    # Withdrawing reminders carries no client data and must still reach notify.
    not_a_withdrawal = OutboxIntent.kind != "notify.cancel_group"
    session.execute(
        sa.update(OutboxIntent)
        .where(
            OutboxIntent.appointment_id == appointment.id,
            OutboxIntent.status == "pending",
            not_a_withdrawal,
        )
        .values(status="skipped", last_error="client data erased")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(OutboxIntent)
        .where(OutboxIntent.appointment_id == appointment.id, not_a_withdrawal)
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    if _still_to_come(appointment):
        appointment.status = "cancelled"
        appointment.sequence += 1
        record(session, appointment, actor, "cancelled")
        outbox.add_cancel_reminders(session, appointment)
    # The erasure itself goes into the history (and moves the staff member's feed on).
    record(session, appointment, actor, "client_erased")
    for event in session.scalars(
        sa.select(AppointmentEvent).where(AppointmentEvent.appointment_id == appointment.id)
    ):
        kept = {k: v for k, v in (event.details or {}).items() if k in HISTORY_KEYS_KEPT}
        if kept != event.details:
            event.details = kept
    appointment.client_name = ERASED
    appointment.client_email = ERASED
    appointment.client_email_key = ERASED
    appointment.client_phone = None
    appointment.client_time_zone = appointment.staff.time_zone
    appointment.backup_callback_number = None
    appointment.accommodation_captions = False
    appointment.accommodation_interpreter_language = None
    appointment.accommodation_other = None
    appointment.client_notes = None
    appointment.staff_notes = None
    appointment.cancel_reason = None
    appointment.manage_token_hash = None
    appointment.idempotency_fingerprint = None
    appointment.updated_at = utcnow()
    for consent in appointment.consents:
        consent.signing_url = None
    session.flush()


def erase_client(
    *, session: Session, client: ClientLookup, actor: Actor, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Anonymize a client's appointments (times kept for statistics).

    Returns what was erased and kept, and why.
    """
    found = appointments_of(session=session, client=client)
    cancelled = sum(_still_to_come(a) for a in found)
    skipped = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxIntent)
        .where(
            OutboxIntent.appointment_id.in_([a.id for a in found]),
            OutboxIntent.status == "pending",
            OutboxIntent.kind != "notify.cancel_group",
        )
    )
    for appointment in found:
        anonymize(session=session, appointment=appointment, actor=actor)
    # "Ask us" threads are the client's words: deleted whole, tied or asked by this address
    # or number.
    asked_by = [Question.appointment_id.in_([a.id for a in found])]
    if client.email:
        asked_by.append(sa.func.lower(Question.client_email) == client.email.strip().lower())
    if client.phones:
        asked_by.append(Question.client_phone.in_(client.phones))
    questions = session.execute(sa.delete(Question).where(sa.or_(*asked_by))).rowcount
    reclaim_after_commit(session)
    log.info(
        "client erased", extra={"appointment_ids": [a.id for a in found], "actor": actor.label}
    )
    return {
        "service": "booking",
        "erased": {
            "appointments_anonymized": len(found),
            "confirmed_appointments_cancelled": cancelled,
            "pending_messages_cancelled": skipped or 0,
            "questions_deleted": questions or 0,
        },
        "kept": {"appointments": len(found)},
        "reasons": {"appointments": KEPT_WHY},
    }


def _empty_settled_payloads(session: Session, *, days: int, now: datetime) -> int:
    """Empty the payloads (times, a cancellation reason) of intents settled `days` ago."""
    if days <= 0:
        return 0
    result = session.execute(
        sa.update(OutboxIntent)
        .where(
            OutboxIntent.created_at < now - timedelta(days=days),
            OutboxIntent.status != "pending",
            sa.cast(OutboxIntent.payload, sa.Text) != "{}",
        )
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def apply_retention(
    *, session: Session, config: Any, now: datetime | None = None
) -> dict[str, int]:
    """Anonymize appointments that ended more than RETENTION_APPOINTMENT_DAYS ago; empty the
    outbox payloads settled more than RETENTION_MESSAGE_DAYS ago."""
    reclaim_after_commit(session)
    now = now or utcnow()
    counts = {
        "appointments_anonymized": 0,
        "outbox_payloads_emptied": _empty_settled_payloads(
            session, days=config["RETENTION_MESSAGE_DAYS"], now=now
        ),
    }
    days = config["RETENTION_APPOINTMENT_DAYS"]
    if days <= 0:
        return counts
    cutoff = now - timedelta(days=days)
    total = 0
    while True:
        due = session.scalars(
            sa.select(Appointment)
            .where(
                Appointment.end < cutoff,
                # A phone-only client's appointment has no address (NULL != 'x' is not true).
                sa.or_(Appointment.client_email.is_(None), Appointment.client_email != ERASED),
            )
            .order_by(Appointment.id)
            .limit(RETENTION_BATCH)
        ).all()
        for appointment in due:
            anonymize(session=session, appointment=appointment, actor=Actor("retention"))
        total += len(due)
        if len(due) < RETENTION_BATCH:
            return counts | {"appointments_anonymized": total}
