"""Clients as staff look them up: one entry per client over their appointments.

Booking keeps no client table: a client is the email address they book with, compared without
case, or their phone number when they gave no email address (phone-only clients). The search and every figure of an entry only look at the appointments
the caller may see (a staff member's own), so nothing of another staff member's leaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking.models import Appointment
from shared.db import folded
from shared.privacy import ERASED

# A query that is only digits and what people type between them is also a phone number.
_PHONE_LIKE = re.compile(r"^[\d\s().+\-/]+$")
MIN_PHONE_DIGITS = 3


@dataclass(frozen=True)
class AppointmentRef:
    """An appointment as a client entry points to it."""

    id: int
    start: datetime
    status: str


@dataclass(frozen=True)
class ClientEntry:
    """One client: the latest name and phone they gave, and their appointments in short."""

    email: str | None
    name: str
    phone: str | None
    appointment_count: int
    next_appointment: AppointmentRef | None
    last_appointment: AppointmentRef | None


def like_pattern(text: str) -> str:
    """`%text%` for LIKE with `\\` as the escape: `%` and `_` in `text` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(session: Session, q: str) -> sa.ColumnElement[bool]:
    """Name or email containing `q` (case-blind), or a phone holding its digits."""
    pattern = folded(session, sa.literal(like_pattern(q)))
    found = [
        folded(session, Appointment.client_name).like(pattern, escape="\\"),
        folded(session, Appointment.client_email).like(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", q)
    if _PHONE_LIKE.match(q) and len(digits) >= MIN_PHONE_DIGITS:
        # Numbers are stored as E.164 (+ and digits): the digits typed, in any format, match.
        number = f"%{digits}%"
        found += [
            Appointment.client_phone.like(number),
            Appointment.backup_callback_number.like(number),
        ]
    return sa.or_(*found)


def search_clients(
    *, session: Session, q: str | None, staff_id: int | None, now: datetime, limit: int
) -> list[ClientEntry]:
    """Clients whose name, email or phone matches `q` (all without it), most recently booked
    first; with `staff_id`, only that staff member's appointments count."""
    key = sa.func.coalesce(sa.func.lower(Appointment.client_email), Appointment.client_phone)
    scope = [
        key.is_not(None),
        sa.or_(Appointment.client_email.is_(None), Appointment.client_email != ERASED),
    ]
    if staff_id is not None:
        scope.append(Appointment.staff_id == staff_id)
    keys_query = sa.select(key).where(*scope).group_by(key)
    if q:
        keys_query = keys_query.where(_matches(session, q))
    keys = list(
        session.scalars(keys_query.order_by(sa.func.max(Appointment.id).desc()).limit(limit))
    )
    if not keys:
        return []
    rows = session.execute(
        sa.select(
            key.label("key"),
            Appointment.id,
            Appointment.client_name,
            Appointment.client_email,
            Appointment.client_phone,
            Appointment.start,
            Appointment.status,
        )
        .where(*scope, key.in_(keys))
        .order_by(Appointment.id)
    ).all()
    by_key: dict[str, list[sa.Row]] = {k: [] for k in keys}
    for row in rows:
        by_key[row.key].append(row)
    return [_entry(by_key[k], now) for k in keys]


def _entry(rows: list[sa.Row], now: datetime) -> ClientEntry:
    """A client's entry from their appointments (by id: the latest one has their latest details)."""
    latest = rows[-1]
    upcoming = [r for r in rows if r.status == "confirmed" and r.start >= now]
    past = [r for r in rows if r.start < now]
    following = min(upcoming, key=lambda r: r.start, default=None)
    previous = max(past, key=lambda r: r.start, default=None)
    return ClientEntry(
        email=latest.client_email,
        name=latest.client_name,
        phone=next((r.client_phone for r in reversed(rows) if r.client_phone), None),
        appointment_count=len(rows),
        next_appointment=_ref(following),
        last_appointment=_ref(previous),
    )


def _ref(row: sa.Row | None) -> AppointmentRef | None:
    return None if row is None else AppointmentRef(id=row.id, start=row.start, status=row.status)
