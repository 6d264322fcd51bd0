"""A client's personal data in notify: export it, erase it, and drop it after a retention period
(GDPR arts. 15, 17 and 5(1)(e); PIPEDA principles 4.5 and 4.9).

Which messages are the client's:
- addressed to the client: email to their address, SMS to one of their phone numbers (the
  numbers booking and consent know, passed in by the caller);
- about the client: sent by booking or consent about them (their idempotency keys, passed in
  by the caller) or carrying their address or numbers in the subject, body, data or payload
  (a staff notice, a billing email or webhook).

Erasure drops each such message's subject, bodies, template data, attachments, webhook payload
and error texts (an SMTP error can quote the address), and the error text of each attempt.
A message addressed to the client also gets its recipient replaced by a keyed hash
(`erased:<hmac>`; the secret key is needed to test a guess against it). A message still
scheduled (or leased to a worker) is cancelled: it has nothing left to send.
Kept: channel, template name, status, times and the number of attempts, so delivery figures
stay right. Nothing kept names the client.

Retention (`frontdesk worker retention-notify`, daily): messages in a final state (sent,
failed, dead, cancelled) created more than FRONTDESK_RETENTION_MESSAGE_DAYS ago are reduced
the same way, every recipient replaced by its keyed hash (0 keeps them forever).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notify.models import Attempt, Message
from shared.actors import Actor
from shared.db import reclaim_after_commit, utcnow
from shared.privacy import ERASED, ClientLookup, pseudonym
from shared.timestamps import utc_iso

log = logging.getLogger("frontdesk.notify.privacy")

FINAL = ("sent", "failed", "dead", "cancelled")
UNSENT = ("scheduled", "sending")
RETENTION_BATCH = 500
KEPT_WHY = (
    "Channel, template name, status, times and attempt count are kept without recipient or "
    "content, so delivery figures stay right."
)


def _mentions(value: str):
    """Messages whose subject, bodies, data or payload contain `value` (any case)."""
    columns = (Message.subject, Message.text, Message.html, Message.data, Message.payload)
    return sa.or_(
        *(
            sa.func.lower(sa.cast(column, sa.Text)).contains(value.lower(), autoescape=True)
            for column in columns
        )
    )


def _addressed_to(email: str | None, phones: Iterable[str]):
    matches = []
    if email:
        matches.append(
            sa.and_(
                Message.channel == "email",
                sa.func.lower(Message.recipient) == email.strip().lower(),
            )
        )
    phones = list(phones)
    if phones:
        matches.append(sa.and_(Message.channel == "sms", Message.recipient.in_(phones)))
    return sa.or_(*matches) if matches else sa.false()


def _sent_about(keys: Iterable[str]):
    # booking sends one intent as up to two messages keyed "<key>-0", "<key>-1" (billing)
    keys = list(keys)
    variants = [f"{key}-{n}" for key in keys for n in range(2)]
    return Message.idempotency_key.in_(keys + variants) if keys else sa.false()


def messages_of(
    *, session: Session, email: str | None, phones: Iterable[str] = (), keys: Iterable[str] = ()
) -> tuple[list[Message], list[Message]]:
    """(messages addressed to the client, other messages about the client), oldest first."""
    phones, keys = list(phones), list(keys)
    to_client = list(
        session.scalars(sa.select(Message).where(_addressed_to(email, phones)).order_by(Message.id))
    )
    seen = {m.id for m in to_client}
    about = sa.or_(_sent_about(keys), *(_mentions(v) for v in [email, *phones] if v))
    about_client = [
        m
        for m in session.scalars(sa.select(Message).where(about).order_by(Message.id))
        if m.id not in seen
    ]
    return to_client, about_client


def _message_view(message: Message, *, addressed_to_client: bool) -> dict[str, Any]:
    view = {
        "id": message.id,
        "channel": message.channel,
        "template": message.template,
        "locale": message.locale,
        "status": message.status,
        "created_at": utc_iso(message.created_at),
        "send_at": utc_iso(message.send_at),
        "sent_at": utc_iso(message.sent_at),
        "attempts": len(message.attempts),
    }
    if addressed_to_client:
        # Sent to the client: what they received is theirs; other people's replies are not.
        view |= {"to": message.recipient, "subject": message.subject}
    return view


def export_client(
    *, session: Session, client: ClientLookup, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Metadata of every message to or about a client (by email and/or phones, message keys).

    The client's own messages in full, the ones about them to others without the recipient
    or the content (other people's data).
    """
    to_client, about_client = messages_of(
        session=session, email=client.email, phones=client.phones, keys=client.message_keys
    )
    return {
        "service": "notify",
        "email": client.email,
        "phones": list(client.phones),
        "data": {
            "messages_to_client": [_message_view(m, addressed_to_client=True) for m in to_client],
            "messages_about_client_to_others": [
                _message_view(m, addressed_to_client=False) for m in about_client
            ],
        },
    }


