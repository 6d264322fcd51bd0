"""The console's tables: sign-in links and sessions (by hash only), and its outbox.

The console holds no domain data: appointments, clients, consents and messages stay in the
services, read through their APIs with the signed-in person's token. What is here is who is
signed in, and the calls (revocations, emails) that must reach a service even if it is down.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.auth import make_token_model
from shared.db import make_base, utcnow
from shared.outbox import OutboxRow

Base = make_base()

# The suite's service and admin tokens are stored here as in every service (the console
# itself serves no API but /health).
ApiToken = make_token_model(Base)

PURPOSES = ("sign_in", "invitation")
ROLES = ("staff", "admin")


class SignInLink(Base):
    """A single-use link emailed to a staff member: a sign-in (15 minutes) or an invitation."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16), default="sign_in")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (sa.CheckConstraint("purpose in ('sign_in', 'invitation')", name="purpose"),)


class ConsoleSession(Base):
    """A signed-in person: the cookie holds the token, registered at the three services too."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    # Booking's name and zone when the person signed in (shown in the header, used for times).
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (sa.CheckConstraint("role in ('staff', 'admin')", name="role"),)


class OutboxItem(OutboxRow, Base):
    """A call to a service (a token registration's undo, a revocation, an email), kept until
    it is delivered."""

    __tablename__ = "outbox_items"

    target: Mapped[str] = mapped_column(sa.String(16))  # "booking" | "consent" | "notify"
    path: Mapped[str] = mapped_column(sa.String(300))
    # Emails carry a sign-in link: the body is dropped once the message reached notify.
    body: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)

    __table_args__ = (
        sa.Index("ix_outbox_items_status_next_attempt_at", "status", "next_attempt_at"),
    )


class SummaryOptOut(Base):
    """A staff member who asked for no weekly summary email (a console preference: only the
    console sends that email, so the setting lives here and not on booking's staff record)."""

    __tablename__ = "summary_opt_outs"

    staff_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SummarySent(Base):
    """A weekly summary notify accepted, by staff member and ISO week ("2026-W49"): the worker
    skips them. Notify's idempotency key (the same pair) is what makes it once per week even
    when two workers race; this row only saves the calls after that."""

    __tablename__ = "summaries_sent"

    staff_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    week: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
