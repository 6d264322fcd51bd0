"""Notify's outbox: claim due messages under a lease, send them, record every attempt.

`deliver` is the step of `frontdesk worker notify` (services/notify/workers.py), run as its own
process or, by `frontdesk serve`, in a thread. Several workers may run at once: on PostgreSQL they claim disjoint rows with
FOR UPDATE SKIP LOCKED. A worker that dies leaves its rows leased; the lease ends and another
worker takes them again, with the same Message-ID / webhook-id so receivers can drop a repeat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify import channels, operations, rendering
from services.notify.models import Message, WebhookEndpoint
from shared.db import Database, utcnow
from shared.outbox import backoff

log = logging.getLogger("frontdesk.notify.outbox")

BATCH_SIZE = 50
LEASE_SECONDS = 120.0  # longer than a batch can take: 50 sends x 15 s SMTP timeout is the worst
MAX_ATTEMPTS = 8  # then `dead`
IDLE_SECONDS = 0.5


@dataclass(frozen=True)
class Outcome:
    """What one try at a message came to."""

    status: str  # sent | scheduled (retry) | failed | dead
    error: str | None = None
    retry_at: datetime | None = None
    disable_endpoint: bool = False  # the webhook receiver answered 410 Gone


def worker_name() -> str:
    """Who holds a lease: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def deliver(
    database: Database,
    clients: Any,
    settings: Mapping[str, Any],
    *,
    limit: int | None = None,
    now: datetime | None = None,
) -> int:
    """Claim and send one batch of due messages; returns how many were claimed.

    `now` lets tests move the clock forward (to reach a retry time or an expired lease).
    """
    limit = limit or BATCH_SIZE
    worker = worker_name()
    clock = now or utcnow()
    with database.transaction() as session:
        ids = operations.claim_due(
            session=session,
            now=clock,
            limit=limit,
            worker=worker,
            lease=timedelta(seconds=LEASE_SECONDS),
            max_attempts=MAX_ATTEMPTS,
        )
    if not ids:
        return 0
    with database.transaction() as session:
        messages = operations.load_claimed(session=session, ids=ids)
        endpoints = {
            m.recipient: operations.endpoint_for(session=session, url=m.recipient)
            for m in messages
            if m.channel == "webhook"
        }
    # Stop taking new sends while one could still finish before the lease ends; otherwise
    # another worker could take the row again and send it twice.
    margin = min(2 * channels.SMTP_TIMEOUT, LEASE_SECONDS / 2)
    deadline = time.monotonic() + LEASE_SECONDS - margin
    with channels.EmailSender(settings["SMTP_URL"]) as email_sender:
        for position, message in enumerate(messages):
            if time.monotonic() > deadline:
                with database.transaction() as session:
                    rest = [m.id for m in messages[position:]]
                    operations.release(session=session, ids=rest, worker=worker, now=utcnow())
                break
            endpoint = endpoints.get(message.recipient)
            outcome = _attempt(settings, message, email_sender, endpoint, now)
            at = now or utcnow()
            _record(database, message, worker, outcome, at)
            log.info(
                "message attempt",
                extra={
                    "message_id": message.id,
                    "channel": message.channel,
                    "status": outcome.status,
                    "attempt": message.attempt_count,
                },
            )
    return len(ids)


def _record(
    database: Database, message: Message, worker: str, outcome: Outcome, at: datetime
) -> None:
    """Record a try in its own transaction: a crash loses at most the one in flight.

    On PostgreSQL the usual case is one statement in autocommit, one round trip instead of
    five (BEGIN, lock, update, insert, COMMIT): it runs once per message sent.
    """
    attempt = {
        "message_id": message.id,
        "worker": worker,
        "now": at,
        "status": outcome.status,
        "error": outcome.error,
        "retry_at": outcome.retry_at,
    }
    if database.engine.dialect.name == "postgresql" and not outcome.disable_endpoint:
        with database.autocommit() as connection:
            operations.record_attempt_now(connection=connection, **attempt)
        return
    with database.transaction() as session:
        if outcome.disable_endpoint:
            operations.disable_endpoint(session=session, url=message.recipient, now=at)
        operations.record_attempt(session=session, **attempt)


def _attempt(
    settings: Mapping[str, Any],
    message: Message,
    email_sender: channels.EmailSender,
    endpoint: WebhookEndpoint | None,
    now: datetime | None,
) -> Outcome:
    """Render and send one message; never raises."""
    try:
        _send(settings, message, email_sender, endpoint)
    except channels.EndpointGone as exc:
        return Outcome("failed", str(exc), disable_endpoint=True)
    except channels.TransientError as exc:
        if message.attempt_count >= MAX_ATTEMPTS:
            return Outcome("dead", f"{exc} (gave up after {message.attempt_count} attempts)")
        delay = backoff(message.attempt_count, exc.retry_after)
        return Outcome("scheduled", str(exc), (now or utcnow()) + delay)
    except channels.PermanentError as exc:
        return Outcome("failed", str(exc))
    except Exception as exc:
        # A template that does not render, bad stored data: fail this message, keep working.
        log.exception("message failed before sending", extra={"message_id": message.id})
        return Outcome("failed", f"{type(exc).__name__}: {exc}")
    return Outcome("sent")


def _send(
    settings: Mapping[str, Any],
    message: Message,
    email_sender: channels.EmailSender,
    endpoint: WebhookEndpoint | None,
) -> None:
    """Send one message on its channel (templates are rendered here, at send time)."""
    reply_to = message.data.get("org_reply_to") or settings["REPLY_TO"]
    rendered = (
        rendering.render(
            template=message.template,
            locale=message.locale,
            data=message.data,
            can_reply=bool(reply_to),
        )
        if message.template
        else None
    )
    if message.channel == "email":
        email = channels.build_email(
            message_id=message.message_id,
            mail_from=channels.sender(settings["MAIL_FROM"], message.data.get("org_name")),
            reply_to=reply_to,
            to=message.recipient,
            subject=rendered.subject if rendered else message.subject or "",
            text=rendered.text if rendered else message.text,
            html=rendered.html if rendered else message.html,
            calendars=[
                channels.CalendarPart(a["method"], a.get("filename", "invite.ics"), a["content"])
                for a in message.attachments
            ],
        )
        email_sender.send(email)
    elif message.channel == "sms":
        channels.send_sms(
            url=settings["SMS_URL"],
            to=message.recipient,
            body=channels.sms_body(rendered.sms if rendered else message.text or ""),
            message_id=message.message_id,
        )
    else:
        if endpoint is None or endpoint.disabled_at is not None:
            raise channels.PermanentError("the webhook endpoint is disabled (it answered 410 Gone)")
        channels.send_webhook(
            url=message.recipient,
            secret=endpoint.secret,
            webhook_id=message.message_id,
            event=message.event or "",
            payload=message.payload,
            occurred_at=message.created_at,
            allow_private=settings["ALLOW_PRIVATE_WEBHOOKS"],
        )
