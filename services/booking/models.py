"""Booking's tables. The service owns them; no other service reads them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.auth import make_token_model
from shared.db import make_base, utcnow
from shared.languages import LANGUAGES
from shared.outbox import OutboxRow

Base = make_base()

ApiToken = make_token_model(Base)

MODES = ("video", "phone", "in_person")
ACTIVE_STATUSES = ("confirmed",)
STATUSES = ("confirmed", "cancelled", "completed", "no_show")
OUTCOMES = ("resolved", "follow_up_needed", "referred", "other")
CONSENT_STATUSES = ("pending", "signed", "declined", "expired", "withdrawn")
# How the client hears from us: by email, by SMS (to client_phone), or both.
NOTIFY_BY = ("email", "sms", "both")
# The furthest ahead any service may take bookings. Staff feeds and the busy time read from
# staff members' own calendars reach past it, so a booking at any service's horizon is in the
# feed and is checked against the staff member's calendar.
MAX_HORIZON_DAYS = 730


class Staff(Base):
    """A person clients meet: caseworker, counsellor, technician."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(320))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The same meeting room every time; "{uid}" / "{id}" are filled per appointment if present.
    video_link_template: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    dial_in: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    # 'admin' runs the console's setup; an admin with no services is never offered to clients.
    role: Mapped[str] = mapped_column(sa.String(16), default="staff", server_default="staff")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Read on the staff record only (loaded when asked for, never by the slot search).
    calendars: Mapped[list[ExternalCalendar]] = relationship(
        viewonly=True, order_by="ExternalCalendar.id"
    )

    __table_args__ = (sa.CheckConstraint("role in ('staff', 'admin')", name="role"),)

    @property
    def language(self) -> str:
        """The first of the staff member's languages that the suite speaks (else English)."""
        return next((code for code in self.languages or [] if code in LANGUAGES), "en")

    @property
    def calendar_problems(self) -> list[dict]:
        """The external calendars whose last fetch failed: shown on the staff record, so the
        staff member learns that their busy time may be stale (their last good blocks stay)."""
        return [
            {
                "calendar_id": calendar.id,
                "name": calendar.name,
                "error": calendar.last_error,
                "last_fetched_at": calendar.last_fetched_at,
                "last_ok_at": calendar.last_ok_at,
            }
            for calendar in self.calendars
            if calendar.last_error
        ]


