"""Consent requests listed for the console: by appointment and by client email, a staff token
seeing only those of its own staff member's appointments, even when an admin made them."""

from __future__ import annotations

import pytest
from abuse_builders import FORM

from services.booking.operations import catalog
from shared import db as shared_db


@pytest.fixture
def consent_requests(apps, service, book_api, make_token):
    """Two of A's appointments, each with a request an admin made naming only the appointment,
    and staff member B. Returns the ids."""
    first = book_api(10, email="Client.Of.A@Example.org", name="Client Of-A")["appointment"]
    second = book_api(11, number=1, email="other@example.org", name="Other")["appointment"]
    with shared_db.get_db(apps["booking"]).transaction() as session:
        b = catalog.create_staff(
            session=session,
            name="Bo Other",
            email="bo@maple.example",
            time_zone="America/Toronto",
            languages=["en"],
        )
    consent = apps["consent"].test_client()
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    template = consent.post("/api/v1/templates", json=FORM, headers=admin).get_json()["id"]
    made = {}
    for appointment, email in ((first, "client.of.a@example.org"), (second, "other@example.org")):
        created = consent.post(
            "/api/v1/requests",
            json={
                "template_id": template,
                "client_name": appointment["client_name"],
                "client_email": email,
                "appointment_id": appointment["id"],
                "send": False,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.get_json()
        made[appointment["id"]] = created.get_json()
    return {"a": service["staff_id"], "b": b.id, "first": first, "second": second, "made": made}


def _list(apps, make_token, role, staff_id=None, **params):
    token = make_token("consent", role, staff_id=staff_id)
    return (
        apps["consent"]
        .test_client()
        .get(
            "/api/v1/requests",
            query_string=params or None,
            headers={"Authorization": f"Bearer {token}"},
        )
    )


def test_a_request_an_admin_ties_to_an_appointment_belongs_to_its_staff_member(
    apps, make_token, consent_requests
):
    first = consent_requests["first"]
    [made] = _list(apps, make_token, "admin", appointment_id=first["id"]).get_json()
    assert made["staff_id"] == consent_requests["a"]
    mine = _list(apps, make_token, "staff", consent_requests["a"], appointment_id=first["id"])
    assert mine.status_code == 200
    assert [r["appointment_id"] for r in mine.get_json()] == [first["id"]]


def test_staff_list_their_requests_by_client_email_in_any_case(apps, make_token, consent_requests):
    a = consent_requests["a"]
    found = _list(apps, make_token, "staff", a, client_email="CLIENT.of.a@example.ORG").get_json()
    assert [r["client_email"] for r in found] == ["client.of.a@example.org"]
    assert _list(apps, make_token, "staff", a, client_email="%").get_json() == []
    both = _list(apps, make_token, "staff", a).get_json()
    assert len(both) == 2


def test_another_staff_member_lists_none_of_them(apps, make_token, consent_requests):
    b = consent_requests["b"]
    first = consent_requests["first"]
    for params in (
        {"appointment_id": first["id"]},
        {"client_email": "client.of.a@example.org"},
        {},
    ):
        response = _list(apps, make_token, "staff", b, **params)
        assert response.status_code == 200 and response.get_json() == [], params


@pytest.mark.parametrize("email", ["x" * 321, "a\nb", "nul\x00", "\u202eevil"])
def test_a_client_email_that_cannot_be_one_is_refused_never_a_500(
    apps, make_token, consent_requests, email
):
    response = _list(apps, make_token, "admin", client_email=email)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
