"""What every outbox shares: the claim under a lease, the outcome of a call, the backoff.

A service writes the calls it must make to another service as rows, in the transaction of the
change they announce; its worker claims the due rows under a lease (a crashed worker's claims
come back when the lease ends), makes the calls through its typed clients outside any
transaction, and records each outcome with `settle`. Notify's delivery queue uses the same
backoff for its emails, SMS and webhooks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import utcnow
from shared.http import ServiceCallFailed

RETRY_BASE_SECONDS = 5.0  # 5 s, 20 s, 80 s, 5 min, 21 min, 85 min, 5.7 h (x4, with jitter)
RETRY_MAX_SECONDS = 6 * 3600.0
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
# A 404 may be a row or a route that is not there yet (the other service not deployed, an
# appointment not committed); 405 a route not deployed yet; 408 and 429 back-pressure.
RETRY_STATUSES = frozenset({404, 405, 408, 429})

Row = TypeVar("Row", bound="OutboxRow")


class OutboxRow:
    """The columns of every outbox row (a mixin of the services' outbox models).

    `status` is pending until the row is sent, skipped (nothing was due any more) or failed for
    good; `next_attempt_at` is when it may be claimed next (the retry time, or the lease end
    while a worker holds it); the idempotency key goes with every try, so a repeat is answered
    with the first result.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(
        sa.String(100), unique=True, default=lambda: f"outbox-{uuid.uuid4().hex}"
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter after the given attempt; a longer Retry-After wins."""
    base = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 4 ** max(0, attempts - 1))
    delay = base * random.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_MAX_SECONDS))
    return timedelta(seconds=delay)


def claim(
    session: Session, model: type[Row], *, now: datetime, limit: int, lease: timedelta
) -> list[Row]:
    """Lease up to `limit` pending rows of `model` that are due (oldest first), count the try.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent workers take disjoint rows. SQLite
    ignores the clause, but its BEGIN IMMEDIATE transactions already run one at a time.
    The lease is `next_attempt_at` moved to its end: if the worker dies, the row is due again.
    """
    rows = session.scalars(
        sa.select(model)
        .where(model.status == "pending", model.next_attempt_at <= now)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + lease
    return list(rows)


@dataclass(frozen=True)
class Outcome:
    """What one call came to: `sent`, `retry` later, or `failed` for good."""

    status: Literal["sent", "retry", "failed"]
    error: str | None = None
    summary: str | None = None  # status and problem code only: what may be logged
    response: httpx.Response | None = None


def problem_code(response: httpx.Response) -> str:
    """The stable `code` of a problem+json answer ('' when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def outcome_of(call: Callable[[], httpx.Response]) -> Outcome:
    """Make one call and judge its answer, the same way for every outbox (CONTRACTS.md).

    2xx is sent, and so is a 409 for an idempotency key already used (the first call went
    through); no answer, a 5xx and the RETRY_STATUSES are tried again; any other 4xx is final.
    """
    try:
        response = call()
    except ServiceCallFailed as exc:
        return Outcome("retry", str(exc)[:500], "no answer")
    status, code = response.status_code, problem_code(response)
    if 200 <= status < 300 or (status == 409 and code == "idempotency_key_reused"):
        return Outcome("sent", response=response)
    summary = f"HTTP {status} {code}".rstrip()
    if status in RETRY_STATUSES:
        return Outcome("retry", summary, summary, response)
    return Outcome("failed", f"{summary}: {response.text[:300]}", summary, response)


def settle(row: OutboxRow, outcome: Outcome | None, *, now: datetime, max_attempts: int) -> None:
    """Record one try's outcome on its row (None: skipped, nothing was due any more).

    A retry waits its backoff; after `max_attempts` tries (counted at the claim) it fails.
    """
    if outcome is None:
        row.status, row.last_error = "skipped", None
    elif outcome.status == "sent":
        row.status, row.last_error, row.sent_at = "sent", None, now
    elif outcome.status == "retry" and row.attempts < max_attempts:
        row.last_error = outcome.error
        row.next_attempt_at = now + backoff(row.attempts)
    else:
        row.status, row.last_error = "failed", outcome.error
