"""Slot search: the staff's calendars read in bulk, their free time worked out, cached.

Appointments and busy blocks are read with one range query for all the service's staff;
nothing is queried per day or per slot. The arithmetic (working windows, free starts) is in
services.booking.free_time; this module reads what it needs and keeps recent answers in the
slot cache create_app hands in (services.booking.caches), keyed by the staff's versions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking.caches import Locked
from services.booking.errors import OutsideAvailability, RangeTooLong, SlotTaken
from services.booking.free_time import (
    Interval,
    Slot,
    StaffCalendar,
    Taken,
    gather_slots,
    least_booked_free,
    local_time,
    still_free,
)
from services.booking.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    BusyBlock,
    FeedVersion,
    Service,
    Staff,
    service_staff,
)
from services.booking.operations import catalog
from shared.db import UTCDateTime
from shared.errors import NotFound

MAX_RANGE_DAYS = 62
# Local dates and buffers reach a little outside a UTC range; this much more is read around it.
PAD = timedelta(days=2)
# The longest time one appointment can block: 24 h at most plus 4 h buffers each side (schemas).
LONGEST_BLOCK = timedelta(hours=32)


def load_calendars(
    *,
    session: Session,
    staff: Sequence[Staff],
    start: datetime,
    end: datetime,
    ignore_appointment_id: int | None = None,
    taken_between: Interval | None = None,
    merge_taken: bool = False,
) -> list[StaffCalendar]:
    """Rules, exceptions, busy blocks and appointments of these staff around [start, end).

    Busy blocks and appointments are read around [start, end) with PAD on both sides, or exactly
    over `taken_between` when given. With `merge_taken` they come back as one list of busy
    intervals per staff member, overlapping and touching ones merged in SQL (for services of
    capacity 1, where any overlap is a conflict): a fully booked day is one row, not twelve.
    """
    calendars = {member.id: StaffCalendar(staff=member) for member in staff}
    if not calendars:
        return []
    ids = list(calendars)
    first, last = (start - PAD).date(), (end + PAD).date()
    for row in session.execute(_WORKING_TIME, {"ids": ids, "first": first, "last": last}):
        calendar = calendars[row.staff_id]
        (calendar.rules if row.kind is None else calendar.exceptions).append(row)
    lo, hi = taken_between or (start - PAD, end + PAD)
    if merge_taken:
        load_merged_taken(session=session, calendars=list(calendars.values()), start=lo, end=hi)
    else:
        load_taken(
            session=session,
            calendars=list(calendars.values()),
            start=lo + PAD,
            end=hi - PAD,
            ignore_appointment_id=ignore_appointment_id,
        )
    return list(calendars.values())


# The statements of the hot paths (every slot search and booking) are built once, with bind
# parameters: building a SELECT and its cache key costs more Python than running it.
# On the tables' columns, not the mapped classes': the session runs a plain Core statement
# with less Python (~30 us a statement) than one it must treat as an ORM query.
_RULES, _EXCEPTIONS = AvailabilityRule.__table__.c, AvailabilityException.__table__.c
_APPOINTMENT_ROWS, _BUSY_ROWS = Appointment.__table__.c, BusyBlock.__table__.c
_STAFF_ROWS = Staff.__table__.c
_IDS = sa.bindparam("ids", expanding=True)
# Rules and exceptions in one statement: (staff_id, weekday, date, kind, start_time, end_time),
# weekday set on rules, date and kind on exceptions.
_WORKING_TIME = sa.union_all(
    sa.select(
        _RULES.staff_id,
        _RULES.weekday,
        sa.type_coerce(sa.null(), sa.Date).label("date"),
        sa.type_coerce(sa.null(), sa.String).label("kind"),
        _RULES.start_time,
        _RULES.end_time,
    ).where(_RULES.staff_id.in_(_IDS)),
    sa.select(
        _EXCEPTIONS.staff_id,
        sa.type_coerce(sa.null(), sa.Integer).label("weekday"),
        _EXCEPTIONS.date,
        _EXCEPTIONS.kind,
        _EXCEPTIONS.start_time,
        _EXCEPTIONS.end_time,
    ).where(
        _EXCEPTIONS.staff_id.in_(_IDS),
        _EXCEPTIONS.date >= sa.bindparam("first", type_=sa.Date),
        _EXCEPTIONS.date <= sa.bindparam("last", type_=sa.Date),
    ),
)


def _taken_statements() -> tuple[sa.Select, sa.Select]:
    """(busy blocks, confirmed appointments) of the staff `ids` overlapping [lo, hi), as
    (staff_id, start, end, service_id, appointment_start); busy blocks have no service.
    Parameters: ids, lo, hi and reach (lo - LONGEST_BLOCK), see _taken_params."""
    appointments = sa.select(
        _APPOINTMENT_ROWS.staff_id,
        _APPOINTMENT_ROWS.blocked_start.label("start"),
        _APPOINTMENT_ROWS.blocked_end.label("end"),
        _APPOINTMENT_ROWS.service_id,
        _APPOINTMENT_ROWS.start.label("appointment_start"),
    ).where(
        _APPOINTMENT_ROWS.staff_id.in_(_IDS),
        _APPOINTMENT_ROWS.status == "confirmed",
        # Bounded on both sides so the (staff, blocked_start) index is a short range scan:
        # no appointment blocks more than LONGEST_BLOCK.
        _APPOINTMENT_ROWS.blocked_start > sa.bindparam("reach", type_=UTCDateTime()),
        _APPOINTMENT_ROWS.blocked_start < sa.bindparam("hi", type_=UTCDateTime()),
        _APPOINTMENT_ROWS.blocked_end > sa.bindparam("lo", type_=UTCDateTime()),
    )
    busy = sa.select(
        _BUSY_ROWS.staff_id,
        _BUSY_ROWS.start,
        _BUSY_ROWS.end,
        sa.type_coerce(sa.null(), sa.Integer).label("service_id"),
        sa.type_coerce(sa.null(), UTCDateTime()).label("appointment_start"),
    ).where(
        _BUSY_ROWS.staff_id.in_(_IDS),
        _BUSY_ROWS.start < sa.bindparam("hi", type_=UTCDateTime()),
        _BUSY_ROWS.end > sa.bindparam("lo", type_=UTCDateTime()),
    )
    return busy, appointments


def _taken_params(ids: Sequence[int], lo: datetime, hi: datetime) -> dict[str, Any]:
    return {"ids": list(ids), "lo": lo, "hi": hi, "reach": lo - LONGEST_BLOCK}


def _merged_statement(busy: sa.Select, appointments: sa.Select) -> sa.Select:
    """Busy time as merged intervals per staff member: (staff_id, start, end).

    Intervals that overlap or touch are merged in SQL (gaps and islands with window functions).
    """
    taken = sa.union_all(busy, appointments).subquery("taken")
    order = (taken.c.start, taken.c.end)
    reach = sa.func.max(taken.c.end).over(
        partition_by=taken.c.staff_id, order_by=order, rows=(None, -1)
    )
    marked = sa.select(
        taken.c.staff_id,
        taken.c.start,
        taken.c.end,
        sa.case((taken.c.start <= reach, 0), else_=1).label("opens"),
    ).subquery("marked")
    island = sa.func.sum(marked.c.opens).over(
        partition_by=marked.c.staff_id, order_by=(marked.c.start, marked.c.end), rows=(None, 0)
    )
    grouped = sa.select(
        marked.c.staff_id, marked.c.start, marked.c.end, island.label("island")
    ).subquery("grouped")
    return sa.select(
        grouped.c.staff_id,
        sa.type_coerce(sa.func.min(grouped.c.start), UTCDateTime()),
        sa.type_coerce(sa.func.max(grouped.c.end), UTCDateTime()),
    ).group_by(grouped.c.staff_id, grouped.c.island)


_BUSY, _APPOINTMENTS = _taken_statements()
_TAKEN = sa.union_all(_BUSY, _APPOINTMENTS)
_TAKEN_IGNORING = sa.union_all(
    _BUSY, _APPOINTMENTS.where(_APPOINTMENT_ROWS.id != sa.bindparam("ignore"))
)
_MERGED_TAKEN = _merged_statement(_BUSY, _APPOINTMENTS)
_LOCK = sa.select(_STAFF_ROWS.id).where(_STAFF_ROWS.id.in_(_IDS)).order_by(_STAFF_ROWS.id)
_LOCK_WAIT, _LOCK_SKIP = _LOCK.with_for_update(), _LOCK.with_for_update(skip_locked=True)


def load_taken(
    *,
    session: Session,
    calendars: Sequence[StaffCalendar],
    start: datetime,
    end: datetime,
    ignore_appointment_id: int | None = None,
) -> None:
    """(Re)load the busy blocks and appointments of these calendars around [start, end)."""
    by_id = {calendar.staff.id: calendar for calendar in calendars}
    if not by_id:
        return
    for calendar in calendars:
        calendar.busy, calendar.appointments = [], []
    # Busy blocks and appointments in one range query: (staff, start, end, service, start).
    params = _taken_params(list(by_id), start - PAD, end + PAD)
    statement = _TAKEN
    if ignore_appointment_id is not None:
        statement, params["ignore"] = _TAKEN_IGNORING, ignore_appointment_id
    for row in session.execute(statement, params):
        if row.service_id is None:
            by_id[row.staff_id].busy.append(Taken(row.start, row.end))
        else:
            by_id[row.staff_id].appointments.append(
                Taken(row.start, row.end, row.service_id, row.appointment_start)
            )


def load_merged_taken(
    *, session: Session, calendars: Sequence[StaffCalendar], start: datetime, end: datetime
) -> None:
    """Load the busy time of these calendars overlapping [start, end) as merged intervals.

    Busy blocks and appointments are one list per staff member, and intervals that overlap or
    touch are merged in SQL (_merged_statement), so the rows read grow
    with the gaps in a calendar, not with its appointments. Only for capacity-1 services, where
    any overlap is a conflict; `appointments` stays empty.
    """
    by_id = {calendar.staff.id: calendar for calendar in calendars}
    if not by_id:
        return
    for calendar in calendars:
        calendar.busy, calendar.appointments = [], []
    for staff_id, busy_start, busy_end in session.execute(
        _MERGED_TAKEN, _taken_params(list(by_id), start, end)
    ):
        by_id[staff_id].busy.append(Taken(busy_start, busy_end))


def lock_staff(
    session: Session, staff_ids: Sequence[int], *, skip_locked: bool = False
) -> set[int]:
    """Lock staff rows for this transaction (in id order); return the ids now held.

    On PostgreSQL this is SELECT ... FOR UPDATE: writers of one staff member's time queue here.
    With `skip_locked`, rows another transaction holds are left out instead of waited for. On
    SQLite the transaction's BEGIN IMMEDIATE already holds the only write lock.
    """
    if not staff_ids or session.get_bind().dialect.name != "postgresql":
        return set(staff_ids)
    return set(session.scalars(_LOCK_SKIP if skip_locked else _LOCK_WAIT, {"ids": list(staff_ids)}))


def bookable_staff(service: Service, staff_id: int | None = None) -> list[Staff]:
    """The service's active staff (only `staff_id` when given)."""
    return [
        member
        for member in service.staff
        if member.active and (staff_id is None or member.id == staff_id)
    ]


