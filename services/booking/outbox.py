"""Booking's outbox: message intents written with the change, posted to notify/consent later.

An operation adds intents in its own transaction, so a change and its messages commit together.
The dispatcher claims due intents with a lease (a crashed dispatcher's claims come back when the
lease ends), calls notify or consent with the intent's idempotency key (a repeat is answered
with the first result, never sent twice), and retries with backoff while they are down.
Intents of one appointment go out in order, one lane for messages and one for consent requests;
the client's confirmation waits a little for the consent links so it can carry them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from services.booking import notices
from services.booking.clients import booking_clients
from services.booking.models import Appointment, OutboxIntent
from shared.db import get_db, utcnow
from shared.http import ServiceCallFailed

log = logging.getLogger("frontdesk.booking.outbox")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 25
CONSENT_WAIT = timedelta(minutes=10)  # how long a confirmation waits for its consent links
REMINDER_GRACE = timedelta(seconds=30)  # a reminder due longer ago than this is not sent late


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt: 5 s, 15 s, 45 s ... at most one hour."""
    return timedelta(seconds=min(5 * 3 ** max(attempts - 1, 0), 3600))


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


def _client(appointment: Appointment, template: str, **extra: Any) -> Intent:
    return (
        "notify.client",
        {"template": template, "state": notices.state_payload(appointment), "extra": extra},
    )


def _staff(appointment: Appointment, event: str, **extra: Any) -> Intent:
    return ("notify.staff", {"event": event, "state": notices.state_payload(appointment), **extra})


def _reminders(appointment: Appointment, *, now: datetime) -> list[Intent]:
    """One reminder per offset of the service that is still in the future."""
    reminders = []
    for offset in sorted(set(appointment.service.reminder_offsets_minutes or []), reverse=True):
        send_at = appointment.start - timedelta(minutes=offset)
        if send_at > now + timedelta(minutes=1):
            payload = {
                "send_at": notices.iso(send_at),
                "offset_minutes": offset,
                "state": notices.state_payload(appointment),
            }
            reminders.append(("notify.reminder", payload))
    return reminders


def _cancel_reminders(appointment: Appointment) -> Intent:
    """Withdraw the appointment's scheduled reminders."""
    return ("notify.cancel_group", {"group": notices.reminders_group(appointment)})


def add_reminders(session: Session, appointment: Appointment, *, now: datetime) -> None:
    """One reminder per offset of the service that is still in the future."""
    add_intents(session, appointment, _reminders(appointment, now=now))


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
    add_intents(
        session,
        appointment,
        [
            *requests,
            _client(appointment, "booking_confirmation"),
            _staff(appointment, "booked"),
            *_reminders(appointment, now=now),
        ],
    )


def add_cancelled(session: Session, appointment: Appointment, *, reason: str | None) -> None:
    """Reminders withdrawn, CANCEL to the client, notice to staff."""
    add_intents(
        session,
        appointment,
        [
            _cancel_reminders(appointment),
            _client(appointment, "booking_cancelled", reason=reason),
            _staff(appointment, "cancelled"),
        ],
    )


def add_consent_withdrawn(session: Session, appointment: Appointment, *, form_title: str) -> None:
    """Tell the staff member that the client withdrew a consent tied to the appointment."""
    add_intents(
        session, appointment, [_staff(appointment, "consent_withdrawn", form_title=form_title)]
    )


def add_rescheduled(
    session: Session, appointment: Appointment, *, previous_start: datetime, now: datetime
) -> None:
    """Old reminders withdrawn, updated invite to the client, notice to staff, new reminders."""
    previous = notices.iso(previous_start)
    add_intents(
        session,
        appointment,
        [
            _cancel_reminders(appointment),
            _client(appointment, "booking_rescheduled", previous_start=previous),
            _staff(appointment, "rescheduled"),
            *_reminders(appointment, now=now),
        ],
    )


# --- dispatching -------------------------------------------------------------------------------


class RetryLater(Exception):
    """The other service is not there (yet): try again after a backoff."""


class Rejected(Exception):
    """The other service refused the request for good."""

    def __init__(self, summary: str, detail: str = "") -> None:
        super().__init__(f"{summary}: {detail}" if detail else summary)
        self.summary = summary  # status and code only: what may be logged


def _lane(intent: OutboxIntent) -> tuple[int | None, str]:
    return intent.appointment_id, "consent" if intent.kind == "consent.request" else "notify"


def _claim(app: Flask, limit: int, now: datetime) -> list[int]:
    """Lease up to `limit` due intents, keeping each appointment's lanes in order."""
    with get_db(app).transaction() as session:
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


