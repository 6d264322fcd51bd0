"""Each staff member's versions: what the slot cache and the feeds' validators are keyed by.

`availability_version` moves with every write to one of a staff member's rules, exceptions,
busy blocks or appointments; `version` and `changed_at` (the feed's) move with every write to
an appointment. They move in the writer's own transaction, so a reader that sees the change
sees the new version, on this host or any other.

The hooks are installed on booking's own sessionmaker (`track`), not on SQLAlchemy's global
Session class, so the other services' sessions never run them. Every write through that
sessionmaker passes them: ORM flushes (`before_flush`), and bulk UPDATE and DELETE statements
(`do_orm_execute`, which reads the staff the statement touches before it runs). The one write
that passes neither is a booking's new appointment, sent as one INSERT by `insert_appointment`
below, which moves the versions itself; nothing else inserts appointments without a flush
(tests/booking/test_versions.py checks).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history

from services.booking.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    BusyBlock,
    FeedVersion,
)
from shared.db import utcnow

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # changed_at of an unchanged feed

# What a write to each table moves: "feed" (an appointment) or "availability".
_KINDS = {
    Appointment.__tablename__: "feed",
    AvailabilityRule.__tablename__: "availability",
    AvailabilityException.__tablename__: "availability",
    BusyBlock.__tablename__: "availability",
}
_CALENDAR_ROWS = (AvailabilityRule, AvailabilityException, BusyBlock)
# Staff noted in this flush, by kind, and what each one's versions were moved for already in
# this transaction.
_NOTED, _BUMPED = "frontdesk_versions_noted", "frontdesk_versions_bumped"


def _pg_bump(*, feed: bool) -> sa.Insert:
    """PostgreSQL's bump as one upsert, built once (parameters: staff_id, changed_at)."""
    table = FeedVersion.__table__
    upsert = postgresql.insert(table).values(
        staff_id=sa.bindparam("staff_id"),
        version=1 if feed else 0,
        changed_at=sa.bindparam("changed_at", type_=table.c.changed_at.type) if feed else NEVER,
        availability_version=1,
    )
    moved = {"availability_version": table.c.availability_version + 1}
    if feed:
        moved["version"] = table.c.version + 1
        moved["changed_at"] = sa.func.greatest(
            upsert.excluded.changed_at,
            sa.func.date_trunc("second", table.c.changed_at) + timedelta(seconds=1),
        )
    return upsert.on_conflict_do_update(index_elements=[table.c.staff_id], set_=moved)


_PG_BUMP_FEED, _PG_BUMP_AVAILABILITY = _pg_bump(feed=True), _pg_bump(feed=False)


def bump_version(
    session: Session, staff_id: int, *, now: datetime | None = None, feed: bool = True
) -> None:
    """Move a staff member's versions forward (in the caller's transaction).

    `availability_version` always moves (the slot search cache); with `feed` (an appointment
    changed) the feed's `version` and `changed_at` move too. `changed_at` advances by at least
    a second per change, so Last-Modified (whole seconds) differs after every change and an
    If-Modified-Since revalidation cannot miss one. Plain SQL statements, no ORM flush: this
    also runs from inside a flush.
    """
    moment = (now or utcnow()).replace(microsecond=0)
    table = FeedVersion.__table__
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: insert version 1, or move the row forward under its row lock.
        if feed:
            session.execute(_PG_BUMP_FEED, {"staff_id": staff_id, "changed_at": moment})
        else:
            session.execute(_PG_BUMP_AVAILABILITY, {"staff_id": staff_id})
        return
    session.execute(
        sqlite.insert(table)
        .values(
            staff_id=staff_id,
            version=0,
            changed_at=moment - timedelta(seconds=1) if feed else NEVER,
            availability_version=0,
        )
        .on_conflict_do_nothing(index_elements=[table.c.staff_id])
    )
    version, changed, available = session.execute(
        sa.select(table.c.version, table.c.changed_at, table.c.availability_version).where(
            table.c.staff_id == staff_id
        )
    ).one()
    moved = {"availability_version": available + 1}
    if feed:
        moved["version"] = version + 1
        moved["changed_at"] = max(moment, changed.replace(microsecond=0) + timedelta(seconds=1))
    session.execute(sa.update(table).where(table.c.staff_id == staff_id).values(**moved))


