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


def test_concurrent_puts_of_one_consent_request_answer_200_and_record_it_once(
    booking_app, session, make_service, make_token, next_weekday, at, booking_body, monkeypatch
):
    """consent's status PUT and booking's own outbox recording the same request used to race
    (check, then insert): the loser's INSERT hit the unique constraint, a 500."""
    from services.booking.models import AppointmentConsent, AppointmentEvent

    monkeypatch.setitem(booking_app.config, "PROPAGATE_EXCEPTIONS", False)
    service = make_service(required_consent_template_ids=[7])
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    )
    appointment_id = response.get_json()["appointment"]["id"]
    headers = {"Authorization": f"Bearer {make_token('booking', 'service')}"}
    put = {"template_id": 7, "form_title": "Session recording", "status": "pending"}
    rounds, writers = range(100, 120), 4
    statuses: list[int] = []
    for request_id in rounds:
        barrier = threading.Barrier(writers)

        def writer(request_id: int = request_id, barrier=barrier) -> None:
            client = booking_app.test_client()
            barrier.wait()
            answer = client.put(
                f"/api/v1/appointments/{appointment_id}/consents/{request_id}",
                json=put,
                headers=headers,
            )
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert Counter(statuses) == Counter({200: len(rounds) * writers})
    rows = session.scalars(
        sa.select(AppointmentConsent.request_id).where(
            AppointmentConsent.appointment_id == appointment_id
        )
    ).all()
    assert sorted(rows) == list(rounds)
    recorded = Counter(
        event.details["request_id"]
        for event in session.scalars(
            sa.select(AppointmentEvent).where(
                AppointmentEvent.appointment_id == appointment_id,
                AppointmentEvent.action == "consent",
            )
        )
    )
    assert recorded == Counter(dict.fromkeys(rounds, 1))  # each request's status recorded once
    session.rollback()
