"""Calls to notify and booking, kept as rows until delivered, so a service being down delays
them and never drops them.

Operations enqueue in the same transaction as the change they announce; `dispatch` (the
`consent` worker's step, on `shared.outbox`) claims due rows with a lease, calls the other
service through consent's typed clients outside any transaction, and records the outcome.
Booking status updates carry no stored body: it is built at delivery time from the request's
current state, so a late delivery never sends a stale status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session, joinedload

from services.consent.clients import Clients, consent_status_path
from services.consent.models import ConsentRequest, OutboxItem
from services.consent.operations import forms
from services.consent.operations.audit import record_event
from shared import outbox
from shared.db import Database, utcnow
from shared.http import MESSAGES_PATH, group_cancel_path

log = logging.getLogger("frontdesk.consent.outbox")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
BATCH_SIZE = 50


def enqueue_notify(
    *,
    session: Session,
    request: ConsentRequest,
    message: dict[str, Any],
    event_on_delivery: str | None = None,
) -> OutboxItem:
    """Queue a message to notify, saying which appointment and staff member it is about."""
    about = {"appointment_id": request.appointment_id, "staff_id": request.staff_id}
    item = OutboxItem(
        target="notify",
        method="POST",
        path=MESSAGES_PATH,
        body=message | {k: v for k, v in about.items() if v is not None},
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
        path=group_cancel_path(group),
        body=None,
        request_id=request.id,
    )
    session.add(item)
    session.flush()
    return item


def enqueue_booking_status(
    *, session: Session, request: ConsentRequest, appointment_id: int
) -> OutboxItem:
    """Queue a PUT of the request's status onto a booking appointment (body built at delivery)."""
    item = OutboxItem(
        target="booking",
        method="PUT",
        path=consent_status_path(appointment_id, request.id),
        body=None,
        request_id=request.id,
    )
    session.add(item)
    session.flush()
    return item


def booking_body(request: ConsentRequest, default_language: str | None) -> dict[str, Any]:
    """The body of the consent -> booking contract, from the request as it is now; the form
    is named as the client is shown it (the organization's default language when the form
    lacks the client's)."""
    return {
        "template_id": request.version.template_id,
        "form_title": forms.request_title(request, default_language),
        "status": request.status,
    }


def _call(
    session: Session, clients: Clients, item: OutboxItem, default_language: Callable[[], str]
) -> Callable[[], httpx.Response]:
    """The call an item stands for, made later outside the transaction."""
    client = getattr(clients, item.target)
    key = item.idempotency_key if item.method == "POST" else None
    method, path, body = item.method, item.path, item.body
    if item.target == "booking":
        # The status is read now; the organization's language is asked of booking with the
        # call, outside the transaction (booking down: both wait for the retry).
        request = session.get(
            ConsentRequest, item.request_id, options=[joinedload(ConsentRequest.version)]
        )
        return lambda: client.request(
            method, path, json=booking_body(request, default_language()), idempotency_key=key
        )
    return lambda: client.request(method, path, json=body, idempotency_key=key)


def _organization_language(clients: Clients) -> Callable[[], str]:
    """The organization's default language as booking gives it, asked at most once per batch
    and only when a call needs it (it raises ServiceCallFailed when booking does not answer,
    so the call is retried rather than sent with a title in another language)."""
    language: list[str] = []

    def default_language() -> str:
        if not language:
            language.append(clients.booking.organization().default_language)
        return language[0]

    return default_language


def _without_links(body: dict[str, Any] | None) -> dict[str, Any] | None:
    """The body with its signing and download links blanked: once delivered, no copy is kept."""
    if not body or "data" not in body:
        return body
    data = {k: "[delivered]" if k.endswith("_url") else v for k, v in body["data"].items()}
    return {**body, "data": data}


def _record(session: Session, item: OutboxItem, outcome: outbox.Outcome, now: datetime) -> None:
    """Record one attempt's outcome on its item, and what a delivery or a give-up entails."""
    outbox.settle(item, outcome, now=now, max_attempts=MAX_ATTEMPTS)
    if item.status == "sent":
        template = (item.body or {}).get("template")
        item.body = _without_links(item.body)
        if item.event_on_delivery and item.request_id is not None:
            request = session.get(ConsentRequest, item.request_id)
            record_event(
                session=session,
                request=request,
                kind=item.event_on_delivery,
                details={"via": item.target, "template": template},
            )
    elif item.status == "failed":
        log.error(
            "outbox item gave up",
            extra={"outbox_id": item.id, "target": item.target, "attempts": item.attempts},
        )


def dispatch(
    database: Database, clients: Clients, settings: Mapping[str, Any], *, limit: int = BATCH_SIZE
) -> int:
    """Deliver the due outbox items once; returns how many were delivered."""
    now = utcnow()
    with database.transaction() as session:
        items = outbox.claim(session, OutboxItem, now=now, limit=limit, lease=LEASE)
        language = _organization_language(clients)
        calls = [(item.id, _call(session, clients, item, language)) for item in items]
    if not calls:
        return 0
    outcomes = [(item_id, outbox.outcome_of(call)) for item_id, call in calls]
    now = utcnow()
    with database.transaction() as session:
        for item_id, outcome in outcomes:
            _record(session, session.get(OutboxItem, item_id), outcome, now)
    delivered = sum(1 for _id, outcome in outcomes if outcome.status == "sent")
    log.info("outbox dispatched", extra={"claimed": len(calls), "delivered": delivered})
    return delivered
