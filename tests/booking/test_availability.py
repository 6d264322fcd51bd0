"""Slot generation: rules per local date across DST, exceptions, buffers, notice, horizon, seats."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from services.booking import free_time
from services.booking.errors import OutsideAvailability, RangeTooLong, SlotTaken
from services.booking.free_time import StaffCalendar, Taken
from services.booking.models import AvailabilityException, AvailabilityRule, Service, Staff
from services.booking.operations import availability, catalog

# DST change days: Toronto springs forward 2026-03-08 and falls back 2026-11-01;
# Paris on 2026-03-29 and 2026-10-25.
DST_DAYS = {
    "America/Toronto": [date(2026, 3, 8), date(2026, 11, 1)],
    "Europe/Paris": [date(2026, 3, 29), date(2026, 10, 25)],
}
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def service(**overrides) -> Service:
    fields = dict(
        id=1,
        name="Intake",
        slug="intake",
        duration_minutes=45,
        buffer_before_minutes=0,
        buffer_after_minutes=10,
        min_notice_minutes=0,
        horizon_days=3650,
        slot_step_minutes=15,
        capacity=1,
    )
    fields.update(overrides)
    return Service(**fields)


def calendar(zone: str, rules, *, exceptions=(), busy=(), appointments=()) -> StaffCalendar:
    staff = Staff(id=1, name="A", email="a@example.org", time_zone=zone, active=True)
    return StaffCalendar(
        staff=staff,
        rules=[
            AvailabilityRule(staff_id=1, weekday=d, start_time=s, end_time=e) for d, s, e in rules
        ],
        exceptions=list(exceptions),
        busy=list(busy),
        appointments=list(appointments),
    )


def starts_on(svc, cal, day: date, zone: str, now=LONG_AGO) -> list[datetime]:
    z = ZoneInfo(zone)
    lo = datetime.combine(day, time(0), tzinfo=z).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=z).astimezone(UTC)
    return sorted(
        free_time.free_starts(service=svc, calendar=cal, window_start=lo, window_end=hi, now=now)
    )


@pytest.mark.parametrize(
    "zone,day", [(z, d) for z, days in DST_DAYS.items() for d in days], ids=str
)
def test_dst_change_day_keeps_wall_clock_rules(zone, day):
    every_day = [(d, time(9), time(17)) for d in range(7)]
    cal = calendar(zone, every_day)
    svc = service(buffer_after_minutes=0, duration_minutes=60, slot_step_minutes=30)
    change = starts_on(svc, cal, day, zone)
    before = starts_on(svc, cal, day - timedelta(days=1), zone)
    after = starts_on(svc, cal, day + timedelta(days=1), zone)

    def local(starts):
        return [s.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in starts]

    # Same wall-clock slots on the day before, the change day and the day after.
    assert local(change) == local(before) == local(after)
    assert local(change)[0] == "09:00" and local(change)[-1] == "16:00"
    assert len(change) == 15

    # ...which means the UTC times moved by the change of offset.
    def offset(d):
        return ZoneInfo(zone).utcoffset(datetime.combine(d, time(12)))

    shift = offset(day + timedelta(days=1)) - offset(day - timedelta(days=1))
    assert after[0] - before[0] == timedelta(days=2) - shift
    assert shift != timedelta(0)


def test_rule_in_a_spring_forward_gap_neither_vanishes_nor_doubles():
    zone = "America/Toronto"
    cal = calendar(zone, [(6, time(1), time(4))])  # Sundays 01:00-04:00; 02:00-03:00 is skipped
    svc = service(duration_minutes=30, buffer_after_minutes=0, slot_step_minutes=30)
    starts = starts_on(svc, cal, date(2026, 3, 8), zone)
    assert len(starts) == len(set(starts))
    # 01:00 EST to 04:00 EDT is two real hours: four half-hour slots, none duplicated.
    assert len(starts) == 4
    autumn = starts_on(svc, cal, date(2026, 11, 1), zone)  # 01:00 EDT to 04:00 EST: four hours
    assert len(autumn) == 8 and len(set(autumn)) == 8


def quarter(q: int) -> time:
    return time(q // 4, (q % 4) * 15)


@st.composite
def weekly_rules(draw) -> list[tuple[int, time, time]]:
    """1-4 weekly rules on 15-minute boundaries (possibly overlapping or inside a DST gap)."""
    rules = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 94))
        rules.append(
            (draw(st.integers(0, 6)), quarter(start), quarter(draw(st.integers(start + 1, 95))))
        )
    return rules


@settings(max_examples=50, deadline=None)
@given(
    zone=st.sampled_from(sorted(DST_DAYS)),
    day_index=st.integers(0, 3),
    shift=st.integers(-1, 1),
    rules=weekly_rules(),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    step=st.sampled_from([10, 15, 30]),
    before=st.sampled_from([0, 5, 15]),
    after=st.sampled_from([0, 10, 30]),
    booked=st.lists(st.tuples(st.integers(0, 48 * 4), st.integers(1, 8)), max_size=6),
    busy=st.lists(st.tuples(st.integers(0, 48 * 4), st.integers(1, 12)), max_size=3),
)
def test_slots_stay_inside_rules_and_clear_of_appointments_and_buffers(
    zone, day_index, shift, rules, duration, step, before, after, booked, busy
):
    z = ZoneInfo(zone)
    all_days = [d for days in DST_DAYS.values() for d in days]
    day = all_days[day_index] + timedelta(days=shift)
    origin = datetime.combine(day - timedelta(days=1), time(0), tzinfo=z).astimezone(UTC)
    taken = [
        Taken(origin + timedelta(minutes=15 * q), origin + timedelta(minutes=15 * (q + n)), 99)
        for q, n in booked
    ]
    blocks = [
        Taken(origin + timedelta(minutes=15 * q), origin + timedelta(minutes=15 * (q + n)))
        for q, n in busy
    ]
    svc = service(
        duration_minutes=duration,
        slot_step_minutes=step,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
    )
    cal = calendar(zone, rules, busy=blocks, appointments=taken)
    starts = starts_on(svc, cal, day, zone)
    assert starts == sorted(set(starts))
    for start in starts:
        end = start + timedelta(minutes=duration)
        local_start, local_end = start.astimezone(z), end.astimezone(z)
        assert _inside_rules(rules, local_start, local_end, z), (start, rules)
        lo, hi = start - timedelta(minutes=before), end + timedelta(minutes=after)
        for t in taken + blocks:
            assert not (t.start < hi and lo < t.end), (start, t)


def _inside_rules(rules, local_start, local_end, z) -> bool:
    """Inside one rule's window of that local date (touching or overlapping rules merge)."""
    day = local_start.date()
    windows = free_time.merge(
        (
            datetime.combine(day, s, tzinfo=z).astimezone(UTC),
            datetime.combine(day, e, tzinfo=z).astimezone(UTC),
        )
        for weekday, s, e in rules
        if weekday == day.weekday()
    )
    return any(lo <= local_start and local_end <= hi for lo, hi in windows)


