"""Consent's tables. The service owns them; no other service reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.auth import make_token_model
from shared.db import make_base, utcnow
from shared.outbox import OutboxRow

Base = make_base()

ApiToken = make_token_model(Base)

# Ids fit a 32-bit integer column; larger ones in a URL are simply not found.
MAX_ID = 2**31 - 1

REQUEST_STATUSES = ("pending", "signed", "declined", "expired", "withdrawn")
EVENT_KINDS = (
    "created",
    "sent",
    "link_resent",
    "viewed",
    "disclosure_accepted",
    "signed",
    "declined",
    "downloaded",
    "withdrawn",
    "verbal_attested",
    "expired",
)


class FormTemplate(Base):
    """A consent form; its content lives in immutable versions."""

    __tablename__ = "form_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(nullable=True)

    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="template", order_by="FormVersion.number"
    )

    @property
    def current_version(self) -> FormVersion:
        return self.versions[-1]


class FormVersion(Base):
    """One published, never-changed version of a form: per-locale text, checkboxes, fields."""

    __tablename__ = "form_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("form_templates.id"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    # {"locales": {"en": {"title", "body", "checkboxes": {key: label}, "fields": {key: label}}},
    #  "checkboxes": [{"key", "required"}], "fields": [{"key", "max_length"}], "validity_days"}
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # Sanitized HTML of each locale's body, derived once from the Markdown at publication.
    body_html: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    validity_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[FormTemplate] = relationship(back_populates="versions")

    __table_args__ = (
        sa.UniqueConstraint("template_id", "number", name="uq_form_versions_template_id_number"),
    )


class ConsentRequest(Base):
    """A request for one client to consent to one form version, answered through a link."""

    __tablename__ = "consent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("form_versions.id"), index=True)
    client_name: Mapped[str] = mapped_column(sa.String(200))
    # None for a phone-only client (client_phone is then set).
    client_email: Mapped[str | None] = mapped_column(sa.String(320), nullable=True, index=True)
    client_phone: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    # How the client hears from us: email, sms (to client_phone) or both.
    notify_by: Mapped[str] = mapped_column(sa.String(8), server_default="email", default="email")
    locale: Mapped[str] = mapped_column(sa.String(5))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    appointment_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # With the secret key, derives the signing token (so an idempotent replay can return it).
    token_salt: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    verbal: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), nullable=True, unique=True)
    idempotency_fingerprint: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)

    version: Mapped[FormVersion] = relationship()
    events: Mapped[list[AuditEvent]] = relationship(
        back_populates="request", order_by="AuditEvent.sequence"
    )
    record: Mapped[ConsentRecord | None] = relationship(back_populates="request")

    __table_args__ = (
        sa.CheckConstraint(
            "status in ('pending', 'signed', 'declined', 'expired', 'withdrawn')", name="status"
        ),
        sa.CheckConstraint("notify_by in ('email', 'sms', 'both')", name="notify_by"),
    )

    @property
    def channels(self) -> list[tuple[str, str]]:
        """(channel, recipient) of every message to the client, as they chose (email first)."""
        found = []
        if self.notify_by in ("email", "both") and self.client_email:
            found.append(("email", self.client_email))
        if self.notify_by in ("sms", "both") and self.client_phone:
            found.append(("sms", self.client_phone))
        return found


class AuditEvent(Base):
    """One step of a request's story, hash-chained to the step before it."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_requests.id"), index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(32))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    timezone: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(400), nullable=True)
    locale: Mapped[str | None] = mapped_column(sa.String(5), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    request: Mapped[ConsentRequest] = relationship(back_populates="events")

    __table_args__ = (
        sa.UniqueConstraint("request_id", "sequence", name="uq_audit_events_request_id_sequence"),
    )


class ConsentRecord(Base):
    """The signed PDF of a consent (and, after a withdrawal, its signed incremental update)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_requests.id"), unique=True)
    # What the client answered: checkboxes, fields, typed name, signer, evidence of the signature.
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # SHA-256 of the evidence document (evidence.json, attached to the PDF and printed on it);
    # the column keeps its first name, "document_sha256".
    evidence_sha256: Mapped[str] = mapped_column("document_sha256", sa.String(64))
    # SHA-256 of the PDF as first signed, and of the current file (a withdrawal changes it).
    signed_file_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    current_file_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    signed_at: Mapped[datetime]
    valid_until: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.String(1000), nullable=True)

    request: Mapped[ConsentRequest] = relationship(back_populates="record")


class DownloadLink(Base):
    """An expiring link to download one record."""

    __tablename__ = "download_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("consent_records.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxItem(OutboxRow, Base):
    """A call to another service (notify, booking) kept until it is delivered."""

    __tablename__ = "outbox_items"

    target: Mapped[str] = mapped_column(sa.String(16))  # "notify" | "booking"
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(300))
    # The JSON body; booking status updates are built at delivery time from the request.
    body: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consent_requests.id"), nullable=True, index=True
    )
    # An audit event to record once delivered (e.g. "sent" for the signing link).
    event_on_delivery: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)

    __table_args__ = (
        sa.Index("ix_outbox_items_status_next_attempt_at", "status", "next_attempt_at"),
    )
