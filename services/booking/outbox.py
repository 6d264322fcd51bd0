"""Booking's outbox: message intents written with the change, posted to notify/consent later.

An operation adds intents in its own transaction, so a change and its messages commit together.
The dispatcher claims due intents with a lease (a crashed dispatcher's claims come back when the
lease ends), calls notify or consent through booking's typed clients with the intent's
idempotency key (a repeat is answered with the first result, never sent twice), and judges
and retries each call the way every outbox does (`shared.outbox`).
Intents of one appointment go out in order, one lane for messages and one for consent requests;
the client's confirmation waits a little for the consent links so it can carry them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking import notices
from services.booking.clients import Clients
from services.booking.models import Appointment, OutboxIntent, Question
from shared import outbox
from shared.db import Database, utcnow

log = logging.getLogger("frontdesk.booking.outbox")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 25
CONSENT_WAIT = timedelta(minutes=10)  # how long a confirmation waits for its consent links
REMINDER_GRACE = timedelta(seconds=30)  # a reminder due longer ago than this is not sent late


# --- writing intents (inside an operation's transaction) ---------------------------------------


Intent = tuple[str, dict[str, Any]]  # (kind, payload)
_INSERT_INTENTS = sa.insert(OutboxIntent.__table__)


def add_intents(session: Session, appointment: Appointment, intents: list[Intent]) -> None:
    """Write the appointment's intents, in this order, in one statement of the transaction."""
    if not intents:
        return
    session.execute(
        _INSERT_INTENTS,
        [
            {
                "appointment_id": appointment.id,
                "kind": kind,
                "payload": payload,
                "idempotency_key": f"booking-{uuid.uuid4().hex}",
            }
            for kind, payload in intents
        ],
    )


def add_intent(
    session: Session, appointment: Appointment, kind: str, payload: dict[str, Any]
) -> None:
    """Write one intent for the appointment."""
    add_intents(session, appointment, [(kind, payload)])


# The intents of one change share its state (notices.state_payload): it is made once per change.
State = dict[str, Any]


def _client(state: State, template: str, **extra: Any) -> Intent:
    return ("notify.client", {"template": template, "state": state, "extra": extra})


def _staff(state: State, event: str, **extra: Any) -> Intent:
    return ("notify.staff", {"event": event, "state": state, **extra})


def _reminders(appointment: Appointment, state: State, *, now: datetime) -> list[Intent]:
    """One reminder per offset of the service that is still in the future."""
    reminders = []
    for offset in sorted(set(appointment.service.reminder_offsets_minutes or []), reverse=True):
        send_at = appointment.start - timedelta(minutes=offset)
        if send_at > now + timedelta(minutes=1):
            payload = {
                "send_at": notices.iso(send_at),
                "offset_minutes": offset,
                "state": state,
            }
            reminders.append(("notify.reminder", payload))
    return reminders


def _cancel_reminders(appointment: Appointment) -> Intent:
    """Withdraw the appointment's scheduled reminders."""
    return ("notify.cancel_group", {"group": notices.reminders_group(appointment)})


def add_reminders(session: Session, appointment: Appointment, *, now: datetime) -> None:
    """One reminder per offset of the service that is still in the future."""
    state = notices.state_payload(appointment)
    add_intents(session, appointment, _reminders(appointment, state, now=now))


def add_cancel_reminders(session: Session, appointment: Appointment) -> None:
    """Withdraw the appointment's scheduled reminders."""
    add_intents(session, appointment, [_cancel_reminders(appointment)])


def add_booked(
    session: Session,
    appointment: Appointment,
    *,
    now: datetime,
    consent_template_ids: list[int] | None = None,
) -> None:
    """Consent requests, confirmation with the invite, staff notice, reminders."""
    requests = [("consent.request", {"template_id": t}) for t in consent_template_ids or []]
    state = notices.state_payload(appointment)
    add_intents(
        session,
        appointment,
        [
            *requests,
            _client(state, "booking_confirmation"),
            _staff(state, "booked"),
            *_reminders(appointment, state, now=now),
        ],
    )


def add_invite(session: Session, appointment: Appointment) -> None:
    """The client's confirmation with the invite, once more (a new message, not a replay)."""
    state = notices.state_payload(appointment)
    add_intents(session, appointment, [_client(state, "booking_confirmation")])


def add_cancelled(session: Session, appointment: Appointment, *, reason: str | None) -> None:
    """Reminders withdrawn, CANCEL to the client, notice to staff."""
    state = notices.state_payload(appointment)
    add_intents(
        session,
        appointment,
        [
            _cancel_reminders(appointment),
            _client(state, "booking_cancelled", reason=reason),
            _staff(state, "cancelled"),
        ],
    )


