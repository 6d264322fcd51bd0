"""The outbox's operations: accept messages, list and cancel them, claim due ones, record tries.

Plain functions with the session passed in; they flush, never commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from services.notify import channels, rendering
from services.notify.errors import EndpointNotFound, MessageNotFound, MessageNotRetryable
from services.notify.models import CLAIMABLE, RETRYABLE, Attempt, Message, WebhookEndpoint
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.idempotency import check_replay

MAX_ID = 2**31 - 1


def new_message_id(*, channel: str, mail_from: str) -> str:
    """A unique id receivers can deduplicate on: an RFC 5322 Message-ID for email."""
    token = uuid.uuid4().hex
    if channel == "email":
        domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
        return f"<{token}@{domain}>"
    return f"msg_{token}"


def sms_segments(fields: dict[str, Any]) -> int | None:
    """How many segments an SMS takes as it will be sent (a template renders the same then);
    None when its template does not render (the worker fails the message and says why)."""
    if fields.get("template"):
        try:
            text = rendering.render(
                template=fields["template"],
                locale=fields.get("locale") or "en",
                data=fields.get("data") or {},
            ).sms
        except Exception:
            return None
    else:
        text = fields.get("text") or ""
    return channels.sms_size(channels.sms_body(text)).segments


def create_message(
    *,
    session: Session,
    fields: dict[str, Any],
    idempotency_key: str | None,
    fingerprint: str,
    mail_from: str,
) -> tuple[Message, bool]:
    """Store a message to send; returns (message, created).

    With an idempotency key already used for the same body the first message comes back
    (created False); a different body raises IdempotencyKeyReused (409).
    """
    # No lookup before the insert: the unique key refuses a second row, and only then is the
    # first one read (a replay costs a failed insert; a new message one round trip less).
    if fields["channel"] == "webhook":
        upsert_endpoint(session=session, url=fields["to"], secret=fields.get("webhook_secret"))
    send_at = fields.get("send_at") or utcnow()
    values = {
        "channel": fields["channel"],
        "recipient": fields["to"],
        "template": fields.get("template"),
        "locale": fields.get("locale") or "en",
        "data": fields.get("data") or {},
        "subject": fields.get("subject"),
        "text": fields.get("text"),
        "html": fields.get("html"),
        "attachments": fields.get("attachments") or [],
        "event": fields.get("event"),
        "payload": fields.get("payload"),
        "group": fields.get("group"),
        "status": "scheduled",
        "send_at": send_at,
        "next_attempt_at": send_at,
        "attempt_count": 0,
        "lease_until": None,
        "leased_by": None,
        "idempotency_key": idempotency_key,
        "fingerprint": fingerprint if idempotency_key is not None else None,
        "message_id": new_message_id(channel=fields["channel"], mail_from=mail_from),
        "created_at": utcnow(),
        "sent_at": None,
        "last_error": None,
        "appointment_id": fields.get("appointment_id"),
        "staff_id": fields.get("staff_id"),
        "retried_at": None,
        "segments": sms_segments(fields) if fields["channel"] == "sms" else None,
    }
    try:
        # No attempts yet: set, so the answer needs no query for them.
        message = Message(**values, attempts=[])
        session.add(message)
        session.flush()
    except IntegrityError:
        # The key was used before (a replay, or another request won the race). Nothing else
        # written in this transaction is kept for a replay, so roll it back and answer with the
        # first message.
        session.rollback()
        existing = _by_idempotency_key(session, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        check_replay(existing.fingerprint or "", fingerprint)
        return existing, False
    return message, True


def _by_idempotency_key(session: Session, key: str) -> Message | None:
    return session.scalar(
        sa.select(Message)
        .where(Message.idempotency_key == key)
        .options(selectinload(Message.attempts))
    )


def upsert_endpoint(*, session: Session, url: str, secret: str | None) -> WebhookEndpoint:
    """The endpoint for a URL, created or given the new secret; a secret is needed the first time."""
    endpoint = session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.url == url))
    if endpoint is None:
        if secret is None:
            raise ValidationFailed(
                "This webhook URL is new: send its signing secret.",
                errors={"webhook_secret": ["Required the first time a URL is used."]},
            )
        endpoint = WebhookEndpoint(url=url, secret=secret)
        try:
            with session.begin_nested():
                session.add(endpoint)
                session.flush()
        except IntegrityError:
            endpoint = session.scalars(
                sa.select(WebhookEndpoint).where(WebhookEndpoint.url == url)
            ).one()
    if secret is not None and endpoint.secret != secret:
        endpoint.secret = secret
        session.flush()
    return endpoint


def get_message(*, session: Session, message_id: int) -> Message:
    """One message with its attempts, or MessageNotFound."""
    if not 0 < message_id <= MAX_ID:  # ids past the column's range cannot exist
        raise MessageNotFound(f"Message {message_id} does not exist.")
    message = session.scalar(
        sa.select(Message).where(Message.id == message_id).options(selectinload(Message.attempts))
    )
    if message is None:
        raise MessageNotFound(f"Message {message_id} does not exist.")
    return message


def list_messages(
    *,
    session: Session,
    limit: int,
    group: str | None = None,
    status: str | None = None,
    template: str | None = None,
    appointment_ids: list[int] | None = None,
    staff_id: int | None = None,
) -> list[Message]:
    """Messages, oldest first, filtered by group, status, template, appointments and staff member."""
    query = sa.select(Message).options(selectinload(Message.attempts)).order_by(Message.id)
    if group is not None:
        query = query.where(Message.group == group)
    if status is not None:
        query = query.where(Message.status == status)
    if template is not None:
        query = query.where(Message.template == template)
    if appointment_ids is not None:
        query = query.where(Message.appointment_id.in_(appointment_ids))
    if staff_id is not None:
        query = query.where(Message.staff_id == staff_id)
    return list(session.scalars(query.limit(limit)))


def retry_message(*, session: Session, message_id: int, now: datetime) -> Message:
    """Put a failed or dead message back in the queue, due now (MessageNotRetryable otherwise).

    A repeat while the re-queued message waits for its next try changes nothing and answers the
    same. It keeps its attempt count: a dead message gets one more try, not a new series.
    """
    message = get_message(session=session, message_id=message_id)
    if message.status in ("scheduled", "sending") and message.retried_at is not None:
        return message
    if message.status not in RETRYABLE:
        raise MessageNotRetryable(
            f"Message {message_id} is {message.status}: only failed or dead messages are retried."
        )
    message.status = "scheduled"
    message.next_attempt_at = now
    message.lease_until = None
    message.leased_by = None
    message.retried_at = now
    session.flush()
    return message


def cancel_group(*, session: Session, group: str) -> int:
    """Cancel the group's messages that no worker has taken yet; returns how many."""
    result = session.execute(
        sa.update(Message)
        .where(Message.group == group, Message.status == "scheduled")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount or 0


def claim_due(
    *,
    session: Session,
    now: datetime,
    limit: int,
    worker: str,
    lease: timedelta,
    max_attempts: int,
) -> list[int]:
    """Lease up to `limit` due messages to `worker`; returns their ids.

    The claim of `shared.outbox.claim` (SKIP LOCKED, the lease kept in `next_attempt_at`) as
    two bulk UPDATEs on ids, which delivery's throughput needs, and with a dead letter: a row
    whose lease ran out `max_attempts` times (a message that kills its worker) is
    marked dead instead of being taken once more.
    """
    rows = session.execute(
        sa.select(Message.id, Message.status, Message.attempt_count)
        .where(Message.status.in_(CLAIMABLE), Message.next_attempt_at <= now)
        .order_by(Message.next_attempt_at, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    lost = [r.id for r in rows if r.status == "sending" and r.attempt_count >= max_attempts]
    ids = [r.id for r in rows if r.id not in lost]
    if lost:
        session.execute(
            sa.update(Message)
            .where(Message.id.in_(lost))
            .values(
                status="dead",
                lease_until=None,
                last_error=f"no worker finished sending it in {max_attempts} attempts",
            )
            .execution_options(synchronize_session=False)
        )
    if ids:
        session.execute(
            sa.update(Message)
            .where(Message.id.in_(ids))
            .values(
                status="sending",
                leased_by=worker,
                lease_until=now + lease,
                next_attempt_at=now + lease,
                attempt_count=Message.attempt_count + 1,
            )
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return ids


def release(*, session: Session, ids: list[int], worker: str, now: datetime) -> None:
    """Hand back leased messages this worker did not get to try (they are due again now)."""
    session.execute(
        sa.update(Message)
        .where(Message.id.in_(ids), Message.leased_by == worker, Message.status == "sending")
        .values(
            status="scheduled",
            lease_until=None,
            next_attempt_at=now,
            attempt_count=Message.attempt_count - 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()


def load_claimed(*, session: Session, ids: list[int]) -> list[Message]:
    """The claimed messages, in claim order."""
    rows = {m.id: m for m in session.scalars(sa.select(Message).where(Message.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def endpoint_for(*, session: Session, url: str) -> WebhookEndpoint | None:
    """The stored endpoint of a webhook URL."""
    return session.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.url == url))


def list_endpoints(*, session: Session) -> list[WebhookEndpoint]:
    """Every webhook endpoint, by id."""
    return list(session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def enable_endpoint(*, session: Session, endpoint_id: int) -> WebhookEndpoint:
    """Send to an endpoint again after it answered 410 Gone (its receiver is back).

    Messages that failed while it was disabled stay failed: their callers decided what to do
    then; new messages go out again.
    """
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id <= MAX_ID else None
    if endpoint is None:
        raise EndpointNotFound(f"Webhook endpoint {endpoint_id} does not exist.")
    endpoint.disabled_at = None
    session.flush()
    return endpoint


def disable_endpoint(*, session: Session, url: str, now: datetime) -> None:
    """Stop sending to an endpoint that answered 410 Gone."""
    endpoint = endpoint_for(session=session, url=url)
    if endpoint is not None and endpoint.disabled_at is None:
        endpoint.disabled_at = now
        session.flush()


def record_attempt(
    *,
    session: Session,
    message_id: int,
    worker: str,
    now: datetime,
    status: str,
    error: str | None,
    retry_at: datetime | None = None,
) -> None:
    """Record one try and the message's new status (`sent`, `scheduled` to retry, `failed`, `dead`).

    The status only changes while `worker` still holds the lease: a worker that outlived its
    lease only adds its attempt to the history.
    """
    message = session.get(Message, message_id, with_for_update=True)
    if message is None:
        return
    session.add(Attempt(message_id=message_id, at=now, ok=status == "sent", error=error))
    if message.status == "sending" and message.leased_by == worker:
        message.status = status
        message.lease_until = None
        if status == "sent":
            message.sent_at = now
            message.last_error = None
        else:
            message.last_error = error
        if status == "scheduled" and retry_at is not None:
            message.next_attempt_at = retry_at
    session.flush()


def record_attempt_now(
    *,
    connection: sa.Connection,
    message_id: int,
    worker: str,
    now: datetime,
    status: str,
    error: str | None,
    retry_at: datetime | None = None,
) -> None:
    """record_attempt as one statement on an autocommit connection (PostgreSQL): one round trip.

    The UPDATE and the INSERT of its CTE commit together or not at all; the UPDATE locks the
    row whenever it exists, so the attempt always has its message.
    """
    holds = sa.and_(Message.status == "sending", Message.leased_by == worker)

    def leased(value: Any, column: sa.ColumnElement) -> sa.ColumnElement:
        new = sa.null() if value is None else sa.literal(value, column.type)
        return sa.case((holds, new), else_=column)

    changes: dict[str, Any] = {
        "status": leased(status, Message.status),
        "lease_until": leased(None, Message.lease_until),
        "last_error": leased(None if status == "sent" else error, Message.last_error),
    }
    if status == "sent":
        changes["sent_at"] = leased(now, Message.sent_at)
    if status == "scheduled" and retry_at is not None:
        changes["next_attempt_at"] = leased(retry_at, Message.next_attempt_at)
    moved = (
        sa.update(Message)
        .where(Message.id == message_id)
        .values(**changes)
        .returning(Message.id)
        .cte("moved")
    )
    connection.execute(
        sa.insert(Attempt).from_select(
            ["message_id", "at", "ok", "error"],
            sa.select(
                moved.c.id,
                sa.literal(now, Attempt.at.type),
                sa.literal(status == "sent"),
                sa.literal(error, Attempt.error.type),
            ),
        )
    )