service_staff = sa.Table(
    "service_staff",
    Base.metadata,
    sa.Column("service_id", sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("staff_id", sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
)


@dataclasses.dataclass(frozen=True)
class ServiceText:
    """What a client reads of a service, in one language."""

    name: str
    description: str
    resources: list[dict[str, Any]]
    join_instructions: str
    access_notes: str


class Service(Base):
    """An appointment type clients can book."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    duration_minutes: Mapped[int] = mapped_column(sa.Integer)
    modes: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["video"])
    location: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    buffer_before_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    min_notice_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    horizon_days: Mapped[int] = mapped_column(sa.Integer, default=60)
    slot_step_minutes: Mapped[int] = mapped_column(sa.Integer, default=15)
    capacity: Mapped[int] = mapped_column(sa.Integer, default=1)
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [1440, 60])
    resources: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # How to join a video or phone appointment, and how to reach the address of an in-person
    # one (entrance, step-free access, floor): plain text shown to the client beside the link
    # or the address, in the confirmation, the reminders and the invite.
    join_instructions: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    access_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The client-facing text in other languages: {"fr": {"name", "description", "resources",
    # "join_instructions", "access_notes"}}. The fields above are in the organization's default
    # language and are what a language without a version (or a version missing a field) falls
    # back to.
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(
        sa.JSON, default=dict, server_default="{}"
    )
    required_consent_template_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    # Staff may read the consent forms out and record the client's consent (clients we only
    # text are told so instead of getting a signing link).
    verbal_consent: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    listed: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    staff: Mapped[list[Staff]] = relationship(
        secondary=service_staff, order_by=lambda: Staff.id, lazy="selectin"
    )

    def text_in(self, language: str) -> ServiceText:
        """The client-facing name, description, resources, join instructions and access notes in
        a language, each falling back to the default language's when that language has no
        version of it."""
        versions = self.translations or {}
        base = language.replace("_", "-").split("-")[0]  # "fr-CA" and "fr_CA" read "fr"
        version = versions.get(language) or versions.get(base) or {}
        return ServiceText(
            name=version.get("name") or self.name,
            description=version.get("description") or self.description or "",
            resources=list(version.get("resources") or self.resources or []),
            join_instructions=version.get("join_instructions") or self.join_instructions or "",
            access_notes=version.get("access_notes") or self.access_notes or "",
        )

    __table_args__ = (
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
        sa.CheckConstraint("slot_step_minutes > 0", name="slot_step_positive"),
    )


class AvailabilityRule(Base):
    """A weekly working window of a staff member, in the staff member's own time zone."""

    __tablename__ = "availability_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(sa.Integer)  # 0 = Monday (date.weekday())
    start_time: Mapped[time] = mapped_column(sa.Time)
    end_time: Mapped[time] = mapped_column(sa.Time)

    __table_args__ = (
        sa.CheckConstraint("weekday between 0 and 6", name="weekday_range"),
        sa.CheckConstraint("end_time > start_time", name="end_after_start"),
    )


class AvailabilityException(Base):
    """A date that differs from the weekly rules: a day (or hours) off, or extra hours."""

    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(8))  # off | extra
    # Both null on an 'off' exception: the whole day is off.
    start_time: Mapped[time | None] = mapped_column(sa.Time, nullable=True)
    end_time: Mapped[time | None] = mapped_column(sa.Time, nullable=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    __table_args__ = (sa.CheckConstraint("kind in ('off', 'extra')", name="kind"),)


class BusyBlock(Base):
    """Time a staff member is busy elsewhere (their own calendar); never offered as a slot."""

    __tablename__ = "busy_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(sa.String(200), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.Index("ix_busy_blocks_staff_start", "staff_id", "start"),)


class Appointment(Base):
    """A booked session between one client and one staff member."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(100), unique=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("services.id"))
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id"))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    # start/end widened by the service's buffers: what no other appointment may overlap.
    blocked_start: Mapped[datetime] = mapped_column()
    blocked_end: Mapped[datetime] = mapped_column()
    # True when the service had capacity 1: the PostgreSQL exclusion constraint applies.
    exclusive: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="confirmed")
    mode: Mapped[str] = mapped_column(sa.String(16))
    video_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    client_name: Mapped[str] = mapped_column(sa.String(200))
    # As typed: where mail goes. None for a phone-only client (client_phone is then set).
    client_email: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    # shared.email_addresses.mailbox_key of it ("" without one): what per-client limits compare.
    client_email_key: Mapped[str] = mapped_column(sa.String(320), server_default="")
    client_phone: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # E.164
    notify_by: Mapped[str] = mapped_column(sa.String(8), server_default="email", default="email")
    client_language: Mapped[str] = mapped_column(sa.String(16), default="en")
    client_time_zone: Mapped[str] = mapped_column(sa.String(64))
    backup_callback_number: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    backup_use_dial_in: Mapped[bool] = mapped_column(default=False)
    accommodation_captions: Mapped[bool] = mapped_column(default=False)
    accommodation_interpreter_language: Mapped[str | None] = mapped_column(
        sa.String(64), nullable=True
    )
    accommodation_other: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    client_notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    staff_notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, default=0)
    manage_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True, nullable=True)
    idempotency_fingerprint: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    follow_up_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointments.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    service: Mapped[Service] = relationship(lazy="joined")
    staff: Mapped[Staff] = relationship(lazy="joined")
    consents: Mapped[list[AppointmentConsent]] = relationship(
        back_populates="appointment",
        order_by=lambda: AppointmentConsent.id,
        lazy="selectin",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.CheckConstraint(
            "status in ('confirmed', 'cancelled', 'completed', 'no_show')", name="status"
        ),
        sa.CheckConstraint("mode in ('video', 'phone', 'in_person')", name="mode"),
        sa.CheckConstraint("notify_by in ('email', 'sms', 'both')", name="notify_by"),
        sa.CheckConstraint("blocked_end > blocked_start", name="blocked_range"),
        sa.Index("ix_appointments_staff_blocked", "staff_id", "blocked_start", "blocked_end"),
        sa.Index("ix_appointments_created_at", "created_at"),
        # The daily cap per email address counts that address's bookings of the last 24 hours
        # (on every booking); the privacy export and erasure find a client by address too.
        sa.Index(
            "ix_appointments_client_email_lower", sa.text("lower(client_email)"), "created_at"
        ),
        # The daily cap and the one-seat-per-group-session rule go by the mailbox key.
        sa.Index("ix_appointments_client_email_key", "client_email_key", "created_at"),
        # ... and by phone number, for clients who book with a phone number (with or without email).
        sa.Index("ix_appointments_client_phone", "client_phone", "created_at"),
    )

    @property
    def accommodations(self) -> dict[str, Any]:
        """Captions, interpreter language and other needs, as one object."""
        return {
            "captions": self.accommodation_captions,
            "interpreter_language": self.accommodation_interpreter_language,
            "other": self.accommodation_other,
        }

    @property
    def by_email(self) -> bool:
        """The client hears from us by email (they chose it and gave an address)."""
        return self.notify_by in ("email", "both") and bool(self.client_email)

    @property
    def by_sms(self) -> bool:
        """The client hears from us by SMS (they chose it and gave a phone number)."""
        return self.notify_by in ("sms", "both") and bool(self.client_phone)

    @property
    def backup(self) -> dict[str, Any]:
        """The backup phone plan: the client's callback number and/or the staff dial-in."""
        return {
            "callback_number": self.backup_callback_number,
            "dial_in": self.staff.dial_in if self.backup_use_dial_in else None,
            "use_dial_in": self.backup_use_dial_in,
        }

    @property
    def consent_status(self) -> str:
        """none | pending | complete | withdrawn, over the forms this appointment needs."""
        required = set(self.service.required_consent_template_ids or [])
        if not required and not self.consents:
            return "none"
        if any(c.status == "withdrawn" for c in self.consents):
            return "withdrawn"
        signed = {c.template_id for c in self.consents if c.status == "signed"}
        wanted = required | {c.template_id for c in self.consents}
        return "complete" if wanted <= signed else "pending"


class AppointmentEvent(Base):
    """One entry of an appointment's audit history: who did what, when."""

    __tablename__ = "appointment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(64))  # client | staff:3 | admin | service
    action: Mapped[str] = mapped_column(sa.String(32))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class AppointmentConsent(Base):
    """A consent request (owned by the consent service) tied to an appointment, and its status."""

    __tablename__ = "appointment_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="CASCADE")
    )
    request_id: Mapped[int] = mapped_column(sa.Integer)
    template_id: Mapped[int] = mapped_column(sa.Integer)
    form_title: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    signing_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    appointment: Mapped[Appointment] = relationship(back_populates="consents")

    __table_args__ = (
        sa.UniqueConstraint("appointment_id", "request_id", name="uq_appointment_consents_request"),
        sa.CheckConstraint(
            "status in ('pending', 'signed', 'declined', 'expired', 'withdrawn')", name="status"
        ),
    )


class OutboxIntent(OutboxRow, Base):
    """A message to send, written in the same transaction as the change that causes it."""

    __tablename__ = "booking_outbox"

    appointment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_booking_outbox_status_id", "status", "id"),)


# No two active exclusive appointments of one staff member overlap, buffers included: enforced by
# PostgreSQL itself (the row lock in appointments.book is the first line; this is the backstop).
EXCLUSION_CONSTRAINT = "ex_appointments_no_overlap"
_EXCLUSION_DDL = sa.DDL(
    "CREATE EXTENSION IF NOT EXISTS btree_gist; "
    f"ALTER TABLE appointments ADD CONSTRAINT {EXCLUSION_CONSTRAINT} EXCLUDE USING gist "
    "(staff_id WITH =, tstzrange(blocked_start, blocked_end, '[)') WITH &&) "
    "WHERE (status = 'confirmed' AND exclusive)"
)
sa.event.listen(
    Appointment.__table__, "after_create", _EXCLUSION_DDL.execute_if(dialect="postgresql")
)


class FeedToken(Base):
    """The secret of one iCal feed URL (stored hashed): a staff member's feed or the team feed.

    `owner` is "staff:<id>" or "team": one live token per feed, so rotating replaces it.
    """

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(32), unique=True)
    staff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedVersion(Base):
    """How far a staff member's calendar has changed: the validators of feeds and slot searches.

    `version` grows by one with every recorded appointment change (cancellations included) and
    `changed_at` only moves forward, a second at least per change, so ETag and Last-Modified
    never go back. `availability_version` grows with those and with every change to the staff
    member's rules, date exceptions and busy blocks: the slot search cache's key.
    """

    __tablename__ = "feed_versions"

    staff_id: Mapped[int] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    availability_version: Mapped[int] = mapped_column(
        sa.Integer, default=1, server_default=sa.text("1")
    )


