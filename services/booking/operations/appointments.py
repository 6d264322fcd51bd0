"""Appointments: book, cancel, reschedule, complete, no-show, follow-up, history, consents.

No double booking: every write that takes time locks the staff row first (SELECT ... FOR
UPDATE on PostgreSQL; on SQLite the transaction's BEGIN IMMEDIATE already serializes writers),
then checks and inserts in the same transaction. On PostgreSQL an exclusion constraint over the
blocked range is the backstop. Every change writes its messages into the outbox in the same
transaction, so a change and its messages commit (or vanish) together.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking import outbox, versions
from services.booking.errors import (
    AlreadyBooked,
    AppointmentNotFound,
    BackupPlanRequired,
    InvalidTransition,
    ManageLinkNotFound,
    ModeNotOffered,
    NotStartedYet,
    SlotTaken,
    TooManyBookings,
)
from services.booking.manage_tokens import hash_manage_token, manage_token_for
from services.booking.models import (
    EXCLUSION_CONSTRAINT,
    Appointment,
    AppointmentConsent,
    AppointmentEvent,
    Service,
    Staff,
)
from services.booking.operations import availability
from shared.actors import Actor
from shared.db import UTCDateTime, dialect_insert, folded, utcnow
from shared.email_addresses import mailbox_key
from shared.errors import FrontdeskError, NotFound, ValidationFailed, raise_every
from shared.fields import contact_errors, default_notify_by
from shared.idempotency import check_replay
from shared.timestamps import utc_iso

BOOKING_CAP_WINDOW = timedelta(hours=24)


CLIENT = Actor("client")


@dataclass
class Booked:
    """A booking's result: the appointment, its manage token, and whether it was a replay."""

    appointment: Appointment
    manage_token: str
    replayed: bool = False


_INSERT_EVENT = sa.insert(AppointmentEvent.__table__)


def record(session: Session, appointment: Appointment, actor: Actor, action: str, **details: Any):
    """Write one entry of the appointment's history (in the caller's transaction)."""
    session.execute(
        _INSERT_EVENT,
        {
            "appointment_id": appointment.id,
            "actor": actor.label,
            "action": action,
            "details": details,
        },
    )