@dataclass(frozen=True)
class SearchPlan:
    """What a search's slots (before notice and horizon) depend on, read before any calendar:
    the service's slot settings and each bookable staff member's id, zone and version."""

    service_id: int
    settings: tuple[int, ...]  # duration, step, buffer before, buffer after, capacity
    min_notice_minutes: int
    horizon_days: int
    staff: tuple[tuple[int, str, int], ...]

    @classmethod
    def of(cls, service: Any, staff: Sequence[tuple[int, str, int]]) -> SearchPlan:
        """The plan of `service` (a Service, or a row with its columns) and staff (id, zone,
        availability version)."""
        return cls(
            service_id=service.id,
            settings=(
                service.duration_minutes,
                service.slot_step_minutes,
                service.buffer_before_minutes,
                service.buffer_after_minutes,
                service.capacity,
            ),
            min_notice_minutes=service.min_notice_minutes,
            horizon_days=service.horizon_days,
            staff=tuple(sorted(staff)),
        )

    def key(self, start_date: date, end_date: date, tz: str) -> tuple:
        return (self.service_id, self.settings, start_date, end_date, tz, self.staff)

    def window(self, slots: list[Slot], now: datetime) -> tuple[int, int]:
        """slots[lo:hi] start between the notice and the horizon from `now` (slots by start)."""
        earliest = now + timedelta(minutes=self.min_notice_minutes)
        latest = now + timedelta(days=self.horizon_days)
        lo = bisect.bisect_left(slots, earliest, key=_start)
        return lo, max(lo, bisect.bisect_left(slots, latest, key=_start))

    def cut(self, slots: list[Slot], now: datetime) -> list[Slot]:
        """The slots that start between the notice and the horizon from `now`."""
        lo, hi = self.window(slots, now)
        return slots[lo:hi]


