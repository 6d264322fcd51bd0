"""Lifecycle through the API: manage by token, staff actions, history, access, consents."""

from __future__ import annotations

import pytest


@pytest.fixture
def booked(booking_app, make_service, next_weekday, at, booking_body):
    """A booked appointment through the API: (service, body of the 201 answer)."""
    service = make_service()
    response = booking_app.test_client().post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    )
    assert response.status_code == 201
    return service, response.get_json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_client_reschedules_then_cancels_by_token(booking_app, booked, next_weekday, at):
    _, body = booked
    client = booking_app.test_client()
    token = body["manage_token"]
    new_start = at(next_weekday(1), 14)
    moved = client.post(f"/api/v1/manage/{token}/reschedule", json={"start": iso(new_start)})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start"] == iso(new_start)
    cancelled = client.post(f"/api/v1/manage/{token}/cancel", json={"reason": "Found a job"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    # A used link answers exactly like an unknown one.
    used = client.get(f"/api/v1/manage/{token}")
    unknown = client.get("/api/v1/manage/fdm_" + "0" * 48)
    assert used.status_code == unknown.status_code == 404
    assert used.get_json()["code"] == unknown.get_json()["code"] == "manage_link_not_found"
    assert client.post(f"/api/v1/manage/{token}/cancel", json={}).status_code == 404


def test_reschedule_keeps_uid_and_raises_sequence(
    booking_app, booked, make_token, next_weekday, at
):
    _, body = booked
    appointment = body["appointment"]
    admin = auth(make_token("booking", "admin"))
    client = booking_app.test_client()
    moved = client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        json={"start": iso(at(next_weekday(2), 9))},
        headers=admin,
    ).get_json()
    assert moved["uid"] == appointment["uid"]
    assert moved["sequence"] == appointment["sequence"] + 1
    # The old time is free again, the new one is taken.
    slots = client.get(
        f"/api/v1/services/{appointment['service_id']}/slots"
        f"?start={next_weekday(1)}&end={next_weekday(2)}&tz=America/Toronto"
    ).get_json()["slots"]
    starts = {s["start"] for s in slots}
    assert appointment["start"] in starts
    assert iso(at(next_weekday(2), 9)) not in starts


def test_reschedule_to_a_taken_time_is_409_and_changes_nothing(
    booking_app, booked, make_token, next_weekday, at, booking_body
):
    service, body = booked
    client = booking_app.test_client()
    other = at(next_weekday(1), 13)
    assert (
        client.post("/api/v1/appointments", json=booking_body(service.id, other)).status_code == 201
    )
    admin = auth(make_token("booking", "admin"))
    appointment_id = body["appointment"]["id"]
    response = client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": iso(other)},
        headers=admin,
    )
    assert response.status_code == 409
    again = client.get(f"/api/v1/appointments/{appointment_id}", headers=admin).get_json()
    assert again["start"] == body["appointment"]["start"] and again["sequence"] == 0
    outside = client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": iso(at(next_weekday(6), 10))},
        headers=admin,
    )
    assert outside.status_code == 422
    assert outside.get_json()["code"] == "outside_availability"


def test_staff_cannot_complete_or_mark_no_show_an_appointment_that_has_not_started(
    booking_app, booked, make_token
):
    _, body = booked
    appointment = body["appointment"]
    staff = auth(make_token("booking", "staff", staff_id=appointment["staff_id"]))
    client = booking_app.test_client()
    for action, payload in (("complete", {"outcome": "resolved"}), ("no-show", None)):
        refused = client.post(
            f"/api/v1/appointments/{appointment['id']}/{action}", json=payload, headers=staff
        )
        assert refused.status_code == 409, refused.get_json()
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["code"] == "appointment_not_started"
    again = client.get(f"/api/v1/appointments/{appointment['id']}", headers=staff).get_json()
    assert again["status"] == "confirmed"
    assert client.get(f"/api/v1/manage/{body['manage_token']}").status_code == 200