def test_day_off_and_extra_hours_change_the_day():
    zone = "America/Toronto"
    day = date(2026, 12, 7)  # a Monday
    weekdays = [(d, time(9), time(17)) for d in range(5)]
    svc = service(buffer_after_minutes=0, duration_minutes=60, slot_step_minutes=60)
    off = AvailabilityException(staff_id=1, date=day, kind="off")
    assert starts_on(svc, calendar(zone, weekdays, exceptions=[off]), day, zone) == []
    lunch = AvailabilityException(
        staff_id=1, date=day, kind="off", start_time=time(12), end_time=time(13)
    )
    hours = [
        s.astimezone(ZoneInfo(zone)).hour
        for s in starts_on(svc, calendar(zone, weekdays, exceptions=[lunch]), day, zone)
    ]
    assert hours == [9, 10, 11, 13, 14, 15, 16]
    saturday = day + timedelta(days=5)
    extra = AvailabilityException(
        staff_id=1, date=saturday, kind="extra", start_time=time(10), end_time=time(12)
    )
    extra_hours = [
        s.astimezone(ZoneInfo(zone)).hour
        for s in starts_on(svc, calendar(zone, weekdays, exceptions=[extra]), saturday, zone)
    ]
    assert extra_hours == [10, 11]


def test_notice_and_horizon_limit_slots():
    zone = "America/Toronto"
    every_day = [(d, time(9), time(17)) for d in range(7)]
    svc = service(
        min_notice_minutes=120,
        horizon_days=1,
        buffer_after_minutes=0,
        duration_minutes=60,
        slot_step_minutes=60,
    )
    now = datetime(2026, 12, 7, 10, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    today = starts_on(svc, calendar(zone, every_day), date(2026, 12, 7), zone, now=now)
    assert [s.astimezone(ZoneInfo(zone)).hour for s in today] == [12, 13, 14, 15, 16]
    tomorrow = starts_on(svc, calendar(zone, every_day), date(2026, 12, 8), zone, now=now)
    assert [s.astimezone(ZoneInfo(zone)).hour for s in tomorrow] == [9]  # before now + 1 day
    assert starts_on(svc, calendar(zone, every_day), date(2026, 12, 9), zone, now=now) == []


def test_group_session_counts_seats():
    zone = "America/Toronto"
    every_day = [(d, time(9), time(17)) for d in range(7)]
    svc = service(capacity=3, duration_minutes=90, buffer_after_minutes=0, slot_step_minutes=90)
    start = datetime(2026, 12, 7, 9, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    seat = Taken(start, start + timedelta(minutes=90), svc.id, start)
    two = calendar(zone, every_day, appointments=[seat, seat])
    window = dict(window_start=start, window_end=start + timedelta(hours=8), now=LONG_AGO)
    assert free_time.free_starts(service=svc, calendar=two, **window)[start] == 1
    three = calendar(zone, every_day, appointments=[seat, seat, seat])
    assert start not in free_time.free_starts(service=svc, calendar=three, **window)


# --- through the database ----------------------------------------------------------------------


def test_search_uses_a_fixed_number_of_queries(
    booking_app, session, make_staff, make_service, book, next_weekday, at
):
    staff = [make_staff(name=f"S{i}", email=f"s{i}@example.org") for i in range(5)]
    svc = make_service(staff=staff)
    day = next_weekday(0)
    for hour in (9, 10, 11, 13):
        book(svc, at(day, hour))
    engine = session.get_bind()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:

        def search(days: int) -> list:
            statements.clear()
            session.expire_all()
            fresh = catalog.get_service(session=session, service_id=svc.id)
            slots = availability.search_slots(
                session=session,
                service=fresh,
                start_date=day,
                end_date=day + timedelta(days=days - 1),
                tz="America/Toronto",
                now=datetime.now(UTC),
            )
            session.rollback()
            return slots, len([s for s in statements if "BEGIN" not in s.upper()])

        one_day, queries_one = search(1)
        month, queries_month = search(30)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert queries_one == queries_month <= 8
    assert len(month) > len(one_day) > 0
    # The 09:00 slot has four staff left, the appointment's staff member is busy.
    nine = next(s for s in one_day if s.start == at(day, 9))
    assert len(nine.staff_ids) == 4


def test_busy_block_hides_slots_and_booking_it_is_422(
    session, make_service, book, next_weekday, at
):
    svc = make_service()
    day = next_weekday(2)
    catalog.add_busy_block(session=session, staff=svc.staff[0], start=at(day, 10), end=at(day, 11))
    session.commit()
    slots = availability.search_slots(
        session=session,
        service=svc,
        start_date=day,
        end_date=day,
        tz="America/Toronto",
        now=datetime.now(UTC),
    )
    starts = {s.start for s in slots}
    assert at(day, 10) not in starts and at(day, 9, 15) not in starts  # 9:15 + 45 + 10 > 10:00
    assert at(day, 11) in starts
    with pytest.raises(OutsideAvailability):
        book(svc, at(day, 10))
    session.rollback()


def test_booked_slot_is_taken_not_outside(session, make_service, book, next_weekday, at):
    svc = make_service()
    day = next_weekday(2)
    book(svc, at(day, 10))
    with pytest.raises(SlotTaken):
        book(svc, at(day, 10, 30))
    session.rollback()


def test_range_over_62_days_is_refused(session, make_service, next_weekday):
    svc = make_service()
    day = next_weekday(0)
    with pytest.raises(RangeTooLong):
        availability.search_slots(
            session=session,
            service=svc,
            start_date=day,
            end_date=day + timedelta(days=62),
            tz="UTC",
            now=datetime.now(UTC),
        )
