"""The audit trail of a consent request: events chained by SHA-256.

Each event stores the hash of the event before it and its own hash over its fields and that
previous hash, so changing, removing or reordering any event breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.consent.models import AuditEvent, ConsentRequest
from shared.db import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the caller's address, browser, time zone and language."""

    ip: str | None = None
    user_agent: str | None = None
    timezone: str | None = None
    locale: str | None = None


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's canonical fields and the previous event's hash."""
    fields = {
        "request_id": event.request_id,
        "sequence": event.sequence,
        "kind": event.kind,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "timezone": event.timezone,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "locale": event.locale,
        "details": event.details,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    *,
    session: Session,
    request: ConsentRequest,
    kind: str,
    origin: Origin | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append an event to the request's chain.

    The request row is locked first and its events re-read, so two concurrent writers (a
    double-submitted form, a page reload) queue up instead of forking the chain.
    """
    origin = origin or Origin()
    session.execute(
        sa.select(ConsentRequest.id).where(ConsentRequest.id == request.id).with_for_update()
    )
    session.refresh(request, ["events"])
    previous = request.events[-1] if request.events else None
    event = AuditEvent(
        request_id=request.id,
        sequence=(previous.sequence + 1) if previous else 1,
        kind=kind,
        # Microsecond precision is what every database keeps, so the hash survives a round trip.
        occurred_at=(occurred_at or utcnow()).astimezone(UTC),
        timezone=origin.timezone,
        ip=origin.ip,
        user_agent=(origin.user_agent or None) and origin.user_agent[:400],
        locale=origin.locale,
        details=details or {},
        previous_hash=previous.hash if previous else GENESIS_HASH,
    )
    event.hash = event_hash(event)
    request.events.append(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    """The result of checking a chain: intact, or the first sequence number that is wrong."""

    intact: bool
    broken_at: int | None = None
    reason: str | None = None


def verify_chain(events: list[AuditEvent]) -> ChainCheck:
    """Recompute every hash and link of a request's events, in order."""
    previous_hash = GENESIS_HASH
    for expected_sequence, event in enumerate(events, start=1):
        if event.sequence != expected_sequence:
            return ChainCheck(False, event.sequence, "an event is missing or out of order")
        if event.previous_hash != previous_hash:
            return ChainCheck(False, event.sequence, "the link to the previous event is wrong")
        if event_hash(event) != event.hash:
            return ChainCheck(False, event.sequence, "the event was changed after it was written")
        previous_hash = event.hash
    return ChainCheck(True)