def test_staff_completes_with_outcome_and_books_a_follow_up(
    booking_app, booked, make_token, next_weekday, at, started
):
    _, body = booked
    appointment = body["appointment"]
    started(appointment["id"])
    staff = auth(make_token("booking", "staff", staff_id=appointment["staff_id"]))
    client = booking_app.test_client()
    done = client.post(
        f"/api/v1/appointments/{appointment['id']}/complete",
        json={"outcome": "follow_up_needed", "notes": "Needs help with the PR card."},
        headers=staff,
    )
    assert done.status_code == 200
    assert done.get_json()["status"] == "completed"
    assert done.get_json()["outcome"] == "follow_up_needed"
    follow = client.post(
        f"/api/v1/appointments/{appointment['id']}/follow-up",
        json={"start": iso(at(next_weekday(1, weeks_ahead=2), 10))},
        headers=staff,
    )
    assert follow.status_code == 201, follow.get_json()
    follow_up = follow.get_json()["appointment"]
    assert follow_up["follow_up_of_id"] == appointment["id"]
    assert follow_up["client_email"] == appointment["client_email"]
    assert follow_up["staff_id"] == appointment["staff_id"]
    again = client.post(
        f"/api/v1/appointments/{appointment['id']}/complete",
        json={"outcome": "resolved"},
        headers=staff,
    )
    assert again.status_code == 409
    assert again.get_json()["code"] == "invalid_status"


def test_staff_booking_a_follow_up_never_get_the_clients_manage_link(
    booking_app, booked, make_token, next_weekday, at
):
    """The manage link lets its holder act as the client: the follow-up's goes to the client
    in their confirmation, and staff get the appointment alone."""
    _, body = booked
    appointment = body["appointment"]
    staff = auth(make_token("booking", "staff", staff_id=appointment["staff_id"]))
    follow = booking_app.test_client().post(
        f"/api/v1/appointments/{appointment['id']}/follow-up",
        json={"start": iso(at(next_weekday(1, weeks_ahead=2), 10))},
        headers=staff,
    )
    assert follow.status_code == 201, follow.get_json()
    assert set(follow.get_json()) == {"appointment"}
    assert "fdm_" not in follow.get_data(as_text=True)


def test_no_show_and_history_record_who_did_what(booking_app, booked, make_token, started):
    _, body = booked
    appointment_id = body["appointment"]["id"]
    started(appointment_id)
    staff_id = body["appointment"]["staff_id"]
    staff = auth(make_token("booking", "staff", staff_id=staff_id))
    client = booking_app.test_client()
    patched = client.patch(
        f"/api/v1/appointments/{appointment_id}",
        json={"staff_notes": "Prefers French", "accommodations": {"captions": False}},
        headers=staff,
    )
    assert patched.status_code == 200
    assert patched.get_json()["staff_notes"] == "Prefers French"
    assert patched.get_json()["accommodations"]["captions"] is False
    assert (
        client.post(f"/api/v1/appointments/{appointment_id}/no-show", headers=staff).status_code
        == 200
    )
    history = client.get(f"/api/v1/appointments/{appointment_id}/history", headers=staff).get_json()
    assert [(e["action"], e["actor"]) for e in history] == [
        ("booked", "client"),
        ("updated", f"staff:{staff_id}"),
        ("no_show", f"staff:{staff_id}"),
    ]
    assert history[1]["details"] == {"fields": ["accommodation_captions", "staff_notes"]}


def test_staff_token_sees_only_own_appointments(booking_app, booked, make_token, make_staff):
    _, body = booked
    appointment_id = body["appointment"]["id"]
    other = make_staff(name="Diego", email="diego@maple.example", time_zone="America/Vancouver")
    stranger = auth(make_token("booking", "staff", staff_id=other.id))
    client = booking_app.test_client()
    for method, path, kwargs in (
        ("get", f"/api/v1/appointments/{appointment_id}", {}),
        ("get", f"/api/v1/appointments/{appointment_id}/history", {}),
        ("patch", f"/api/v1/appointments/{appointment_id}", {"json": {"staff_notes": "x"}}),
        ("post", f"/api/v1/appointments/{appointment_id}/cancel", {"json": {}}),
        ("get", f"/api/v1/staff/{body['appointment']['staff_id']}/availability/rules", {}),
    ):
        response = getattr(client, method)(path, headers=stranger, **kwargs)
        assert response.status_code == 404, (method, path)
    assert client.get("/api/v1/appointments", headers=stranger).get_json() == []
    owner = auth(make_token("booking", "staff", staff_id=body["appointment"]["staff_id"]))
    listed = client.get("/api/v1/appointments", headers=owner).get_json()
    assert [a["id"] for a in listed] == [appointment_id]