class ExternalCalendar(Base):
    """A staff member's own calendar (an ICS "secret address") whose events are busy time."""

    __tablename__ = "external_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    # A secret: whoever has it reads the calendar. Never returned whole by the API, never logged.
    url: Mapped[str] = mapped_column(sa.String(2048))
    etag: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    last_fetched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    # When the busy blocks were last expanded from a full body (a 304 keeps them as they are).
    expanded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    busy_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_fetch_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def url_hint(self) -> str:
        """What may be shown of the secret URL: its scheme and host."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}/…"


class Organization(Base):
    """The organization's own profile (one row, id 1): who clients are dealing with and how to
    reach it, shown on every page, email, SMS, record and invite. Until an admin saves it, the
    settings (FRONTDESK_ORG_NAME, FRONTDESK_REPLY_TO) stand in for it."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    address: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    # Free text per language ({"en": "Mon-Fri 9:00-17:00", "ar": "..."}): each language writes
    # its days and times its own way, right to left included; missing ones fall back to the
    # default language's text.
    hours: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    reply_to: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    default_language: Mapped[str] = mapped_column(sa.String(16), default="en")
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    logo_sha256: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


class FaqEntry(Base):
    """A question and its answer the organization publishes in one language (the help center).

    Searched with the database's full-text search, which lives in the migrations only (each
    dialect its own): SQLite's FTS5 table `faq_entries_fts` kept by triggers, PostgreSQL's
    generated column `search_fts` (the tsvector in the language's configuration) and its GIN index.
    """

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(16))
    question: Mapped[str] = mapped_column(sa.String(300))
    answer: Mapped[str] = mapped_column(sa.Text)
    # Entries are listed by position, then by id (lowest first).
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("ix_faq_entries_language_position", "language", "position"),)