def _post(client, path: str, body: dict, key: str) -> httpx.Response:
    """POST with an idempotency key; a repeat with another body counts as already done."""
    try:
        response = client.request("POST", path, json=body, idempotency_key=key, expect=(200, 201))
    except ServiceCallFailed as exc:
        raise RetryLater(str(exc)) from exc
    if response.status_code in (200, 201):
        return response
    if response.status_code == 409 and _code(response) == "idempotency_key_reused":
        return response
    if response.status_code in (404, 405, 429) and _code(response) in (
        "not_found",
        "method_not_allowed",
        "rate_limited",
    ):
        # The route itself is missing (service not deployed yet) or we are throttled.
        raise RetryLater(f"HTTP {response.status_code} on {path}")
    raise Rejected(f"HTTP {response.status_code} {_code(response)}", response.text[:500])


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


def _perform(app: Flask, intent_id: int, now: datetime) -> str:
    """Carry out one claimed intent; return its final status (sent or skipped)."""
    settings = notices.Settings.from_config(app.config)
    notify, consent = booking_clients(app)
    db = get_db(app)
    with db.transaction() as session:
        intent = session.get(OutboxIntent, intent_id)
        appointment = session.get(Appointment, intent.appointment_id)
        kind, payload, key = intent.kind, dict(intent.payload), intent.idempotency_key
        if kind == "notify.client":
            calls = [("/api/v1/messages", notices.client_email(settings, appointment, payload))]
        elif kind == "notify.staff":
            calls = [("/api/v1/messages", notices.staff_notice(settings, appointment, payload))]
        elif kind == "notify.reminder":
            send_at = datetime.fromisoformat(payload["send_at"].replace("Z", "+00:00"))
            if send_at < now - REMINDER_GRACE:
                return "skipped"
            calls = [("/api/v1/messages", notices.reminder(settings, appointment, payload))]
        elif kind == "notify.cancel_group":
            calls = [(notices.group_path(payload["group"]), {})]
        elif kind == "notify.billing":
            calls = [
                ("/api/v1/messages", body)
                for _, body in notices.billing_messages(settings, appointment)
            ]
            if not calls:
                return "skipped"
        elif kind == "consent.request":
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
            calls = [("consent:/api/v1/requests", body)]
        else:
            raise Rejected(f"unknown intent kind {kind}")
    responses = []
    for index, (path, body) in enumerate(calls):
        call_key = key if len(calls) == 1 else f"{key}-{index}"
        if path.startswith("consent:"):
            responses.append(_post(consent, path.removeprefix("consent:"), body, call_key))
        else:
            responses.append(_post(notify, path, body, call_key))
    if kind == "consent.request" and responses[0].status_code in (200, 201):
        from services.booking.appointments import set_consent

        answer = responses[0].json()
        with db.transaction() as session:
            appointment = session.get(Appointment, intent.appointment_id)
            set_consent(
                session=session,
                appointment=appointment,
                request_id=answer["id"],
                template_id=answer.get("template_id", payload["template_id"]),
                form_title=answer.get("form_title", ""),
                status=answer.get("status", "pending"),
                signing_url=answer.get("signing_url"),
            )
    return "sent"


def _finish(
    app: Flask, intent_id: int, status: str | None, error: str | None, now: datetime
) -> None:
    """Record the outcome of one attempt."""
    with get_db(app).transaction() as session:
        intent = session.get(OutboxIntent, intent_id)
        intent.last_error = error
        if status is not None:
            intent.status = status
            intent.sent_at = now if status == "sent" else None
        elif intent.attempts >= MAX_ATTEMPTS:
            intent.status = "failed"
        else:
            intent.next_attempt_at = now + backoff(intent.attempts)


def dispatch_pending(app: Flask, limit: int = 100, *, now: datetime | None = None) -> int:
    """Send what is due, in order; return how many intents were completed (sent or skipped).

    `now` lets tests move the clock forward (past a backoff or the consent wait).
    """
    done = 0
    while done < limit:
        clock = now or utcnow()
        claimed = _claim(app, limit - done, clock)
        if not claimed:
            break
        settled = 0  # sent, skipped or failed for good: the lanes behind them can move on
        for intent_id in claimed:
            try:
                status = _perform(app, intent_id, clock)
            except RetryLater as exc:
                log.info("outbox intent delayed", extra={"intent_id": intent_id, "error": str(exc)})
                _finish(app, intent_id, None, str(exc), clock)
                continue
            except Rejected as exc:
                # The answer's text stays in the row (last_error); the log gets no client data.
                log.error(
                    "outbox intent rejected", extra={"intent_id": intent_id, "error": exc.summary}
                )
                _finish(app, intent_id, "failed", str(exc), clock)
                settled += 1
                continue
            _finish(app, intent_id, status, None, clock)
            done += 1
            settled += 1
        if not settled:
            break
    return done


def run(app: Flask, stop: threading.Event) -> None:
    """The dispatcher loop of `frontdesk worker booking`: send, then wait a second when idle."""
    log.info("booking outbox dispatcher started")
    while not stop.is_set():
        try:
            sent = dispatch_pending(app, 50)
        except Exception:  # the loop must survive a bad batch and a database blip
            log.exception("booking outbox dispatch failed")
            sent = 0
        if not sent:
            stop.wait(1.0)