def _start(slot: Slot) -> datetime:
    return slot.start


@dataclass(frozen=True)
class FoundSlots:
    """A search's answer: `all[lo:hi]`; the same key, lo and hi always mean the same slots."""

    key: tuple
    all: list[Slot]
    lo: int
    hi: int

    @property
    def slots(self) -> list[Slot]:
        return self.all[self.lo : self.hi]


_VERSIONS = FeedVersion.__table__.c
_STAFF_VERSIONS = sa.select(_VERSIONS.staff_id, _VERSIONS.availability_version).where(
    _VERSIONS.staff_id.in_(_IDS)
)


def plan_search(session: Session, service: Service, staff: Sequence[Staff]) -> SearchPlan:
    """The plan of a search of these staff's slots: one small query (their versions)."""
    ids = {"ids": [member.id for member in staff]}
    versions = dict(session.execute(_STAFF_VERSIONS, ids).tuples().all())
    return SearchPlan.of(
        service, [(member.id, member.time_zone, versions.get(member.id, 0)) for member in staff]
    )


# A public service's plan in one statement: its slot settings, and each of its staff members
# with their zone and version (one row each; one row with no staff member when it has none).
_SERVICE_ROWS = Service.__table__.c
_PLAN = (
    sa.select(
        _SERVICE_ROWS.id,
        _SERVICE_ROWS.active,
        _SERVICE_ROWS.duration_minutes,
        _SERVICE_ROWS.slot_step_minutes,
        _SERVICE_ROWS.buffer_before_minutes,
        _SERVICE_ROWS.buffer_after_minutes,
        _SERVICE_ROWS.capacity,
        _SERVICE_ROWS.min_notice_minutes,
        _SERVICE_ROWS.horizon_days,
        _STAFF_ROWS.id.label("staff_id"),
        _STAFF_ROWS.active.label("staff_active"),
        _STAFF_ROWS.time_zone,
        _VERSIONS.availability_version,
    )
    .select_from(Service.__table__)
    .outerjoin(service_staff, service_staff.c.service_id == _SERVICE_ROWS.id)
    .outerjoin(Staff.__table__, _STAFF_ROWS.id == service_staff.c.staff_id)
    .outerjoin(FeedVersion.__table__, _VERSIONS.staff_id == _STAFF_ROWS.id)
    .where(_SERVICE_ROWS.id == sa.bindparam("service_id"))
)


