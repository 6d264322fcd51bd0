"""No double booking under concurrent requests, on whichever database the run uses."""

from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from services.booking.models import Appointment


def book_concurrently(app, bodies: list[dict]) -> Counter:
    """POST every body at the same moment from its own thread and client address (as many
    clients would; one address is rate-limited); count the status codes."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(number: int, body: dict) -> None:
        client = app.test_client()
        address = {"REMOTE_ADDR": f"198.51.100.{number % 250 + 1}"}
        barrier.wait()
        status = client.post("/api/v1/appointments", json=body, environ_base=address).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(statuses)


def confirmed(session) -> int:
    value = session.scalar(
        sa.select(sa.func.count()).select_from(Appointment).where(Appointment.status == "confirmed")
    )
    session.rollback()
    return value


def test_fifty_clients_booking_one_slot_get_one_201_and_49_409(
    booking_app, session, make_service, next_weekday, at, booking_body
):
    service = make_service()
    start = at(next_weekday(2), 11)
    bodies = [
        booking_body(
            service.id, start, client={"name": f"Client {i}", "email": f"c{i}@example.org"}
        )
        for i in range(50)
    ]
    assert book_concurrently(booking_app, bodies) == Counter({201: 1, 409: 49})
    assert confirmed(session) == 1


def test_overlapping_starts_booked_at_once_never_overlap(
    booking_app, session, make_service, next_weekday, at, booking_body
):
    service = make_service()  # 45 min + 10 min buffer: 10:00, 10:15, 10:30, 10:45 all collide
    day = next_weekday(2)
    bodies = [booking_body(service.id, at(day, 10, 15 * (i % 4))) for i in range(20)]
    result = book_concurrently(booking_app, bodies)
    assert result[201] == 1 and result[409] == 19
    assert confirmed(session) == 1


def test_group_session_sells_exactly_its_seats(
    booking_app, session, make_service, next_weekday, at, booking_body
):
    service = make_service(
        name="Job search workshop",
        slug="workshop",
        duration_minutes=90,
        capacity=3,
        modes=["video"],
    )
    start = at(next_weekday(3), 13)
    bodies = [
        booking_body(service.id, start, client={"name": f"C{i}", "email": f"w{i}@example.org"})
        for i in range(12)
    ]
    assert book_concurrently(booking_app, bodies) == Counter({201: 3, 409: 9})
    assert confirmed(session) == 3


def test_five_staff_take_five_concurrent_bookings_of_one_start(
    booking_app, session, make_staff, make_service, next_weekday, at, booking_body
):
    staff = [make_staff(name=f"S{i}", email=f"s{i}@maple.example") for i in range(5)]
    service = make_service(staff=staff)
    start = at(next_weekday(2), 14)
    bodies = [
        booking_body(service.id, start, client={"name": f"C{i}", "email": f"m{i}@example.org"})
        for i in range(20)
    ]
    assert book_concurrently(booking_app, bodies) == Counter({201: 5, 409: 15})
    staff_ids = session.scalars(sa.select(Appointment.staff_id)).all()
    session.rollback()
    assert sorted(staff_ids) == sorted(s.id for s in staff)