def test_staff_edits_own_availability_only(booking_app, make_staff, make_token, next_weekday):
    amira = make_staff()
    diego = make_staff(name="Diego", email="diego@maple.example")
    token = auth(make_token("booking", "staff", staff_id=amira.id))
    client = booking_app.test_client()
    rules = {"rules": [{"weekday": 0, "start_time": "10:00", "end_time": "12:00"}]}
    assert (
        client.put(
            f"/api/v1/staff/{amira.id}/availability/rules", json=rules, headers=token
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/api/v1/staff/{diego.id}/availability/rules", json=rules, headers=token
        ).status_code
        == 404
    )
    bad = {"rules": [{"weekday": 0, "start_time": "12:00", "end_time": "10:00"}]}
    assert (
        client.put(
            f"/api/v1/staff/{amira.id}/availability/rules", json=bad, headers=token
        ).status_code
        == 422
    )
    day_off = client.post(
        f"/api/v1/staff/{amira.id}/availability/exceptions",
        json={"date": str(next_weekday(0)), "kind": "off"},
        headers=token,
    )
    assert day_off.status_code == 201
    assert client.post("/api/v1/staff", json={}, headers=token).status_code == 403


def test_admin_creates_staff_and_service(booking_app, make_token):
    admin = auth(make_token("booking", "admin"))
    client = booking_app.test_client()
    staff = client.post(
        "/api/v1/staff",
        json={
            "name": "Diego",
            "email": "diego@maple.example",
            "time_zone": "America/Vancouver",
            "languages": ["en", "es"],
            "dial_in": "+1 604 555 0199",
        },
        headers=admin,
    )
    assert staff.status_code == 201
    assert staff.get_json()["dial_in"] == "+16045550199"
    service = client.post(
        "/api/v1/services",
        json={
            "name": "Tax clinic",
            "slug": "tax-clinic",
            "duration_minutes": 30,
            "modes": ["in_person", "phone"],
            "location": "12 Maple St",
            "staff_ids": [staff.get_json()["id"]],
        },
        headers=admin,
    )
    assert service.status_code == 201, service.get_json()
    assert service.get_json()["reminder_offsets_minutes"] == [1440, 60]
    clash = client.post(
        "/api/v1/services",
        json={"name": "Other", "slug": "tax-clinic", "duration_minutes": 30, "modes": ["phone"]},
        headers=admin,
    )
    assert clash.status_code == 409
    no_address = client.post(
        "/api/v1/services",
        json={"name": "X", "slug": "x", "duration_minutes": 30, "modes": ["in_person"]},
        headers=admin,
    )
    assert no_address.status_code == 422
    bad_zone = client.post(
        "/api/v1/staff",
        json={"name": "X", "email": "x@example.org", "time_zone": "Nowhere/Town"},
        headers=admin,
    )
    assert bad_zone.status_code == 422
    staff_id = staff.get_json()["id"]
    renamed = client.patch(f"/api/v1/staff/{staff_id}", json={"name": "Diego R."}, headers=admin)
    assert renamed.status_code == 200
    assert renamed.get_json()["languages"] == ["en", "es"]  # untouched fields stay
    service_id = service.get_json()["id"]
    no_location = client.patch(
        f"/api/v1/services/{service_id}", json={"location": None}, headers=admin
    )
    assert no_location.status_code == 422
    longer = client.patch(
        f"/api/v1/services/{service_id}", json={"duration_minutes": 40}, headers=admin
    ).get_json()
    assert longer["duration_minutes"] == 40 and longer["slug"] == "tax-clinic"


def test_consent_status_follows_consent_service_updates(
    booking_app, make_service, make_token, next_weekday, at, booking_body
):
    service = make_service(required_consent_template_ids=[7])
    client = booking_app.test_client()
    body = client.post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    ).get_json()
    appointment_id = body["appointment"]["id"]
    assert body["appointment"]["consent_status"] == "pending"
    service_token = auth(make_token("booking", "service"))
    put = {"template_id": 7, "form_title": "Session recording", "status": "pending"}
    path = f"/api/v1/appointments/{appointment_id}/consents/41"
    first = client.put(path, json=put, headers=service_token)
    assert first.status_code == 200
    assert first.get_json()[0]["request_id"] == 41 and first.get_json()[0]["status"] == "pending"
    signed = client.put(path, json={**put, "status": "signed"}, headers=service_token).get_json()
    assert [c["status"] for c in signed] == ["signed"]
    admin = auth(make_token("booking", "admin"))
    assert (
        client.get(f"/api/v1/appointments/{appointment_id}", headers=admin).get_json()[
            "consent_status"
        ]
        == "complete"
    )
    client.put(path, json={**put, "status": "withdrawn"}, headers=service_token)
    assert (
        client.get(f"/api/v1/appointments/{appointment_id}", headers=admin).get_json()[
            "consent_status"
        ]
        == "withdrawn"
    )
    assert (
        client.put(
            "/api/v1/appointments/999999/consents/41", json=put, headers=service_token
        ).status_code
        == 404
    )
    assert client.put(path, json=put, headers=admin).status_code == 403