def add_question_answered(session: Session, question: Question) -> None:
    """Tell the client their question has an answer, with the link to the thread."""
    session.execute(
        _INSERT_INTENTS,
        [
            {
                "appointment_id": question.appointment_id,
                "kind": "notify.question",
                "payload": {"question_id": question.id},
                "idempotency_key": f"booking-{uuid.uuid4().hex}",
            }
        ],
    )


def add_consent_withdrawn(session: Session, appointment: Appointment, *, form_title: str) -> None:
    """Tell the staff member that the client withdrew a consent tied to the appointment."""
    add_intents(
        session,
        appointment,
        [_staff(notices.state_payload(appointment), "consent_withdrawn", form_title=form_title)],
    )


def add_rescheduled(
    session: Session, appointment: Appointment, *, previous_start: datetime, now: datetime
) -> None:
    """Old reminders withdrawn, updated invite to the client, notice to staff, new reminders."""
    previous = notices.iso(previous_start)
    state = notices.state_payload(appointment)
    add_intents(
        session,
        appointment,
        [
            _cancel_reminders(appointment),
            _client(state, "booking_rescheduled", previous_start=previous),
            _staff(state, "rescheduled"),
            *_reminders(appointment, state, now=now),
        ],
    )


# --- dispatching -------------------------------------------------------------------------------


def _lane(intent: OutboxIntent) -> tuple[int | None, str]:
    return intent.appointment_id, "consent" if intent.kind == "consent.request" else "notify"


def _claim(database: Database, limit: int, now: datetime) -> list[int]:
    """Lease up to `limit` due intents, keeping each appointment's lanes in order.

    No SKIP LOCKED here (unlike `shared.outbox.claim`): a lane's first intent locked by another
    dispatcher must hold back the ones behind it, so dispatchers take turns.
    """
    with database.transaction() as session:
        rows = session.scalars(
            sa.select(OutboxIntent)
            .where(OutboxIntent.status == "pending")
            .order_by(OutboxIntent.id)
            .limit(max(limit * 5, 50))
            .with_for_update()
        ).all()
        busy_lanes: set[tuple[int | None, str]] = set()
        consent_since: dict[int | None, datetime] = {}
        claimed: list[int] = []
        for intent in rows:
            lane = _lane(intent)
            if intent.kind == "consent.request":
                consent_since.setdefault(intent.appointment_id, intent.created_at)
            if lane in busy_lanes:
                continue
            busy_lanes.add(lane)  # an earlier intent of the lane, due or not, goes first
            if intent.next_attempt_at > now:
                continue
            waiting_since = consent_since.get(intent.appointment_id)
            if (
                intent.kind == "notify.client"
                and intent.payload.get("template") == "booking_confirmation"
                and waiting_since is not None
                and now - waiting_since < CONSENT_WAIT
            ):
                continue
            intent.attempts += 1
            intent.next_attempt_at = now + LEASE
            claimed.append(intent.id)
            if len(claimed) >= limit:
                break
    return claimed


class UnknownIntent(Exception):
    """An intent of a kind this version does not send (it is marked failed)."""


def _calls(
    session: Session,
    clients: Clients,
    settings: notices.Settings,
    intent: OutboxIntent,
    now: datetime,
) -> list[Callable[[], httpx.Response]] | None:
    """The calls one intent stands for, built from the appointment as it is now (None: skip it)."""
    if intent.kind.startswith("notify.") and intent.kind != "notify.cancel_group":
        settings = settings.with_profile(session)
    kind, payload, key = intent.kind, dict(intent.payload), intent.idempotency_key
    if kind == "notify.question":  # may concern no appointment
        question = session.get(Question, payload["question_id"])
        messages = notices.question_answered(settings, question) if question else []
        keys = _message_keys(kind, key, messages)
        return [
            lambda m=m, k=k: clients.notify.send(m, k) for m, k in zip(messages, keys, strict=True)
        ] or None
    appointment = session.get(Appointment, intent.appointment_id)
    if kind == "notify.cancel_group":
        return [lambda: clients.notify.cancel_group(payload["group"])]
    if kind == "consent.request":
        confirmation_sent = session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxIntent)
            .where(
                OutboxIntent.appointment_id == appointment.id,
                OutboxIntent.kind == "notify.client",
                OutboxIntent.status == "sent",
            )
        )
        body = notices.consent_request(
            appointment, payload["template_id"], send=bool(confirmation_sent)
        )
        return [lambda: clients.consent.create_request(body, key)]
    if kind == "notify.client":
        messages = notices.client_messages(settings, appointment, payload)
    elif kind == "notify.staff":
        messages = [notices.staff_notice(settings, appointment, payload)]
    elif kind == "notify.reminder":
        send_at = datetime.fromisoformat(payload["send_at"].replace("Z", "+00:00"))
        if send_at < now - REMINDER_GRACE:
            return None
        messages = notices.reminders(settings, appointment, payload)
    elif kind == "notify.billing":
        messages = [body for _, body in notices.billing_messages(settings, appointment)]
    elif kind == "notify.lost_links":
        found = session.scalars(
            sa.select(Appointment).where(Appointment.id.in_(payload["appointment_ids"]))
        ).all()
        messages = notices.lost_links(settings, appointment, found, payload, now=now)
    else:
        raise UnknownIntent(f"unknown intent kind {kind}")
    if not messages:
        return None
    # Every message says which appointment and staff member it is about: staff read the
    # delivery status of their own appointments' messages in notify by these.
    about = {"appointment_id": appointment.id, "staff_id": appointment.staff_id}
    messages = [message | about for message in messages]
    keys = _message_keys(kind, key, messages)
    return [lambda m=m, k=k: clients.notify.send(m, k) for m, k in zip(messages, keys, strict=True)]


