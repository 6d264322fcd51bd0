"""services.booking.free_time, the arithmetic of slot search, tested directly: no database, no
app, plain objects in, properties checked against a naive model on a minute grid."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.booking import free_time
from services.booking.free_time import StaffCalendar, Taken

DAY = date(2026, 6, 1)  # a Monday
MIDNIGHT = datetime.combine(DAY, time(0), tzinfo=UTC)


def _minutes(interval) -> set[int]:
    """The whole minutes an interval of datetimes (from MIDNIGHT) covers."""
    start, end = interval
    return set(range(_minute(start), _minute(end)))


def _minute(moment: datetime) -> int:
    return int((moment - MIDNIGHT).total_seconds() // 60)


def _at(minute: int) -> datetime:
    return MIDNIGHT + timedelta(minutes=minute)


intervals = st.lists(
    st.tuples(st.integers(0, 3000), st.integers(1, 600)).map(lambda p: (_at(p[0]), _at(sum(p)))),
    max_size=12,
)


@given(intervals)
def test_merge_covers_the_same_time_with_sorted_intervals_that_neither_overlap_nor_touch(given_):
    merged = free_time.merge(given_)
    assert set().union(*map(_minutes, merged)) == set().union(*map(_minutes, given_))
    assert all(start < end for start, end in merged)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(merged))


wall_minutes = st.tuples(st.integers(0, 1438), st.integers(1, 1439)).filter(lambda p: p[0] < p[1])


def _wall(pair) -> tuple[time, time]:
    return tuple(time(m // 60, m % 60) for m in pair)


def _wall_minutes(interval) -> set[int]:
    start, end = interval
    return set(range(start.hour * 60 + start.minute, end.hour * 60 + end.minute))


@given(st.lists(wall_minutes, max_size=6), wall_minutes)
def test_subtract_removes_exactly_the_cut_and_nothing_else(given_, cut):
    pieces = [_wall(p) for p in given_]
    cut_ = _wall(cut)
    left = free_time.subtract(pieces, cut_)
    before = set().union(*map(_wall_minutes, pieces))
    after = set().union(*map(_wall_minutes, left))
    assert after == before - _wall_minutes(cut_)
    assert all(start < end for start, end in left)


def _service(**overrides):
    fields = dict(
        id=1,
        duration_minutes=30,
        slot_step_minutes=15,
        buffer_before_minutes=0,
        buffer_after_minutes=0,
        min_notice_minutes=0,
        horizon_days=3650,
        capacity=1,
    )
    return SimpleNamespace(**{**fields, **overrides})


def _calendar(rules, busy) -> StaffCalendar:
    return StaffCalendar(
        staff=SimpleNamespace(id=7, time_zone="UTC"),
        rules=[
            SimpleNamespace(weekday=DAY.weekday(), start_time=s, end_time=e)
            for s, e in map(_wall, rules)
        ],
        busy=[Taken(_at(start), _at(start + length)) for start, length in busy],
    )


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(wall_minutes, min_size=1, max_size=3),
    busy=st.lists(st.tuples(st.integers(0, 1439), st.integers(1, 240)), max_size=5),
    duration=st.sampled_from([15, 30, 45, 60, 90]),
    step=st.sampled_from([5, 15, 30]),
    before=st.sampled_from([0, 10]),
    after=st.sampled_from([0, 5, 15]),
)
def test_free_starts_are_the_step_grid_starts_that_fit_a_window_clear_of_busy_time(
    rules, busy, duration, step, before, after
):
    service = _service(
        duration_minutes=duration,
        slot_step_minutes=step,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
    )
    found = free_time.free_starts(
        service=service,
        calendar=_calendar(rules, busy),
        window_start=MIDNIGHT,
        window_end=MIDNIGHT + timedelta(days=1),
        now=None,
    )
    # The naive model: each merged working window's own step grid, minute by minute.
    windows = free_time.merge((_at(start), _at(end)) for start, end in rules)
    taken = set().union(*(range(start, start + length) for start, length in busy))
    expected = {}
    for open_, close in windows:
        start = open_
        while start + timedelta(minutes=duration) <= close and start < _at(1440):
            m = _minute(start)
            if not taken & set(range(m - before, m + duration + after)):
                expected[start] = 1
            start += timedelta(minutes=step)
    assert found == expected


@settings(max_examples=300, deadline=None)
@given(
    busy=st.lists(st.tuples(st.integers(400, 800), st.integers(1, 120)), max_size=4),
    booked=st.lists(
        st.tuples(st.sampled_from([570, 585, 600, 615, 630]), st.booleans()), max_size=4
    ),
    capacity=st.integers(1, 3),
    before=st.sampled_from([0, 10]),
    after=st.sampled_from([0, 15]),
)
def test_the_check_again_under_the_lock_agrees_with_the_first_choice(
    busy, booked, capacity, before, after
):
    """still_free (the recheck once a staff member is locked) says free exactly when
    least_booked_free, which also tests the working time, finds the offered start free."""
    service = _service(capacity=capacity, buffer_before_minutes=before, buffer_after_minutes=after)
    first_look = _calendar([(480, 1020)], [])  # offered at 10:00, before the reload
    reloaded = _calendar([(480, 1020)], busy)
    reloaded.appointments = [
        Taken(_at(m), _at(m + 30), 1 if same_service else 2, _at(m)) for m, same_service in booked
    ]
    start = _at(600)
    assert free_time.least_booked_free(service, [first_look], start, MIDNIGHT)[1]
    _, free = free_time.least_booked_free(service, [reloaded], start, MIDNIGHT)
    assert free_time.still_free(service, reloaded, start) == bool(free)


@given(
    booked=st.lists(st.sampled_from([600, 615, 630]), max_size=5),
    capacity=st.integers(1, 4),
)
def test_seats_left_counts_the_group_session_at_the_same_start_and_nothing_else(booked, capacity):
    service = _service(capacity=capacity)
    start = _at(600)
    overlapping = [Taken(_at(m), _at(m + 30), 1, _at(m)) for m in booked]
    same_start = [m == 600 for m in booked]
    seats = free_time.seats_left(service, overlapping, start)
    if (capacity == 1 and booked) or not all(same_start):
        assert seats == 0
    else:
        assert seats == max(capacity - len(booked), 0)


def test_the_arithmetic_imports_neither_the_database_nor_flask():
    source = Path(free_time.__file__).read_text()
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"sqlalchemy", "flask", "shared", "services"}


def test_availability_reads_no_flask_app():
    from services.booking.operations import availability

    source = Path(availability.__file__).read_text()
    assert "flask" not in {
        (node.module or "").split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    }
    assert "current_app" not in source
