"""The slot search of capacity-1 services reads busy time merged in SQL (gaps and islands):
it must offer exactly the slots the unmerged appointments and busy blocks leave free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.booking import free_time
from services.booking.operations import appointments, availability, catalog


def _unmerged_slots(session, service, day, tz, now) -> list[datetime]:
    """The starts free on `day` computed from every appointment and busy block one by one."""
    window_start = free_time.local_time(day, datetime.min.time(), ZoneInfo(tz))
    window_end = window_start + timedelta(days=1)
    calendars = availability.load_calendars(
        session=session, staff=service.staff, start=window_start, end=window_end
    )
    assert any(c.appointments for c in calendars)  # the reference really reads them unmerged
    starts: set[datetime] = set()
    for calendar in calendars:
        starts |= set(
            free_time.free_starts(
                service=service,
                calendar=calendar,
                window_start=window_start,
                window_end=window_end,
                now=now,
            )
        )
    return sorted(starts)


def test_merged_busy_time_offers_the_same_slots_as_each_appointment_and_block(
    session, make_staff, make_service, book, next_weekday, at
):
    first, second = make_staff(), make_staff(email="bo@maple.example")
    svc = make_service(staff=[first, second], buffer_before_minutes=5, buffer_after_minutes=10)
    day = next_weekday(2)
    # Back-to-back bookings (touching once buffered), a cancelled one, overlapping busy blocks,
    # and a block reaching into the day from the evening before.
    clients = iter(range(100))

    def book_for(staff, start):
        client = {
            "name": "Ana Souza",
            "language": "fr",
            "email": f"client{next(clients)}@example.org",
        }
        return book(svc, start, staff_id=staff.id, client=client)

    for hour in (9, 10, 11, 14):
        book_for(first, at(day, hour))
    cancelled = book_for(second, at(day, 15))
    appointments.cancel(
        session=session, appointment=cancelled.appointment, actor=appointments.CLIENT
    )
    catalog.add_busy_block(
        session=session, staff=second, start=at(day, 10, 30), end=at(day, 11, 30)
    )
    catalog.add_busy_block(session=session, staff=second, start=at(day, 11), end=at(day, 12, 15))
    catalog.add_busy_block(
        session=session, staff=first, start=at(day, 0) - timedelta(hours=3), end=at(day, 9, 30)
    )
    book_for(second, at(day, 13))
    session.commit()
    now = datetime.now(UTC)
    found = availability.search_slots(
        session=session, service=svc, start_date=day, end_date=day, tz="America/Toronto", now=now
    )
    assert [slot.start for slot in found] == _unmerged_slots(
        session, svc, day, "America/Toronto", now
    )
    # The cancelled time is free again; the merged blocks still hide what they cover.
    assert second.id in next(s for s in found if s.start == at(day, 15)).staff_ids
    assert at(day, 10) not in {s.start for s in found}