def read_plan(*, session: Session, service_id: int, staff_id: int | None = None) -> SearchPlan:
    """The plan of a search of a public service's bookable staff (only `staff_id` when given),
    from one statement; 404 when the service is not offered."""
    rows = session.execute(_PLAN, {"service_id": service_id}).all()
    if not rows or not rows[0].active:
        raise NotFound("No such service.", code="service_not_found")
    staff = [
        (row.staff_id, row.time_zone, row.availability_version or 0)
        for row in rows
        if row.staff_id is not None
        and row.staff_active
        and (staff_id is None or row.staff_id == staff_id)
    ]
    return SearchPlan.of(rows[0], staff)


def _check_range(start_date: date, end_date: date) -> None:
    if end_date < start_date:
        raise RangeTooLong("end must be on or after start.", errors={"end": ["Before start."]})
    if (end_date - start_date).days + 1 > MAX_RANGE_DAYS:
        raise RangeTooLong(
            f"Ask for at most {MAX_RANGE_DAYS} days at a time.",
            errors={"end": [f"At most {MAX_RANGE_DAYS} days after start."]},
        )


def search_slots(
    *,
    session: Session,
    service: Service,
    start_date: date,
    end_date: date,
    tz: str,
    now: datetime,
    staff_id: int | None = None,
    cache: Locked | None = None,
) -> list[Slot]:
    """Bookable slots on the viewer's local dates start_date..end_date (inclusive).

    With a `cache`, a search repeated before anything in its staff's calendars changed costs
    one small query; the Slot objects returned are then shared: read them, do not change them.
    """
    _check_range(start_date, end_date)
    staff = bookable_staff(service, staff_id)
    if cache is None or not staff:
        return _compute_slots(session, service, staff, start_date, end_date, tz, now)
    # The versions are read before the calendars, so an entry is never older than its key.
    plan = plan_search(session, service, staff)
    key = plan.key(start_date, end_date, tz)
    found = cache.get(key)
    if found is None:
        found = _compute_slots(session, service, staff, start_date, end_date, tz, None)
        cache.put(key, found)
    return plan.cut(found, now)


