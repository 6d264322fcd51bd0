"""Calls to notify and booking, kept as rows until delivered, so a service being down delays
them and never drops them.

Operations enqueue in the same transaction as the change they announce; `dispatch_pending`
(run by the `consent` worker, or called directly) claims due rows with a lease, calls the
other service outside any transaction, and records the outcome. Booking status updates are
built at delivery time from the request's current state, so a late delivery never sends a
stale status.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from services.consent import forms
from services.consent.audit import record_event
from services.consent.models import ConsentRequest, OutboxItem
from shared.app import service_client
from shared.db import get_db, utcnow
from shared.http import ServiceCallFailed

log = logging.getLogger("frontdesk.consent.outbox")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
BOOKING_STATUS = "booking_status"
POLL_SECONDS = 1.0


def enqueue_notify(
    *,
    session: Session,
    request: ConsentRequest,
    message: dict[str, Any],
    event_on_delivery: str | None = None,
) -> OutboxItem:
    """Queue a POST /api/v1/messages to notify."""
    item = OutboxItem(
        target="notify",
        method="POST",
        path="/api/v1/messages",
        body=message,
        request_id=request.id,
        event_on_delivery=event_on_delivery,
    )
    session.add(item)
    session.flush()
    return item


def enqueue_cancel_group(*, session: Session, request: ConsentRequest, group: str) -> OutboxItem:
    """Queue the cancellation of a notify group (e.g. a request's reminders)."""
    item = OutboxItem(
        target="notify",
        method="POST",
        path=f"/api/v1/groups/{quote(group, safe=':')}/cancel",
        body=None,
        request_id=request.id,
    )
    session.add(item)
    session.flush()
    return item


def enqueue_booking_status(
    *, session: Session, request: ConsentRequest, appointment_id: int
) -> OutboxItem:
    """Queue a PUT of the request's status onto a booking appointment."""
    item = OutboxItem(
        target="booking",
        method="PUT",
        path=f"/api/v1/appointments/{appointment_id}/consents/{request.id}",
        body={"kind": BOOKING_STATUS},
        request_id=request.id,
    )
    session.add(item)
    session.flush()
    return item


def booking_body(request: ConsentRequest) -> dict[str, Any]:
    """The body of the consent -> booking contract, from the request as it is now."""
    return {
        "template_id": request.version.template_id,
        "form_title": forms.localize(request.version, request.locale).title,
        "status": request.status,
    }


@dataclass(frozen=True)
class _Call:
    id: int
    target: str
    method: str
    path: str
    body: dict[str, Any] | None


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    retry: bool
    error: str | None = None


def _claim(session: Session, limit: int) -> list[_Call]:
    now = utcnow()
    items = session.scalars(
        sa.select(OutboxItem)
        .where(
            OutboxItem.delivered_at.is_(None),
            OutboxItem.dead_at.is_(None),
            OutboxItem.next_attempt_at <= now,
        )
        .order_by(OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    calls = []
    for item in items:
        item.next_attempt_at = now + LEASE  # a crashed dispatcher's claim runs out
        body = item.body
        if body == {"kind": BOOKING_STATUS}:
            body = booking_body(session.get(ConsentRequest, item.request_id))
        calls.append(_Call(item.id, item.target, item.method, item.path, body))
    return calls


def _deliver(app: Flask, call: _Call) -> _Outcome:
    client = service_client(app, call.target)
    try:
        response = client.request(
            call.method,
            call.path,
            json=call.body,
            idempotency_key=f"consent-outbox-{call.id}" if call.method == "POST" else None,
            expect=(200, 201),
        )
    except ServiceCallFailed as exc:
        return _Outcome(False, True, str(exc)[:500])
    if response.status_code in (200, 201):
        return _Outcome(True, False)
    error = f"HTTP {response.status_code}: {response.text[:300]}"
    # 404 may be an appointment (or a route) that is not there yet; 429 is back-pressure.
    return _Outcome(False, response.status_code in (404, 408, 429), error)


def _without_links(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """The body with its signing and download links blanked: once delivered, no copy is kept."""
    if not body or "data" not in body:
        return body
    data = {k: "[delivered]" if k.endswith("_url") else v for k, v in body["data"].items()}
    return {**body, "data": data}


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** (attempts - 1), 3600))


def _record(session: Session, call: _Call, outcome: _Outcome) -> None:
    item = session.get(OutboxItem, call.id)
    now = utcnow()
    item.attempts += 1
    if outcome.delivered:
        item.delivered_at = now
        item.last_error = None
        item.body = _without_links(item.body)
        if item.event_on_delivery and item.request_id is not None:
            request = session.get(ConsentRequest, item.request_id)
            record_event(
                session=session,
                request=request,
                kind=item.event_on_delivery,
                details={"via": call.target, "template": (call.body or {}).get("template")},
            )
        return
    item.last_error = outcome.error
    if outcome.retry and item.attempts < MAX_ATTEMPTS:
        item.next_attempt_at = now + _backoff(item.attempts)
    else:
        item.dead_at = now
        log.error(
            "outbox item gave up",
            extra={"outbox_id": item.id, "target": item.target, "attempts": item.attempts},
        )


def dispatch_pending(app: Flask, *, limit: int = 50) -> int:
    """Deliver the due outbox items once; returns how many were delivered."""
    database = get_db(app)
    with database.transaction() as session:
        calls = _claim(session, limit)
    if not calls:
        return 0
    outcomes = [(call, _deliver(app, call)) for call in calls]
    with database.transaction() as session:
        for call, outcome in outcomes:
            _record(session, call, outcome)
    delivered = sum(1 for _call, outcome in outcomes if outcome.delivered)
    log.info("outbox dispatched", extra={"claimed": len(calls), "delivered": delivered})
    return delivered


def run(app: Flask, stop: threading.Event) -> None:
    """The consent worker: deliver the outbox and expire overdue requests until `stop` is set."""
    from services.consent.requests import expire_overdue

    database = get_db(app)
    while not stop.is_set():
        try:
            with database.transaction() as session:
                expire_overdue(session=session)
            busy = dispatch_pending(app) > 0
        except Exception:
            log.exception("consent worker iteration failed")
            busy = False
        if not busy:
            stop.wait(POLL_SECONDS)