@contextlib.contextmanager
def _taken_on_overlap() -> Iterator[None]:
    """The PostgreSQL exclusion constraint firing in the block means the slot was taken."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        if EXCLUSION_CONSTRAINT in str(exc.orig):
            raise SlotTaken("Someone booked this time a moment ago; choose another slot.") from exc
        raise


def _flush_or_taken(session: Session) -> None:
    with _taken_on_overlap():
        session.flush()


def _insert_appointment(session: Session, values: dict[str, Any]) -> Appointment:
    """Insert a new appointment in one statement (services.booking.versions moves the staff
    member's versions with it)."""
    with _taken_on_overlap():
        return versions.insert_appointment(session, values)


def backup_plan_problem(*, mode: str, backup: dict[str, Any]) -> BackupPlanRequired | None:
    """Why `backup` is no backup phone plan for `mode`, or None: a phone appointment needs
    the number to call, a video one that number or the dial-in."""
    callback = backup.get("callback_number")
    if mode == "phone" and not callback:
        return BackupPlanRequired(
            "For a phone appointment, give the number we should call.",
            errors={"backup.callback_number": ["Required for a phone appointment."]},
        )
    if mode == "video" and not callback and not backup.get("use_dial_in"):
        return BackupPlanRequired(
            "A video appointment needs a backup phone plan: a callback number or the dial-in.",
            errors={"backup": ["Give callback_number or set use_dial_in."]},
        )
    return None


def _check_mode_and_backup(
    service: Service, staff: list[Staff], mode: str, backup: dict[str, Any]
) -> list[Staff]:
    """Keep the staff who can serve this mode with this backup plan; raise when none can
    (one error naming the mode and the backup plan when both are wrong)."""
    problems: list[FrontdeskError] = []
    if mode not in service.modes:
        problems.append(
            ModeNotOffered(
                f"{service.name} is offered as: {', '.join(service.modes)}.",
                errors={"mode": [f"Choose one of: {', '.join(service.modes)}."]},
            )
        )
    if problem := backup_plan_problem(mode=mode, backup=backup):
        problems.append(problem)
    raise_every(problems)
    callback = backup.get("callback_number")
    able = staff
    if mode == "video":
        able = [s for s in able if s.video_link_template]
        if not callback:
            able = [s for s in able if s.dial_in]
    if staff and not able:
        raise ModeNotOffered(
            "No staff member can hold this appointment with that mode and backup plan.",
            errors={"mode": ["No video room or dial-in number for this staff member."]},
        )
    return able


def _video_url(staff: Staff, uid: str) -> str | None:
    """The staff member's meeting room; "{uid}" in the template becomes the appointment's."""
    if not staff.video_link_template:
        return None
    return staff.video_link_template.replace("{uid}", uid.split("@")[0])


_BY_IDEMPOTENCY_KEY = sa.select(Appointment).where(
    Appointment.idempotency_key == sa.bindparam("key")
)
# Built once (a booking's statements are cheaper to run than to build); see _check_daily_cap.
_APPOINTMENT_ROWS = Appointment.__table__.c  # a plain Core statement: less Python
# One client: the same mailbox or the same phone number (a NULL parameter matches nothing).
_SAME_CLIENT = sa.or_(
    _APPOINTMENT_ROWS.client_email_key == sa.bindparam("email"),
    _APPOINTMENT_ROWS.client_phone == sa.bindparam("phone"),
)
_SINCE = sa.bindparam("since", type_=UTCDateTime())


def _made_by(column: sa.Column, contact: str) -> sa.Select:
    """(created_at, id) of the bookings one contact made since `since` (its own index)."""
    return sa.select(_APPOINTMENT_ROWS.created_at, _APPOINTMENT_ROWS.id).where(
        _APPOINTMENT_ROWS.created_at > _SINCE,
        column == sa.bindparam(contact),
        _APPOINTMENT_ROWS.follow_up_of_id.is_(None),
    )


# By address and by phone number as a UNION, not an OR: each side keeps its index, and a
# booking made with both counts once.
_MADE_SINCE = sa.union(
    _made_by(_APPOINTMENT_ROWS.client_email_key, "email"),
    _made_by(_APPOINTMENT_ROWS.client_phone, "phone"),
).order_by("created_at")
_SEAT_HELD = (
    sa.select(_APPOINTMENT_ROWS.id)
    .where(
        _SAME_CLIENT,
        _APPOINTMENT_ROWS.service_id == sa.bindparam("service_id"),
        _APPOINTMENT_ROWS.start == sa.bindparam("start", type_=UTCDateTime()),
        _APPOINTMENT_ROWS.status != "cancelled",
        _APPOINTMENT_ROWS.id != sa.bindparam("moving_id"),
    )
    .limit(1)
)


def _find_by_idempotency_key(session: Session, key: str | None) -> Appointment | None:
    if key is None:
        return None
    return session.scalar(_BY_IDEMPOTENCY_KEY, {"key": key})


def _contacts(email_key: str, phone: str | None) -> dict[str, str | None]:
    """The parameters of _SAME_CLIENT: a client's mailbox key and phone number (None: none)."""
    return {"email": email_key or None, "phone": phone or None}


def _check_one_seat(
    session: Session,
    *,
    service: Service,
    email_key: str,
    phone: str | None,
    start: datetime,
    moving_id: int = 0,
) -> None:
    """Raise AlreadyBooked when the client (by address or phone) holds a seat of this group
    session already.

    Runs under the staff lock the caller took, so two requests cannot both pass.
    """
    if service.capacity == 1:  # the slot itself is taken then
        return
    held = {
        **_contacts(email_key, phone),
        "service_id": service.id,
        "start": start,
        "moving_id": moving_id,
    }
    if session.scalar(_SEAT_HELD, held) is not None:
        field = "client.email" if email_key else "client.phone"
        raise AlreadyBooked(
            "This client already has a place at this time; one place per person.",
            errors={field: ["Already booked for this session."]},
        )


def _check_daily_cap(
    session: Session, *, email_key: str, phone: str | None, cap: int, now: datetime
) -> None:
    """Raise TooManyBookings when a mailbox or a phone number already made `cap` bookings in
    the last 24 hours.

    Every booking made in the window counts, cancelled ones too (each sent a confirmation);
    addresses are compared by mailbox key, so Ana@, ana+1@ and "ana"@ are one client, and
    phone numbers as E.164, so a client cannot go round the cap by leaving the address out.
    """
    since = now - BOOKING_CAP_WINDOW
    made = session.scalars(_MADE_SINCE, {"since": since, **_contacts(email_key, phone)}).all()
    if len(made) >= cap:
        free_again = made[len(made) - cap] + BOOKING_CAP_WINDOW
        retry_after = max(1, int((free_again - now).total_seconds()) + 1)
        raise TooManyBookings(
            f"This email address or phone number already has {len(made)} bookings made in the "
            "last 24 hours; please call us, or book again later.",
            headers={"Retry-After": str(retry_after)},
        )


def book(
    *,
    session: Session,
    service: Service,
    start: datetime,
    mode: str,
    client: dict[str, Any],
    backup: dict[str, Any],
    secret: str,
    actor: Actor = CLIENT,
    staff_id: int | None = None,
    accommodations: dict[str, Any] | None = None,
    client_notes: str | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    follow_up_of: Appointment | None = None,
    daily_cap: int = 0,
    now: datetime | None = None,
) -> Booked:
    """Book `start` of `service` for a client, or raise OutsideAvailability / SlotTaken.

    With `daily_cap`, a client (not staff) may make at most that many bookings for one email
    address in 24 hours (TooManyBookings beyond), so nobody can fill a calendar or flood an
    inbox with confirmations under one address.
    """
    now = now or utcnow()

    def replay(existing: Appointment) -> Booked:
        check_replay(existing.idempotency_fingerprint or "", fingerprint or "")
        return Booked(existing, manage_token_for(existing.uid, secret), replayed=True)

    if (existing := _find_by_idempotency_key(session, idempotency_key)) is not None:
        return replay(existing)
    email_key = mailbox_key(client["email"]) if client.get("email") else ""
    phone = client.get("phone")
    if daily_cap and actor == CLIENT:
        _check_daily_cap(session, email_key=email_key, phone=phone, cap=daily_cap, now=now)
    candidates = availability.bookable_staff(service, staff_id)
    if staff_id is not None and not candidates:
        raise NotFound("This staff member does not offer this service.", code="staff_not_found")
    candidates = _check_mode_and_backup(service, candidates, mode, backup)
    try:
        staff = availability.claim_staff_at(
            session=session, service=service, staff=candidates, start=start, now=now
        )
    except SlotTaken:
        # Taken by the same request (a retry), finished while this one waited for the lock?
        if (existing := _find_by_idempotency_key(session, idempotency_key)) is not None:
            return replay(existing)
        raise
    if (existing := _find_by_idempotency_key(session, idempotency_key)) is not None:
        return replay(existing)
    _check_one_seat(session, service=service, email_key=email_key, phone=phone, start=start)
    uid = f"{uuid.uuid4()}@frontdesk"
    token = manage_token_for(uid, secret)
    accommodations = accommodations or {}
    end = start + timedelta(minutes=service.duration_minutes)
    values = {
        "uid": uid,
        "service_id": service.id,
        "staff_id": staff.id,
        "start": start,
        "end": end,
        "blocked_start": start - timedelta(minutes=service.buffer_before_minutes),
        "blocked_end": end + timedelta(minutes=service.buffer_after_minutes),
        "exclusive": service.capacity == 1,
        "status": "confirmed",
        "mode": mode,
        "video_url": _video_url(staff, uid) if mode == "video" else None,
        "client_name": client["name"],
        "client_email": client.get("email"),
        "client_email_key": email_key,
        "client_phone": phone,
        "notify_by": client.get("notify_by") or default_notify_by(client.get("email")),
        "client_language": client.get("language") or "en",
        "client_time_zone": client.get("time_zone") or staff.time_zone,
        "backup_callback_number": backup.get("callback_number"),
        "backup_use_dial_in": bool(backup.get("use_dial_in")) and bool(staff.dial_in),
        "accommodation_captions": bool(accommodations.get("captions")),
        "accommodation_interpreter_language": accommodations.get("interpreter_language"),
        "accommodation_other": accommodations.get("other"),
        "client_notes": client_notes,
        "outcome": None,
        "staff_notes": None,
        "cancel_reason": None,
        "sequence": 0,
        "manage_token_hash": hash_manage_token(token),
        "idempotency_key": idempotency_key,
        "idempotency_fingerprint": fingerprint,
        "follow_up_of_id": follow_up_of.id if follow_up_of else None,
        "created_at": now,
        "updated_at": now,
    }
    appointment = _insert_appointment(session, values)
    record(
        session,
        appointment,
        actor,
        "follow_up_booked" if follow_up_of else "booked",
        start=utc_iso(start),
        staff_id=staff.id,
        mode=mode,
        follow_up_of=follow_up_of.id if follow_up_of else None,
    )
    outbox.add_booked(
        session,
        appointment,
        now=now,
        consent_template_ids=service.required_consent_template_ids,
    )
    session.flush()
    return Booked(appointment, token)


def get_appointment(*, session: Session, appointment_id: int, staff_id: int | None = None):
    """One appointment; with `staff_id`, only if it is that staff member's (404 otherwise)."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or (staff_id is not None and appointment.staff_id != staff_id):
        raise AppointmentNotFound("No such appointment.")
    return appointment


def list_appointments(
    *,
    session: Session,
    staff_id: int | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    client_email: str | None = None,
    client_phone: str | None = None,
    limit: int = 200,
) -> list[Appointment]:
    """Appointments by start time, filtered by staff member, status, time range and client
    (email in any case; E.164 phone, the client's own or their callback number).

    Service, staff member and consents come with them (joined and one more query), so the
    number of queries does not grow with the number of appointments.
    """
    query = sa.select(Appointment).order_by(Appointment.start, Appointment.id).limit(limit)
    if staff_id is not None:
        query = query.where(Appointment.staff_id == staff_id)
    if status is not None:
        query = query.where(Appointment.status == status)
    if start is not None:
        query = query.where(Appointment.end > start)
    if end is not None:
        query = query.where(Appointment.start < end)
    if client_email is not None:
        email = sa.literal(client_email.strip())
        query = query.where(folded(session, Appointment.client_email) == folded(session, email))
    if client_phone is not None:
        query = query.where(
            sa.or_(
                Appointment.client_phone == client_phone,
                Appointment.backup_callback_number == client_phone,
            )
        )
    return list(session.scalars(query))


def get_by_manage_token(*, session: Session, token: str) -> Appointment:
    """The appointment a manage token belongs to; 404 for unknown and revoked tokens alike."""
    appointment = session.scalar(
        sa.select(Appointment).where(Appointment.manage_token_hash == hash_manage_token(token))
    )
    if appointment is None or appointment.status != "confirmed":
        raise ManageLinkNotFound("This link is unknown or no longer valid.")
    return appointment


def cancelled_by_manage_token(*, session: Session, token: str) -> Appointment | None:
    """The cancelled appointment a manage token belongs to, if any (its page says so)."""
    appointment = session.scalar(
        sa.select(Appointment).where(Appointment.manage_token_hash == hash_manage_token(token))
    )
    return appointment if appointment is not None and appointment.status == "cancelled" else None


def _require_confirmed(appointment: Appointment, action: str) -> None:
    if appointment.status != "confirmed":
        raise InvalidTransition(f"A {appointment.status} appointment cannot be {action}.")


def _require_started(appointment: Appointment, action: str, now: datetime) -> None:
    # Done or missed only once it began: marked earlier, its manage link would stop working
    # and the client, never told, would still expect the session.
    if appointment.start > now:
        raise NotStartedYet(f"An appointment can be {action} once it has started.")


def cancel(
    *,
    session: Session,
    appointment: Appointment,
    actor: Actor,
    reason: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Cancel a confirmed appointment: CANCEL invite, reminders withdrawn, manage link closed.

    The link's hash is kept: get_by_manage_token refuses it like an unknown one, and the
    manage page tells the client the appointment was cancelled (cancelled_by_manage_token).
    """
    now = now or utcnow()
    _require_confirmed(appointment, "cancelled")
    appointment.status = "cancelled"
    appointment.cancel_reason = reason
    appointment.sequence += 1
    appointment.updated_at = now
    session.flush()
    record(session, appointment, actor, "cancelled", reason=reason)
    outbox.add_cancelled(session, appointment, reason=reason)
    session.flush()
    return appointment


def reschedule(
    *,
    session: Session,
    appointment: Appointment,
    start: datetime,
    actor: Actor,
    now: datetime | None = None,
) -> Appointment:
    """Move a confirmed appointment to a new free start: same UID, SEQUENCE + 1."""
    now = now or utcnow()
    _require_confirmed(appointment, "rescheduled")
    service = appointment.service
    availability.lock_staff(session, [appointment.staff_id])
    availability.free_staff_at(
        session=session,
        service=service,
        staff=[appointment.staff],
        start=start,
        now=now,
        ignore_appointment_id=appointment.id,
    )
    _check_one_seat(
        session,
        service=service,
        email_key=appointment.client_email_key,
        phone=appointment.client_phone,
        start=start,
        moving_id=appointment.id,
    )
    previous = appointment.start
    appointment.start = start
    appointment.end = start + timedelta(minutes=service.duration_minutes)
    appointment.blocked_start = start - timedelta(minutes=service.buffer_before_minutes)
    appointment.blocked_end = appointment.end + timedelta(minutes=service.buffer_after_minutes)
    appointment.sequence += 1
    appointment.updated_at = now
    _flush_or_taken(session)
    record(
        session,
        appointment,
        actor,
        "rescheduled",
        previous_start=utc_iso(previous),
        start=utc_iso(start),
    )
    outbox.add_rescheduled(session, appointment, previous_start=previous, now=now)
    session.flush()
    return appointment


def complete(
    *,
    session: Session,
    appointment: Appointment,
    actor: Actor,
    outcome: str,
    notes: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Mark a session done with its outcome and notes, once it has started; billing is notified."""
    now = now or utcnow()
    _require_confirmed(appointment, "completed")
    _require_started(appointment, "completed", now)
    appointment.status = "completed"
    appointment.outcome = outcome
    if notes is not None:
        appointment.staff_notes = notes
    appointment.updated_at = now
    appointment.manage_token_hash = None
    session.flush()
    record(session, appointment, actor, "completed", outcome=outcome)
    outbox.add_intent(session, appointment, "notify.billing", {})
    session.flush()
    return appointment


def mark_no_show(
    *, session: Session, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    """Mark that the client did not come, once the appointment has started."""
    now = now or utcnow()
    _require_confirmed(appointment, "marked as no-show")
    _require_started(appointment, "marked as no-show", now)
    appointment.status = "no_show"
    appointment.updated_at = now
    appointment.manage_token_hash = None
    session.flush()
    record(session, appointment, actor, "no_show")
    outbox.add_cancel_reminders(session, appointment)
    session.flush()
    return appointment


def resend_invite(
    *,
    session: Session,
    appointment: Appointment,
    actor: Actor,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Send the client the confirmation with the calendar invite again (a confirmed appointment
    not over yet), e.g. when the first one bounced or was lost; once per idempotency key."""
    now = now or utcnow()
    if idempotency_key is not None and _invite_resent_with(session, appointment, idempotency_key):
        return appointment
    _require_confirmed(appointment, "sent again")
    if appointment.end <= now:
        raise InvalidTransition("The appointment is over: its invite is not sent again.")
    if idempotency_key is None:
        record(session, appointment, actor, "invite_resent")
    else:
        record(session, appointment, actor, "invite_resent", key=idempotency_key)
    outbox.add_invite(session, appointment)
    session.flush()
    return appointment


def _invite_resent_with(session: Session, appointment: Appointment, key: str) -> bool:
    """True when the invite was already sent again for this (caller-scoped) key."""
    found = session.scalar(
        sa.select(AppointmentEvent.id).where(
            AppointmentEvent.appointment_id == appointment.id,
            AppointmentEvent.action == "invite_resent",
            AppointmentEvent.details["key"].as_string() == key,
        )
    )
    return found is not None


def follow_up(
    *,
    session: Session,
    appointment: Appointment,
    start: datetime,
    secret: str,
    actor: Actor,
    service: Service | None = None,
    mode: str | None = None,
    now: datetime | None = None,
) -> Booked:
    """Book the next session for the same client, linked to this one."""
    service = service or appointment.service
    return book(
        session=session,
        service=service,
        start=start,
        mode=mode or appointment.mode,
        staff_id=appointment.staff_id,
        client={
            "name": appointment.client_name,
            "email": appointment.client_email,
            "phone": appointment.client_phone,
            "notify_by": appointment.notify_by,
            "language": appointment.client_language,
            "time_zone": appointment.client_time_zone,
        },
        backup={
            "callback_number": appointment.backup_callback_number,
            "use_dial_in": appointment.backup_use_dial_in,
        },
        accommodations=appointment.accommodations,
        secret=secret,
        actor=actor,
        follow_up_of=appointment,
        now=now,
    )


EDITABLE = {
    "staff_notes",
    "client_notes",
    "client_phone",
    "backup_callback_number",
    "accommodation_captions",
    "accommodation_interpreter_language",
    "accommodation_other",
}


def update(
    *, session: Session, appointment: Appointment, actor: Actor, fields: dict[str, Any]
) -> Appointment:
    """Change an appointment's notes, contact details or accommodations."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise ValidationFailed(errors={name: ["Cannot be changed."] for name in sorted(unknown)})
    if "client_phone" in fields:
        # A phone-only client, or one who hears from us by SMS, keeps a number to be reached at.
        problems = contact_errors(
            appointment.client_email,
            fields["client_phone"],
            appointment.notify_by,
            keys=("client_phone", "client_phone"),
        )
        if problems:
            raise ValidationFailed(errors=problems)
    changed = sorted(name for name, value in fields.items() if getattr(appointment, name) != value)
    for name in changed:
        setattr(appointment, name, fields[name])
    if changed:
        appointment.updated_at = utcnow()  # the feed's DTSTAMP: this event's last change
        # Who changed what, never the values: the history must not copy client data around.
        record(session, appointment, actor, "updated", fields=changed)
    session.flush()
    return appointment


def history(*, session: Session, appointment: Appointment) -> list[AppointmentEvent]:
    """The appointment's audit history, oldest first."""
    return list(
        session.scalars(
            sa.select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == appointment.id)
            .order_by(AppointmentEvent.id)
        )
    )


def set_consent(
    *,
    session: Session,
    appointment: Appointment,
    request_id: int,
    template_id: int,
    form_title: str,
    status: str,
    signing_url: str | None = None,
    actor: Actor = Actor("service"),
) -> list[AppointmentConsent]:
    """Record the status of a consent request tied to the appointment (created or updated).

    When the overall consent status changes, the reminders are scheduled again: notify renders
    them from the data they were created with, and they say whether a form is still unsigned.
    """
    overall = appointment.consent_status
    table = AppointmentConsent.__table__
    now = utcnow()
    key = {"appointment_id": appointment.id, "request_id": request_id}
    fields = {"template_id": template_id, "form_title": form_title, "status": status}
    # Insert, or find the row to update: consent's PUT and this service's own outbox may
    # record the same request at once, and a check-then-insert lost that race with a 500.
    insert = dialect_insert(session)(table).values(
        **key, **fields, signing_url=signing_url, updated_at=now
    )
    created = session.execute(
        insert.on_conflict_do_nothing(
            index_elements=[table.c.appointment_id, table.c.request_id]
        ).returning(table.c.id)
    ).scalar()
    changed = created is not None
    if not changed:
        where = (table.c.appointment_id == appointment.id) & (table.c.request_id == request_id)
        previous = session.scalar(sa.select(table.c.status).where(where).with_for_update())
        changed = previous != status
        if signing_url:
            fields["signing_url"] = signing_url
        session.execute(sa.update(table).where(where).values(**fields, updated_at=now))
    for consent in appointment.consents:
        session.expire(consent)
    session.expire(appointment, ["consents"])
    if changed:
        record(session, appointment, actor, "consent", request_id=request_id, status=status)
        if status == "withdrawn":
            outbox.add_consent_withdrawn(session, appointment, form_title=form_title)
        if appointment.consent_status != overall and appointment.status == "confirmed":
            outbox.add_cancel_reminders(session, appointment)
            outbox.add_reminders(session, appointment, now=utcnow())
        session.flush()
    return list(appointment.consents)