def find_slots(
    *,
    read_session: Callable[[], AbstractContextManager[Session]],
    service_id: int,
    start_date: date,
    end_date: date,
    tz: str,
    now: datetime,
    staff_id: int | None = None,
    cache: Locked | None = None,
) -> FoundSlots:
    """search_slots for a public service by id (404 when it is not offered), for the API.

    The plan (service settings and staff versions) is one statement, so a search repeated
    before anything it depends on changed costs that one round trip.
    """
    _check_range(start_date, end_date)
    with read_session() as session:
        plan = read_plan(session=session, service_id=service_id, staff_id=staff_id)
    key = plan.key(start_date, end_date, tz)
    if not plan.staff:
        return FoundSlots(key, [], 0, 0)
    found = cache.get(key) if cache is not None else None
    if found is None:
        # Calendars read after the plan's versions: an entry is never older than its key.
        with read_session() as session:
            service = catalog.get_service(session=session, service_id=service_id, public=True)
            staff = bookable_staff(service, staff_id)
            found = _compute_slots(session, service, staff, start_date, end_date, tz, None)
            versions = {member_id: version for member_id, _, version in plan.staff}
            staff_now = [(m.id, m.time_zone, versions.get(m.id, -1)) for m in staff]
        # Kept only when the service and staff read now are those the key names (a change
        # between the two reads is simply not cached).
        if cache is not None and SearchPlan.of(service, staff_now) == plan:
            cache.put(key, found)
    return FoundSlots(key, found, *plan.window(found, now))


def _compute_slots(
    session: Session,
    service: Service,
    staff: Sequence[Staff],
    start_date: date,
    end_date: date,
    tz: str,
    now: datetime | None,
) -> list[Slot]:
    """The slots of these staff on the local dates (cut by notice and horizon unless now=None)."""
    viewer = ZoneInfo(tz)
    window_start = local_time(start_date, time(0), viewer)
    window_end = local_time(end_date + timedelta(days=1), time(0), viewer)
    duration = timedelta(minutes=service.duration_minutes)
    # A slot starting in the window blocks at most [start - buffer before, start + duration +
    # buffer after): only what overlaps that reach matters.
    reach = (
        window_start - timedelta(minutes=service.buffer_before_minutes),
        window_end + duration + timedelta(minutes=service.buffer_after_minutes),
    )
    calendars = load_calendars(
        session=session,
        staff=staff,
        start=window_start,
        end=window_end,
        taken_between=reach,
        merge_taken=service.capacity == 1,
    )
    return gather_slots(
        service=service,
        calendars=calendars,
        window_start=window_start,
        window_end=window_end,
        now=now,
    )


def _raise_unless(offered: Sequence[StaffCalendar], free: Sequence[StaffCalendar]) -> None:
    if not offered:
        raise OutsideAvailability(
            "This time is not offered for this service; search the slots again."
        )
    if not free:
        raise SlotTaken("Someone booked this time a moment ago; please choose another slot.")


def free_staff_at(
    *,
    session: Session,
    service: Service,
    staff: Sequence[Staff],
    start: datetime,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> list[Staff]:
    """The staff free to take `start`, least booked in the days around it first (then by id);
    raise OutsideAvailability or SlotTaken when none is. Lock them first to rely on it."""
    calendars = load_calendars(
        session=session,
        staff=staff,
        start=start,
        end=start + timedelta(minutes=service.duration_minutes),
        ignore_appointment_id=ignore_appointment_id,
    )
    offered, free = least_booked_free(service, calendars, start, now)
    _raise_unless(offered, free)
    return [calendar.staff for calendar in free]


def claim_staff_at(
    *, session: Session, service: Service, staff: Sequence[Staff], start: datetime, now: datetime
) -> Staff:
    """Lock and return the least booked staff member free at `start`.

    Only the chosen staff member's row is locked (then checked again under the lock), so
    bookings with different staff members run in parallel. If another booking took that one
    first, the other free staff are tried, skipping rows someone else holds: never waiting on
    a second lock means two bookings can never deadlock.
    """
    end = start + timedelta(minutes=service.duration_minutes)
    calendars = load_calendars(session=session, staff=staff, start=start, end=end)
    offered, free = least_booked_free(service, calendars, start, now)
    _raise_unless(offered, free)
    first, *others = free
    lock_staff(session, [first.staff.id])
    load_taken(session=session, calendars=[first], start=start, end=end)
    if still_free(service, first, start):
        return first.staff
    for calendar in others:
        # Not waiting here is what rules out deadlocks. The price: a staff member another booking
        # holds at this instant is skipped (it takes them for this start, or rarely for another).
        if not lock_staff(session, [calendar.staff.id], skip_locked=True):
            continue
        load_taken(session=session, calendars=[calendar], start=start, end=end)
        if still_free(service, calendar, start):
            return calendar.staff
    raise SlotTaken("Someone booked this time a moment ago; please choose another slot.")