class Question(Base):
    """'Ask us': a client's question and the answers to it, read by the client behind a token.

    The token is derived from `uid` with the secret key (like manage tokens) and only its
    SHA-256 is stored: answers can carry the link, a copy of the database alone opens nothing.
    """

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Asked from a manage page: tied to that appointment (its staff member answers).
    appointment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    client_name: Mapped[str] = mapped_column(sa.String(200), default="")
    client_email: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    client_phone: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # E.164
    # Who asked, for the daily limits: the address's mailbox key, else the phone number.
    contact_key: Mapped[str | None] = mapped_column(sa.String(320), nullable=True)
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    # open: waiting for staff; answered; closed: staff ended the thread (spam, handled by phone).
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    appointment: Mapped[Appointment | None] = relationship()
    messages: Mapped[list[QuestionMessage]] = relationship(
        order_by="QuestionMessage.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("status in ('open', 'answered', 'closed')", name="status"),
        sa.Index("ix_questions_status_id", "status", "id"),
        # The answered and closed lists, a page at a time, the most recently updated first.
        sa.Index("ix_questions_status_updated_at_id", "status", "updated_at", "id"),
        sa.Index("ix_questions_contact_key_created_at", "contact_key", "created_at"),
    )


class QuestionMessage(Base):
    """One message of a question's thread: the client's (question, reply) or a staff answer."""

    __tablename__ = "question_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(sa.String(8))
    staff_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("author in ('client', 'staff')", name="author"),)
