"""The arithmetic of slot search: working windows, free starts, subtract and merge.

Pure functions of their arguments: no database, no Flask, no clock (`now` is passed in).
Rules are wall-clock times in the staff member's zone, so each local date is converted on its
own with zoneinfo: a 09:00 Toronto rule is 14:00 UTC in winter and 13:00 UTC in summer, and on
the change day no slot vanishes or doubles. services.booking.operations.availability loads what these
functions take (one query for all the staff) and hands them the rows.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class SlotRules(Protocol):
    """What slot search reads of a service (services.booking.models.Service has it all)."""

    id: int
    duration_minutes: int
    slot_step_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    capacity: int


class Member(Protocol):
    """What slot search reads of a staff member (services.booking.models.Staff)."""

    id: int
    time_zone: str


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


@dataclass
class StaffCalendar:
    """Everything the slot computation needs about one staff member, loaded in bulk."""

    staff: Member
    # AvailabilityRule / AvailabilityException, or rows of _WORKING_TIME
    rules: list[Any] = field(default_factory=list)
    exceptions: list[Any] = field(default_factory=list)
    busy: list[Taken] = field(default_factory=list)
    appointments: list[Taken] = field(default_factory=list)


def subtract(intervals: list[tuple[time, time]], cut: tuple[time, time]) -> list[tuple[time, time]]:
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


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def local_time(day: date, at: time, zone: ZoneInfo) -> datetime:
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
                    local = subtract(local, (exception.start_time, exception.end_time))
        windows.extend(
            (local_time(day, s, zone), local_time(day, e, zone)) for s, e in local if e > s
        )
        day += timedelta(days=1)
    return merge(windows)


def _overlapping(
    taken: Sequence[Taken], starts: Sequence[datetime], span: timedelta, lo: datetime, hi: datetime
) -> list[Taken]:
    """The taken intervals (sorted by start, longest `span`) that overlap [lo, hi)."""
    index = bisect.bisect_left(starts, hi)
    first = bisect.bisect_left(starts, lo - span)
    return [t for t in taken[first:index] if t.end > lo]


def free_starts(
    *,
    service: SlotRules,
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
                seats = seats_left(
                    service, _overlapping(taken, taken_starts, taken_span, lo, hi), start
                )
                if seats:
                    result[start] = seats
            start += step
    return result


def seats_left(service: SlotRules, overlapping: Iterable[Taken], start: datetime) -> int:
    """Seats left at `start` beside these overlapping appointments: 0 when one of them
    conflicts (another service, another start, or any when the capacity is 1)."""
    seats = 0
    for t in overlapping:
        if service.capacity > 1 and t.service_id == service.id and t.appointment_start == start:
            seats += 1
        else:
            return 0
    return max(service.capacity - seats, 0)


def appointments_around(
    calendar: StaffCalendar, service: SlotRules, start: datetime
) -> list[Taken]:
    """The calendar's appointments overlapping what a booking at `start` would block."""
    lo = start - timedelta(minutes=service.buffer_before_minutes)
    hi = start + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes)
    return [t for t in calendar.appointments if t.start < hi and t.end > lo]


def gather_slots(
    *,
    service: SlotRules,
    calendars: Sequence[StaffCalendar],
    window_start: datetime,
    window_end: datetime,
    now: datetime | None,
) -> list[Slot]:
    """The slots of these calendars in [window_start, window_end), by start: each free start
    once, with the staff free then and their seats left (cut by notice and horizon unless
    now=None)."""
    duration = timedelta(minutes=service.duration_minutes)
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


def still_free(service: SlotRules, calendar: StaffCalendar, start: datetime) -> bool:
    """Whether a start found offered in this calendar's working time is still clear of its
    (reloaded) busy blocks and appointments: least_booked_free's test without the working
    time, which is not read again, for the check under the staff member's lock."""
    lo = start - timedelta(minutes=service.buffer_before_minutes)
    hi = start + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes)
    if any(t.start < hi and t.end > lo for t in calendar.busy):
        return False
    return bool(seats_left(service, appointments_around(calendar, service, start), start))


def least_booked_free(
    service: SlotRules, calendars: Sequence[StaffCalendar], start: datetime, now: datetime
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
            if seats_left(service, appointments_around(calendar, service, start), start):
                free.append(calendar)
    return offered, free