def strip(*, session: Session, message: Message, recipient: str | None) -> bool:
    """Drop a message's content (and recipient, when given); cancel it if it is not sent yet.

    Returns whether it was cancelled.
    """
    cancelled = message.status in UNSENT
    if cancelled:
        message.status = "cancelled"
        message.lease_until = None
        message.leased_by = None
    if recipient is not None:
        message.recipient = recipient
    message.subject = message.text = message.html = None
    message.data = {}
    message.attachments = []
    message.payload = None
    message.last_error = None
    session.execute(
        sa.update(Attempt)
        .where(Attempt.message_id == message.id, Attempt.error.is_not(None))
        .values(error=None)
        .execution_options(synchronize_session=False)
    )
    return cancelled


def erase_client(
    *, session: Session, client: ClientLookup, actor: Actor, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Drop the content of a client's messages, hash their address, cancel unsent ones."""
    to_client, about_client = messages_of(
        session=session, email=client.email, phones=client.phones, keys=client.message_keys
    )
    secret = config["SECRET_KEY"]
    cancelled = 0
    for message in to_client:
        cancelled += strip(
            session=session, message=message, recipient=pseudonym(secret, message.recipient)
        )
    for message in about_client:
        cancelled += strip(session=session, message=message, recipient=None)
    session.flush()
    reclaim_after_commit(session)
    log.info(
        "client erased",
        extra={
            "message_ids": [m.id for m in to_client + about_client],
            "cancelled": cancelled,
            "actor": actor.label,
        },
    )
    return {
        "service": "notify",
        "erased": {
            "messages_to_client": len(to_client),
            "messages_about_client": len(about_client),
            "unsent_messages_cancelled": cancelled,
        },
        "kept": {"messages": len(to_client) + len(about_client)},
        "reasons": {"messages": KEPT_WHY},
    }


def apply_retention(
    *, session: Session, config: Any, now: datetime | None = None
) -> dict[str, int]:
    """Reduce final messages created more than RETENTION_MESSAGE_DAYS ago to their metadata."""
    reclaim_after_commit(session)
    days = config["RETENTION_MESSAGE_DAYS"]
    if days <= 0:
        return {"messages_reduced": 0}
    cutoff = (now or utcnow()) - timedelta(days=days)
    total = 0
    while True:
        due = session.scalars(
            sa.select(Message)
            .where(
                Message.created_at < cutoff,
                Message.status.in_(FINAL),
                ~Message.recipient.startswith(f"{ERASED}:"),
            )
            .order_by(Message.id)
            .limit(RETENTION_BATCH)
        ).all()
        for message in due:
            strip(
                session=session,
                message=message,
                recipient=pseudonym(config["SECRET_KEY"], message.recipient),
            )
        session.flush()
        total += len(due)
        if len(due) < RETENTION_BATCH:
            return {"messages_reduced": total}
