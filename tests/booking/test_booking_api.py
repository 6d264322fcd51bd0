"""Booking through the public API: slots, booking, errors, idempotency, nothing left behind."""

from __future__ import annotations

import sqlalchemy as sa

from services.booking.models import Appointment, OutboxIntent


def count(session, model) -> int:
    """Rows of a table now (ends the read so SQLite's write lock is not held)."""
    value = session.scalar(sa.select(sa.func.count()).select_from(model))
    session.rollback()
    return value


def test_public_service_list_needs_no_token(booking_app, make_service):
    make_service(
        name="Tax clinic", slug="tax-clinic", modes=["in_person", "phone"], location="1 Main St"
    )
    response = booking_app.test_client().get("/api/v1/services")
    assert response.status_code == 200
    assert [s["slug"] for s in response.get_json()] == ["tax-clinic"]
    only_video = booking_app.test_client().get("/api/v1/services?mode=video").get_json()
    assert only_video == []


def test_admins_list_every_service_with_unlisted_and_inactive_ones(
    booking_app, make_service, make_token
):
    make_service(slug="listed")
    make_service(slug="unlisted", listed=False)
    make_service(slug="retired", active=False)
    client = booking_app.test_client()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    assert [s["slug"] for s in client.get("/api/v1/services/all", headers=admin).get_json()] == [
        "listed",
        "unlisted",
        "retired",
    ]
    assert [s["slug"] for s in client.get("/api/v1/services").get_json()] == ["listed"]
    staff = {"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=1)}"}
    assert client.get("/api/v1/services/all", headers=staff).status_code == 403
    assert client.get("/api/v1/services/all").status_code == 401


def test_slots_show_utc_and_viewer_zone(booking_app, make_service, next_weekday):
    service = make_service()
    day = next_weekday(0)
    response = booking_app.test_client().get(
        f"/api/v1/services/{service.id}/slots?start={day}&end={day}&tz=Europe/Paris"
    )
    assert response.status_code == 200
    slots = response.get_json()["slots"]
    first = slots[0]
    assert first["start"].endswith("Z")
    # 09:00 in Toronto (EST, UTC-5) is 15:00 in Paris (CET, UTC+1) in late November or winter.
    assert first["start_local"][11:16] in ("15:00", "14:00")
    assert first["staff_ids"] == [service.staff[0].id]


def test_slot_range_longer_than_62_days_is_422(booking_app, make_service, next_weekday):
    service = make_service()
    day = next_weekday(0)
    response = booking_app.test_client().get(
        f"/api/v1/services/{service.id}/slots?start={day}&end={day.replace(year=day.year + 1)}"
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "range_too_long"


def test_unknown_time_zone_is_422(booking_app, make_service, next_weekday):
    service = make_service()
    day = next_weekday(0)
    response = booking_app.test_client().get(
        f"/api/v1/services/{service.id}/slots?start={day}&end={day}&tz=Mars/Olympus"
    )
    assert response.status_code == 422
    assert "tz" in response.get_json()["errors"]


def test_booking_returns_appointment_and_manage_token_once(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service()
    start = at(next_weekday(1), 10)
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, start)
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["manage_token"].startswith("fdm_")
    assert body["manage_url"].endswith("/booking/manage/" + body["manage_token"])
    appointment = body["appointment"]
    assert appointment["status"] == "confirmed"
    assert appointment["video_url"] == "https://meet.example.org/amira"
    assert appointment["backup"] == {
        "callback_number": "+14165550123",
        "dial_in": "+14165550100",
        "use_dial_in": True,
    }
    assert appointment["accommodations"]["interpreter_language"] == "Portuguese"
    assert appointment["consent_status"] == "none"
    manage = booking_app.test_client().get(f"/api/v1/manage/{body['manage_token']}")
    assert manage.status_code == 200
    assert "manage_token" not in manage.get_json()
    assert "staff_notes" not in manage.get_json()


def test_second_booking_of_slot_gets_409(booking_app, make_service, next_weekday, at, booking_body):
    service = make_service()
    start = at(next_weekday(1), 10)
    client = booking_app.test_client()
    assert (
        client.post("/api/v1/appointments", json=booking_body(service.id, start)).status_code == 201
    )
    response = client.post("/api/v1/appointments", json=booking_body(service.id, start))
    assert response.status_code == 409
    assert response.get_json()["code"] == "slot_taken"


def test_buffer_after_blocks_the_next_slot(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service()  # 45 min + 10 min buffer after
    day = next_weekday(1)
    client = booking_app.test_client()
    assert (
        client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 10))).status_code
        == 201
    )
    taken = client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 10, 45)))
    assert taken.status_code == 409
    free = client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 11)))
    assert free.status_code == 201


