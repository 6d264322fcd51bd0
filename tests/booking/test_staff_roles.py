"""Staff roles and the lookup by email the console signs people in with."""

from __future__ import annotations

STAFF = {"name": "Grace Okafor", "email": "Office@Maple.example", "time_zone": "America/Toronto"}


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_staff_member_is_staff_unless_made_admin(booking_app, make_token):
    client = booking_app.test_client()
    admin = _headers(make_token("booking", "admin"))
    plain = client.post(
        "/api/v1/staff", json={**STAFF, "email": "amira@maple.example"}, headers=admin
    )
    office = client.post("/api/v1/staff", json={**STAFF, "role": "admin"}, headers=admin)
    assert plain.get_json()["role"] == "staff" and office.get_json()["role"] == "admin"
    wrong = client.post("/api/v1/staff", json={**STAFF, "role": "owner"}, headers=admin)
    assert wrong.status_code == 422 and "role" in wrong.get_json()["errors"]


def test_a_service_token_finds_a_staff_member_by_email_in_any_letter_case(booking_app, make_token):
    client = booking_app.test_client()
    admin = _headers(make_token("booking", "admin"))
    created = client.post("/api/v1/staff", json=STAFF, headers=admin).get_json()
    service = _headers(make_token("booking", "service"))
    found = client.get("/api/v1/staff?email=office@maple.EXAMPLE", headers=service)
    assert found.status_code == 200 and [s["id"] for s in found.get_json()] == [created["id"]]
    nobody = client.get("/api/v1/staff?email=nobody@maple.example", headers=service)
    assert nobody.status_code == 200 and nobody.get_json() == []
    mine = client.get(f"/api/v1/staff/{created['id']}", headers=service)
    assert mine.status_code == 200


def test_staff_tokens_cannot_look_staff_up(booking_app, make_token):
    client = booking_app.test_client()
    staff = _headers(make_token("booking", "staff", staff_id=1))
    assert client.get("/api/v1/staff?email=office@maple.example", headers=staff).status_code == 403