def _message_keys(kind: str, key: str, messages: list[dict[str, Any]]) -> list[str]:
    """The Idempotency-Key of each message of an intent: a retry of any of them is a repeat
    notify answers with the first result, never a second message."""
    if kind == "notify.billing":  # the billing email and webhook, numbered
        return [key] if len(messages) == 1 else [f"{key}-{i}" for i in range(len(messages))]
    # A client's email keeps the intent's key (as before SMS), its SMS twin has its own.
    return [key if message["channel"] == "email" else f"{key}-sms" for message in messages]


def _perform(
    database: Database, clients: Clients, settings: notices.Settings, intent_id: int, now: datetime
) -> outbox.Outcome | None:
    """Carry out one claimed intent; its outcome, or None when it is skipped."""
    with database.transaction() as session:
        intent = session.get(OutboxIntent, intent_id)
        appointment_id, kind = intent.appointment_id, intent.kind
        template_id = intent.payload.get("template_id")
        try:
            calls = _calls(session, clients, settings, intent, now)
        except UnknownIntent as exc:
            return outbox.Outcome("failed", str(exc), str(exc))
    if calls is None:
        return None
    for call in calls:
        outcome = outbox.outcome_of(call)
        if outcome.status != "sent":
            return outcome
    if kind == "consent.request" and outcome.response.status_code in (200, 201):
        from services.booking.operations.appointments import set_consent

        answer = outcome.response.json()
        with database.transaction() as session:
            set_consent(
                session=session,
                appointment=session.get(Appointment, appointment_id),
                request_id=answer["id"],
                template_id=answer.get("template_id", template_id),
                form_title=answer.get("form_title", ""),
                status=answer.get("status", "pending"),
                signing_url=answer.get("signing_url"),
            )
    return outcome


def _finish(
    database: Database, intent_id: int, outcome: outbox.Outcome | None, now: datetime
) -> None:
    """Record the outcome of one attempt (None: skipped, nothing was due any more)."""
    with database.transaction() as session:
        intent = session.get(OutboxIntent, intent_id)
        outbox.settle(intent, outcome, now=now, max_attempts=MAX_ATTEMPTS)


def dispatch(
    database: Database,
    clients: Clients,
    settings: Mapping[str, Any],
    *,
    limit: int = 100,
    now: datetime | None = None,
) -> int:
    """Send what is due, in order; return how many intents were completed (sent or skipped).

    `now` lets tests move the clock forward (past a backoff or the consent wait).
    """
    message_settings = notices.Settings.from_config(settings)
    done = 0
    while done < limit:
        clock = now or utcnow()
        claimed = _claim(database, limit - done, clock)
        if not claimed:
            break
        settled = 0  # sent, skipped or failed for good: the lanes behind them can move on
        for intent_id in claimed:
            outcome = _perform(database, clients, message_settings, intent_id, clock)
            _finish(database, intent_id, outcome, clock)
            if outcome is not None and outcome.status == "retry":
                log.info("outbox intent delayed", extra={"intent_id": intent_id})
                continue
            if outcome is not None and outcome.status == "failed":
                # The answer's text stays in the row (last_error); the log gets no client data.
                log.error(
                    "outbox intent rejected",
                    extra={"intent_id": intent_id, "error": outcome.summary},
                )
            else:
                done += 1
            settled += 1
        if not settled:
            break
    return done
