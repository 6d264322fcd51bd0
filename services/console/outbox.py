"""What the console must get to a service even if it is down: token revocations and sign-in
emails, kept as rows until delivered (on `shared.outbox`, like the other services' outboxes).

A revocation is queued for each of the three services in the transaction that ends the session
at the console (which stops accepting the cookie at once); the worker (and, right after the
request, `deliver_now`) makes the calls with the service token. An email's body holds the
sign-in link, so it is dropped once notify has the message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from services.console.clients import Clients
from services.console.models import OutboxItem
from shared import outbox
from shared.auth import REVOKE_PATH
from shared.db import Database, utcnow
from shared.http import MESSAGES_PATH

log = logging.getLogger("frontdesk.console.outbox")

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 20  # a revocation is worth trying for days (the token expires within 12 h anyway)
BATCH_SIZE = 50
TOKEN_SERVICES = ("booking", "consent", "notify")


def enqueue_revocation(*, session: Session, target: Mapping[str, Any]) -> list[OutboxItem]:
    """Queue the revocation of a token (`token_hash`) or of a staff member's every token
    (`staff_id`) at each of the three services."""
    items = [
        OutboxItem(target=service, path=REVOKE_PATH, body=dict(target))
        for service in TOKEN_SERVICES
    ]
    session.add_all(items)
    session.flush()
    return items


def enqueue_email(*, session: Session, message: Mapping[str, Any]) -> OutboxItem:
    """Queue one message to notify (its idempotency key makes a repeat a no-op)."""
    item = OutboxItem(target="notify", path=MESSAGES_PATH, body=dict(message))
    session.add(item)
    session.flush()
    return item


def _call(clients: Clients, item: OutboxItem) -> Callable[[], httpx.Response]:
    """The call an item stands for, made later outside the transaction."""
    client = clients.every()[item.target]
    body, path, key = item.body, item.path, item.idempotency_key
    return lambda: client.request("POST", path, json=body, idempotency_key=key, expect=(200, 201))


def dispatch(
    database: Database,
    clients: Clients,
    settings: Mapping[str, Any],
    *,
    limit: int = BATCH_SIZE,
) -> int:
    """Deliver the due outbox items once; returns how many were delivered."""
    now = utcnow()
    with database.transaction() as session:
        items = outbox.claim(session, OutboxItem, now=now, limit=limit, lease=LEASE)
        calls = [(item.id, _call(clients, item)) for item in items]
    if not calls:
        return 0
    outcomes = [(item_id, outbox.outcome_of(call)) for item_id, call in calls]
    now = utcnow()
    with database.transaction() as session:
        for item_id, outcome in outcomes:
            item = session.get(OutboxItem, item_id)
            outbox.settle(item, outcome, now=now, max_attempts=MAX_ATTEMPTS)
            if item.status == "sent" and item.target == "notify":
                item.body = None  # the sign-in link is kept nowhere once notify has it
            elif item.status == "failed":
                log.error(
                    "outbox item gave up",
                    extra={"outbox_id": item.id, "target": item.target, "attempts": item.attempts},
                )
    return sum(1 for _id, outcome in outcomes if outcome.status == "sent")
