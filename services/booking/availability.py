"""Slot search: weekly rules and date exceptions expanded per local date, minus what is taken.

Rules are wall-clock times in the staff member's zone, so each local date is converted on its
own with zoneinfo: a 09:00 Toronto rule is 14:00 UTC in winter and 13:00 UTC in summer, and on
the change day no slot vanishes or doubles. Appointments and busy blocks are read with one
range query for all the service's staff; nothing is queried per day or per slot.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from services.booking import catalog
from services.booking.errors import OutsideAvailability, RangeTooLong, SlotTaken
from services.booking.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    BusyBlock,
    FeedVersion,
    Service,
    Staff,
)
from shared.changes import Memo
from shared.db import UTCDateTime

MAX_RANGE_DAYS = 62
# Local dates and buffers reach a little outside a UTC range; this much more is read around it.
PAD = timedelta(days=2)
# The longest time one appointment can block: 24 h at most plus 4 h buffers each side (schemas).
LONGEST_BLOCK = timedelta(hours=32)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Taken:
    """An interval of a staff member's time that is used: an appointment (with buffers) or busy."""

    start: datetime
    end: datetime
    service_id: int | None = None  # set for appointments: a group session shares its seats
    appointment_start: datetime | None = None


@dataclass
class Slot:
    """A bookable start time and the staff members free then."""

    start: datetime
    end: datetime
    staff_ids: list[int] = field(default_factory=list)
    seats_left: int = 0
    # The API's JSON of it, by viewer zone: a cached slot is shown again and again.
    shown: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class StaffCalendar:
    """Everything the slot computation needs about one staff member, loaded in bulk."""

    staff: Staff
    # AvailabilityRule / AvailabilityException, or rows of _WORKING_TIME
    rules: list[Any] = field(default_factory=list)
    exceptions: list[Any] = field(default_factory=list)
    busy: list[Taken] = field(default_factory=list)
    appointments: list[Taken] = field(default_factory=list)


def _subtract(
    intervals: list[tuple[time, time]], cut: tuple[time, time]
) -> list[tuple[time, time]]:
    """Remove one wall-clock interval from a list of wall-clock intervals."""
    result = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            result.append((start, end))
            continue
        if start < cut[0]:
            result.append((start, cut[0]))
        if cut[1] < end:
            result.append((cut[1], end))
    return result


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a local date, as UTC (a time in a spring-forward gap moves forward)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def working_windows(
    *,
    rules: Sequence[Any],
    exceptions: Sequence[Any],
    zone: ZoneInfo,
    first: date,
    last: date,
) -> list[Interval]:
    """The staff member's working windows (UTC) on the local dates first..last."""
    by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for rule in rules:
        by_weekday[rule.weekday].append((rule.start_time, rule.end_time))
    by_date: dict[date, list[Any]] = defaultdict(list)
    for exception in exceptions:
        by_date[exception.date].append(exception)
    windows: list[Interval] = []
    day = first
    while day <= last:
        local = list(by_weekday.get(day.weekday(), ()))
        for exception in by_date.get(day, ()):
            if exception.kind == "extra" and exception.start_time and exception.end_time:
                local.append((exception.start_time, exception.end_time))
        for exception in by_date.get(day, ()):
            if exception.kind == "off":
                if exception.start_time is None or exception.end_time is None:
                    local = []
                else:
                    local = _subtract(local, (exception.start_time, exception.end_time))
        windows.extend((_local(day, s, zone), _local(day, e, zone)) for s, e in local if e > s)
        day += timedelta(days=1)
    return _merge(windows)


def _overlapping(taken: Sequence[Taken], starts: Sequence[datetime], span: timedelta, lo, hi):
    """The taken intervals (sorted by start, longest `span`) that overlap [lo, hi)."""
    index = bisect.bisect_left(starts, hi)
    first = bisect.bisect_left(starts, lo - span)
    return [t for t in taken[first:index] if t.end > lo]