def _note(session: Session, staff_id: int, kind: str) -> None:
    noted = session.info.setdefault(_NOTED, {})
    if noted.get(staff_id) != "feed":
        noted[staff_id] = kind


def _note_flushed(session: Session, _context, _instances) -> None:
    """Note whose calendar each appointment, rule, exception or busy block being flushed is
    in (both staff members when an appointment moves to another)."""
    # Each of session.new, .dirty and .deleted builds a new set: read once per flush.
    new, dirty = session.new, session.dirty
    for obj in (*new, *dirty, *session.deleted):
        if isinstance(obj, Appointment):
            kind = "feed"
        elif isinstance(obj, _CALENDAR_ROWS):
            kind = "availability"
        else:
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue
        staff_id = obj.staff_id
        if staff_id is None:
            staff_id = getattr(getattr(obj, "staff", None), "id", None)
        # A new row has no previous staff member (and its history costs a look at every
        # attribute of it).
        previous = () if obj in new else get_history(obj, "staff_id", PASSIVE_NO_INITIALIZE).deleted
        for member in {staff_id, *previous} - {None}:
            _note(session, member, kind)


def _bump_noted(session: Session, _context) -> None:
    """Move the noted staff members' versions forward, once per staff member and transaction."""
    for staff_id, kind in sorted(session.info.pop(_NOTED, {}).items()):
        _bump_once(session, staff_id, feed=kind == "feed")


def _bump_once(session: Session, staff_id: int, *, feed: bool) -> None:
    bumped = session.info.setdefault(_BUMPED, {})
    done = bumped.get(staff_id)
    if done == "feed" or (done == "availability" and not feed):
        return
    bumped[staff_id] = "feed" if feed else "availability"
    bump_version(session, staff_id, feed=feed)


def _bump_bulk(state: ORMExecuteState) -> None:
    """Before a bulk UPDATE or DELETE of calendar rows, move the versions of the staff whose
    rows it matches (read with the statement's own WHERE clause)."""
    if not (state.is_update or state.is_delete):
        return
    table = state.statement.table
    kind = _KINDS.get(getattr(table, "name", None))
    if kind is None:
        return
    matched = sa.select(table.c.staff_id).distinct()
    if state.statement.whereclause is not None:
        matched = matched.where(state.statement.whereclause)
    for staff_id in state.session.scalars(matched, state.parameters).all():
        if staff_id is not None:
            _bump_once(state.session, staff_id, feed=kind == "feed")


_INSERT_APPOINTMENT = sa.insert(Appointment.__table__).returning(Appointment.__table__.c.id)


def insert_appointment(session: Session, values: dict[str, Any]) -> Appointment:
    """Insert a new appointment (`values`: every column but the id) with one INSERT, move its
    staff member's versions, and return it in the session as loaded, with no consents.

    For the booking POST: the unit of work for one new row costs several times the Python of
    its INSERT. It lives here, beside the hooks, because no flush sees this row: the versions
    move in the same call, as the hooks would have moved them.
    """
    appointment_id = session.execute(_INSERT_APPOINTMENT, values).scalar_one()
    _bump_once(session, values["staff_id"], feed=True)
    appointment = Appointment(id=appointment_id, **values, consents=[])
    # As if just loaded: no pending change for a flush to send; its service and staff are
    # found in the session by their ids when read.
    make_transient_to_detached(appointment)
    session.add(appointment)
    return appointment


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTED, None)
        session.info.pop(_BUMPED, None)


_HOOKS = (
    ("before_flush", _note_flushed),
    ("after_flush_postexec", _bump_noted),
    ("do_orm_execute", _bump_bulk),
    ("after_transaction_end", _forget),
)


def track(maker: sessionmaker) -> None:
    """Install the version hooks on booking's sessionmaker (once per sessionmaker)."""
    for name, hook in _HOOKS:
        if not sa.event.contains(maker, name, hook):
            sa.event.listen(maker, name, hook)