def test_time_outside_availability_is_422(
    booking_app, make_service, next_weekday, at, booking_body, session
):
    service = make_service()
    client = booking_app.test_client()
    for start in (
        at(next_weekday(5), 10),  # Saturday
        at(next_weekday(1), 8),  # before opening
        at(next_weekday(1), 16, 30),  # would end after 17:00
        at(next_weekday(1), 10, 5),  # not on the 15-minute grid
    ):
        response = client.post("/api/v1/appointments", json=booking_body(service.id, start))
        assert response.status_code == 422, start
        assert response.get_json()["code"] == "outside_availability"
    assert count(session, Appointment) == 0
    assert count(session, OutboxIntent) == 0


def test_video_without_backup_plan_is_422_and_leaves_nothing(
    booking_app, make_service, next_weekday, at, booking_body, session
):
    service = make_service()
    body = booking_body(service.id, at(next_weekday(1), 10), backup={"callback_number": None})
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "backup_plan_required"
    assert count(session, Appointment) == 0


def test_phone_mode_needs_a_callback_number(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service()
    body = booking_body(
        service.id, at(next_weekday(1), 10), mode="phone", backup={"use_dial_in": True}
    )
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    assert "backup.callback_number" in response.get_json()["errors"]


def test_mode_not_offered_is_422(booking_app, make_service, next_weekday, at, booking_body):
    service = make_service(modes=["phone"])
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "mode_not_offered"


def test_invalid_phone_and_email_are_422(booking_app, make_service, next_weekday, at, booking_body):
    service = make_service()
    body = booking_body(service.id, at(next_weekday(1), 10))
    body["client"] = {**body["client"], "email": "not-an-email", "phone": "12"}
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert "client" in errors


def test_unknown_service_and_staff_are_404(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service()
    client = booking_app.test_client()
    start = at(next_weekday(1), 10)
    assert client.post("/api/v1/appointments", json=booking_body(9999, start)).status_code == 404
    response = client.post(
        "/api/v1/appointments", json=booking_body(service.id, start, staff_id=9999)
    )
    assert response.status_code == 404


def test_same_idempotency_key_replays_the_booking(
    booking_app, make_service, next_weekday, at, booking_body, session
):
    service = make_service()
    body = booking_body(service.id, at(next_weekday(1), 10))
    client = booking_app.test_client()
    headers = {"Idempotency-Key": "book-once-123"}
    first = client.post("/api/v1/appointments", json=body, headers=headers)
    again = client.post("/api/v1/appointments", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["appointment"]["id"] == first.get_json()["appointment"]["id"]
    assert count(session, Appointment) == 1
    other = client.post(
        "/api/v1/appointments", json={**body, "client_notes": "changed"}, headers=headers
    )
    assert other.status_code == 409
    assert other.get_json()["code"] == "idempotency_key_reused"


def test_another_callers_idempotency_key_never_replays_their_manage_token(
    booking_app, make_service, next_weekday, at, booking_body, session
):
    """A key belongs to its caller (here: the client's address): the same key and body from
    another address is a new request (the slot is taken: 409), never the first booking."""
    service = make_service()
    body = booking_body(service.id, at(next_weekday(1), 10))
    client = booking_app.test_client()
    headers = {"Idempotency-Key": "book-once-123"}
    first = client.post(
        "/api/v1/appointments",
        json=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    stranger = client.post(
        "/api/v1/appointments",
        json=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    again = client.post(
        "/api/v1/appointments",
        json=body,
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )

    assert first.status_code == 201
    assert stranger.status_code == 409 and stranger.get_json()["code"] == "slot_taken"
    assert first.get_json()["manage_token"] not in stranger.get_data(as_text=True)
    assert again.status_code == 200
    assert again.get_json()["manage_token"] == first.get_json()["manage_token"]
    assert count(session, Appointment) == 1
    stored = session.scalar(sa.select(Appointment.idempotency_key))
    assert "book-once-123" not in stored and "198.51.100.7" not in stored


def test_least_booked_staff_member_gets_the_booking(
    booking_app, make_staff, make_service, next_weekday, at, booking_body
):
    amira = make_staff()
    sami = make_staff(name="Sami", email="sami@maple.example")
    service = make_service(staff=[amira, sami])
    day = next_weekday(1)
    client = booking_app.test_client()
    first = client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 10)))
    second = client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 10)))
    assert first.status_code == second.status_code == 201
    staff_ids = {
        first.get_json()["appointment"]["staff_id"],
        second.get_json()["appointment"]["staff_id"],
    }
    assert staff_ids == {amira.id, sami.id}
    third = client.post("/api/v1/appointments", json=booking_body(service.id, at(day, 10)))
    assert third.status_code == 409


def test_a_booking_with_a_mode_not_offered_and_no_backup_plan_names_both_in_one_422(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service(modes=["video"])
    body = booking_body(
        service.id, at(next_weekday(1), 10), mode="phone", backup={"callback_number": None}
    )
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert set(problem["errors"]) == {"mode", "backup.callback_number"}