def free_starts(
    *,
    service: Service,
    calendar: StaffCalendar,
    window_start: datetime,
    window_end: datetime,
    now: datetime | None,
    count_appointments: bool = True,
) -> dict[datetime, int]:
    """Bookable starts of one staff member in [window_start, window_end) -> seats left."""
    zone = ZoneInfo(calendar.staff.time_zone)
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=service.slot_step_minutes)
    before = timedelta(minutes=service.buffer_before_minutes)
    after = timedelta(minutes=service.buffer_after_minutes)
    earliest, latest = window_start, window_end
    if now is not None:  # None: no cut for notice and horizon (the slot cache applies them)
        earliest = max(earliest, now + timedelta(minutes=service.min_notice_minutes))
        latest = min(latest, now + timedelta(days=service.horizon_days))
    if earliest >= latest:
        return {}
    windows = working_windows(
        rules=calendar.rules,
        exceptions=calendar.exceptions,
        zone=zone,
        first=(earliest - duration).astimezone(zone).date() - timedelta(days=1),
        last=latest.astimezone(zone).date() + timedelta(days=1),
    )
    busy = sorted(calendar.busy, key=lambda t: t.start)
    busy_starts = [t.start for t in busy]
    busy_span = max((t.end - t.start for t in busy), default=timedelta(0))
    taken = sorted(calendar.appointments if count_appointments else [], key=lambda t: t.start)
    taken_starts = [t.start for t in taken]
    taken_span = max((t.end - t.start for t in taken), default=timedelta(0))
    result: dict[datetime, int] = {}
    for window_open, window_close in windows:
        if window_close <= earliest or window_open >= latest:
            continue
        start = window_open
        if start < earliest:  # jump ahead on the step grid of this window
            start += step * -(-(earliest - start) // step)
        while start < latest and start + duration <= window_close:
            lo, hi = start - before, start + duration + after
            if not _overlapping(busy, busy_starts, busy_span, lo, hi):
                seats = _seats_left(
                    service, _overlapping(taken, taken_starts, taken_span, lo, hi), start
                )
                if seats:
                    result[start] = seats
            start += step
    return result


def _seats_left(service: Service, overlapping: Iterable[Taken], start: datetime) -> int:
    """Seats left at `start` beside these overlapping appointments: 0 when one of them
    conflicts (another service, another start, or any when the capacity is 1)."""
    seats = 0
    for t in overlapping:
        if service.capacity > 1 and t.service_id == service.id and t.appointment_start == start:
            seats += 1
        else:
            return 0
    return max(service.capacity - seats, 0)


def _appointments_around(calendar: StaffCalendar, service: Service, start: datetime):
    """The calendar's appointments overlapping what a booking at `start` would block."""
    lo = start - timedelta(minutes=service.buffer_before_minutes)
    hi = start + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes)
    return [t for t in calendar.appointments if t.start < hi and t.end > lo]


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


class SlotCache:
    """Recent slot searches, by everything their result depends on (a bounded, thread-safe LRU).

    The key holds the service's slot settings, the range and zone, and each staff member's id,
    zone and availability version; every write to a rule, exception, busy block or appointment
    moves that version in the writer's transaction (services.booking.feeds), so a search after
    a change never finds the entry from before it, on this host or any other. Notice and
    horizon depend on the clock, so entries hold the slots without them and each search cuts
    its own. Entries older than `max_age` seconds are dropped all the same: a safety net for
    writes nothing versions (a database restored under a running process).
    """

    def __init__(self, size: int, max_age: float = 300.0) -> None:
        self.size, self.max_age = size, max_age
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or monotonic() - entry[0] > self.max_age:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, slots: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = (monotonic(), slots)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def app_cache() -> SlotCache | None:
    """The current app's slot cache (None outside an app, or when FRONTDESK_SLOT_CACHE_SIZE=0)."""
    if not has_app_context():
        return None
    return current_app.extensions.get("frontdesk_slot_cache")


def app_memo() -> Memo | None:
    """The current app's memo of small answers (shared.changes), None outside an app."""
    if not has_app_context():
        return None
    return current_app.extensions.get("frontdesk_memo")


@dataclass(frozen=True)
class SearchPlan:
    """What a search's slots (before notice and horizon) depend on, read before any calendar:
    the service's slot settings and each bookable staff member's id, zone and version."""

    service_id: int
    settings: tuple[int, ...]  # duration, step, buffer before, buffer after, capacity
    min_notice_minutes: int
    horizon_days: int
    staff: tuple[tuple[int, str, int], ...]

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


