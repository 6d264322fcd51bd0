"""Notify's tables. The service owns them; no other service reads them.

The outbox is the `messages` table: the API only writes rows, workers claim due rows
(`next_attempt_at <= now`), send them and record each try in `attempts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.auth import make_token_model
from shared.db import make_base, utcnow

Base = make_base()

ApiToken = make_token_model(Base)

CHANNELS = ("email", "sms", "webhook")
STATUSES = ("scheduled", "sending", "sent", "failed", "dead", "cancelled")
# Statuses an admin may put back in the queue (POST /messages/{id}/retry).
RETRYABLE = ("failed", "dead")
# Statuses a worker may still pick up: scheduled rows, and sending rows whose lease expired.
CLAIMABLE = ("scheduled", "sending")


class Message(Base):
    """One outgoing email, SMS or webhook call, from acceptance to its final status."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.String(2048))
    template: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="en")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    subject: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    text: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    html: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    event: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    payload: Mapped[Any | None] = mapped_column(sa.JSON, nullable=True)
    group: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="scheduled")
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When a worker may take the row next: send_at, then the retry time, or the lease end
    # while a worker holds it (so a killed worker's rows come back by themselves).
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempt_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    leased_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, unique=True)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    # Email Message-ID / webhook-id: the same on every retry so receivers can drop duplicates.
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # What the message is about, as the sender said (booking's ids): staff read the messages
    # of their own appointments by these.
    appointment_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    # When an admin last put the failed or dead message back in the queue.
    retried_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # An SMS's segments as sent (channels.sms_size: GSM-7 160/153, UCS-2 70/67); what it costs.
    segments: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="message", order_by="Attempt.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("channel in ('email', 'sms', 'webhook')", name="channel"),
        sa.CheckConstraint(
            "status in ('scheduled', 'sending', 'sent', 'failed', 'dead', 'cancelled')",
            name="status",
        ),
        sa.Index("ix_messages_due", "status", "next_attempt_at"),
    )

    @property
    def to(self) -> str:
        """The recipient, under the name the API uses."""
        return self.recipient


class Attempt(Base):
    """One try at delivering a message: when, whether it worked, and the error if not."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(sa.Boolean)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)

    message: Mapped[Message] = relationship(back_populates="attempts")


class WebhookEndpoint(Base):
    """A webhook receiver: its signing secret, and whether it told us to stop (410 Gone)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2048), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
