"""The slot search cache: a repeated search is one small query, and after any write to the
calendars it stands on (booking, cancellation, busy time, rules, exceptions, a removed external
calendar, an appointment moved to someone else) it answers exactly what a fresh search does."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from services.booking.caches import make_caches
from services.booking.models import BusyBlock, ExternalCalendar, FeedVersion
from services.booking.operations import appointments, availability, calendars, catalog
from shared import db as shared_db

TZ = "America/Vancouver"


def _view(slots) -> list[tuple]:
    return [(slot.start, tuple(slot.staff_ids), slot.seats_left) for slot in slots]


def test_a_cached_search_answers_what_a_fresh_one_does_after_every_kind_of_write(
    session, make_staff, make_service, book, next_weekday, at
):
    first, second = make_staff(), make_staff(email="bo@maple.example")
    service = make_service(staff=[first, second], min_notice_minutes=60)
    day = next_weekday(2)
    cache = make_caches(slot_searches=16).slots

    def search(with_cache):
        return availability.search_slots(
            session=session,
            service=service,
            start_date=day - timedelta(days=1),
            end_date=day + timedelta(days=1),
            tz=TZ,
            now=datetime.now(UTC),
            cache=cache if with_cache else None,
        )

    def check() -> list[tuple]:
        cached, fresh = _view(search(True)), _view(search(False))
        assert cached == fresh
        assert _view(search(True)) == fresh  # and again, from the cache
        return fresh

    external = ExternalCalendar(staff_id=second.id, url="https://calendar.example/x.ics")
    session.add(external)
    session.commit()
    booked: list = []
    writes = {
        "booking": lambda: booked.append(book(service, at(day, 10), staff_id=first.id)),
        "cancellation": lambda: appointments.cancel(
            session=session, appointment=booked[0].appointment, actor=appointments.CLIENT
        ),
        "busy block": lambda: catalog.add_busy_block(
            session=session, staff=second, start=at(day, 13), end=at(day, 15)
        ),
        "busy block removed": lambda: catalog.delete_busy_block(
            session=session,
            staff=second,
            block_id=session.scalar(sa.select(BusyBlock.id).where(BusyBlock.source == "manual")),
        ),
        "external calendar's busy time": lambda: session.add(
            BusyBlock(
                staff_id=second.id,
                start=at(day, 9),
                end=at(day, 12),
                source=calendars.source_of(external.id),
            )
        ),
        "external calendar removed (a bulk DELETE)": lambda: calendars.delete_calendar(
            session=session, staff=second, calendar_id=external.id
        ),
        "day off": lambda: catalog.add_exception(
            session=session, staff=first, date=day, kind="off"
        ),
        "weekly rules replaced (a bulk DELETE)": lambda: catalog.replace_rules(
            session=session,
            staff=second,
            rules=[{"weekday": day.weekday(), "start_time": time(12), "end_time": time(14)}],
        ),
    }
    before = check()
    for name, write in writes.items():
        write()
        session.commit()
        after = check()
        assert after != before, f"{name} changed nothing: the test would not see a stale cache"
        before = after


def test_a_repeated_search_reads_one_small_query_and_cuts_notice_by_its_own_clock(
    booking_app, session, make_service, next_weekday, at
):
    service = make_service(min_notice_minutes=24 * 60)
    day = next_weekday(2)
    cache = make_caches(slot_searches=16).slots
    statements: list[str] = []
    engine = shared_db.get_db(booking_app).engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def search(now):
        return availability.search_slots(
            session=session,
            service=service,
            start_date=day,
            end_date=day,
            tz=TZ,
            now=now,
            cache=cache,
        )

    early = at(day, 0) - timedelta(days=3)
    all_day = search(early)
    statements.clear()
    assert _view(search(early)) == _view(all_day)
    assert len(statements) == 1 and "feed_versions" in statements[0]
    # The same entry a day later: the notice now hides the morning, as a fresh search does.
    later = at(day, 11) - timedelta(days=1)
    cut = search(later)
    fresh = availability.search_slots(
        session=session, service=service, start_date=day, end_date=day, tz=TZ, now=later
    )
    assert _view(cut) == _view(fresh)
    assert cut and cut[0].start >= at(day, 11) and len(cut) < len(all_day)


def test_an_appointment_moved_to_another_staff_member_moves_both_versions(
    session, make_staff, make_service, book, next_weekday, at
):
    first, second = make_staff(), make_staff(email="bo@maple.example")
    service = make_service(staff=[first, second])
    booked = book(service, at(next_weekday(2), 10), staff_id=first.id)

    def versions() -> dict[int, int]:
        return dict(
            session.execute(sa.select(FeedVersion.staff_id, FeedVersion.availability_version)).all()
        )

    before = versions()
    booked.appointment.staff_id = second.id
    session.commit()
    after = versions()
    assert after[first.id] > before[first.id] and after[second.id] > before.get(second.id, 0)


def test_the_app_cache_follows_its_setting(booking_app):
    from services.booking.app import create_app

    assert booking_app.extensions["booking_caches"].slots.maxsize == 256
    other = create_app({**booking_app.config, "SLOT_CACHE_SIZE": 0})
    cache = other.extensions["booking_caches"].slots
    cache.put(("key",), [])
    assert cache.get(("key",)) is None