def plan_search(session: Session, service: Service, staff: Sequence[Staff]) -> SearchPlan:
    """The plan of a search of these staff's slots: one small query (their versions)."""
    versions = dict(
        session.execute(
            sa.select(FeedVersion.staff_id, FeedVersion.availability_version).where(
                FeedVersion.staff_id.in_([member.id for member in staff])
            )
        ).all()
    )
    return SearchPlan(
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
        staff=tuple((member.id, member.time_zone, versions.get(member.id, 0)) for member in staff),
    )


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
    cache: SlotCache | None = None,
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
    cache: SlotCache | None = None,
    memo: Memo | None = None,
) -> FoundSlots:
    """search_slots for a public service by id (404 when it is not offered), for the API.

    The plan (service settings and staff versions) is kept in `memo` while this process has
    heard of no change (shared.changes), so a repeated search then reads nothing at all.
    """
    _check_range(start_date, end_date)

    loaded: list[Service] = []

    def load_plan() -> SearchPlan:
        with read_session() as session:
            service = catalog.get_service(
                session=session, service_id=service_id, public=True, memo=memo
            )
            loaded.append(service)
            return plan_search(session, service, bookable_staff(service, staff_id))

    plan = (
        load_plan()
        if memo is None
        else memo.get_or_load(("slot-plan", service_id, staff_id), load_plan)
    )
    key = plan.key(start_date, end_date, tz)
    if not plan.staff:
        return FoundSlots(key, [], 0, 0)
    found = cache.get(key) if cache is not None else None
    if found is None:
        # Calendars read after the plan's versions: an entry is never older than its key.
        with read_session() as session:
            service = (
                loaded[0]
                if loaded
                else catalog.get_service(
                    session=session, service_id=service_id, public=True, memo=memo
                )
            )
            staff = bookable_staff(service, staff_id)
            found = _compute_slots(session, service, staff, start_date, end_date, tz, None)
        if cache is not None:
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
    window_start = _local(start_date, time(0), viewer)
    window_end = _local(end_date + timedelta(days=1), time(0), viewer)
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
    slots: dict[datetime, Slot] = {}
    for calendar in calendars:
        starts = free_starts(
            service=service,
            calendar=calendar,
            window_start=window_start,
            window_end=window_end,
            now=now,
        )
        for start, seats in starts.items():
            slot = slots.setdefault(start, Slot(start=start, end=start + duration))
            slot.staff_ids.append(calendar.staff.id)
            slot.seats_left += seats
    return [slots[start] for start in sorted(slots)]


def _least_booked_free(
    service: Service, calendars: Sequence[StaffCalendar], start: datetime, now: datetime
) -> tuple[list[StaffCalendar], list[StaffCalendar]]:
    """(offered, free) calendars at `start`, the least booked in the days around it first."""
    window_end = start + timedelta(microseconds=1)
    offered, free = [], []
    for calendar in sorted(calendars, key=lambda c: (len(c.appointments), c.staff.id)):
        # Offered: a slot of the working time, clear of busy blocks (free_starts without the
        # appointments); free: no appointment conflicts with it either (the same test).
        if start in free_starts(
            service=service,
            calendar=calendar,
            window_start=start,
            window_end=window_end,
            now=now,
            count_appointments=False,
        ):
            offered.append(calendar)
            if _seats_left(service, _appointments_around(calendar, service, start), start):
                free.append(calendar)
    return offered, free


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
    offered, free = _least_booked_free(service, calendars, start, now)
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
    offered, free = _least_booked_free(service, calendars, start, now)
    _raise_unless(offered, free)
    first, *others = free
    lock_staff(session, [first.staff.id])
    load_taken(session=session, calendars=[first], start=start, end=end)
    if _least_booked_free(service, [first], start, now)[1]:
        return first.staff
    for calendar in others:
        # Not waiting here is what rules out deadlocks. The price: a staff member another booking
        # holds at this instant is skipped (it takes them for this start, or rarely for another).
        if not lock_staff(session, [calendar.staff.id], skip_locked=True):
            continue
        load_taken(session=session, calendars=[calendar], start=start, end=end)
        if _least_booked_free(service, [calendar], start, now)[1]:
            return calendar.staff
    raise SlotTaken("Someone booked this time a moment ago; please choose another slot.")
