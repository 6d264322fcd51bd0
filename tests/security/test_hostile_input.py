"""Hostile but well-formed input on the public endpoints: absurdly nested JSON, dates at the
ends of Python's calendar, OPTIONS on protected routes. Each is a 4xx problem, never a 500."""

from __future__ import annotations

import pytest
from abuse_builders import at, booking_body, next_monday

NESTED = "[" * 100_000


def assert_problem(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    if status is not None:
        assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_json_depth_ignores_brackets_inside_strings():
    from shared.app import json_depth

    assert json_depth(b'{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert json_depth(b'["\\"[[[", []]') == 2


@pytest.mark.parametrize("body", [NESTED, '{"a": ' * 50_000, "[" * 33 + "]" * 33])
def test_deeply_nested_json_is_a_400_on_booking_manage_and_signing(
    apps, book_api, make_signing_link, body
):
    token = book_api(10)["manage_token"]
    _, signing = make_signing_link()
    for service, path in (
        ("booking", "/api/v1/appointments"),
        ("booking", f"/api/v1/manage/{token}/cancel"),
        ("consent", f"/api/v1/sign/{signing}"),
    ):
        response = (
            apps[service].test_client().post(path, data=body, content_type="application/json")
        )
        assert assert_problem(response, 400)["code"] == "json_too_deep", path


def test_json_nested_as_deep_as_allowed_is_parsed_as_usual(booking_app, service):
    body = booking_body(service["id"], at(next_monday(), 10))
    body["client_notes"] = "[" * 3000  # brackets in a string are text
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "start", ["9999-12-31T15:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z"]
)
def test_dates_at_the_ends_of_the_calendar_are_422_on_booking_and_reschedule(
    booking_app, service, book_api, start
):
    client = booking_app.test_client()
    body = booking_body(service["id"], at(next_monday(), 10))
    body["start"] = start
    problem = assert_problem(client.post("/api/v1/appointments", json=body), 422)
    assert "start" in problem["errors"]
    token = book_api(11)["manage_token"]
    moved = client.post(f"/api/v1/manage/{token}/reschedule", json={"start": start})
    assert "start" in assert_problem(moved, 422)["errors"]


@pytest.mark.parametrize(
    ("start", "end"), [("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01")]
)
def test_slot_search_at_the_ends_of_the_calendar_is_422(booking_app, service, start, end):
    response = booking_app.test_client().get(
        f"/api/v1/services/{service['id']}/slots", query_string={"start": start, "end": end}
    )
    assert "start" in assert_problem(response, 422)["errors"]


@pytest.mark.parametrize("path", ["events", "record.pdf"])
def test_options_on_a_protected_request_route_asks_for_a_token(
    consent_app, make_signing_link, consent_admin, path
):
    request_id, _ = make_signing_link()
    client = consent_app.test_client()
    anonymous = client.options(f"/api/v1/requests/{request_id}/{path}")
    assert assert_problem(anonymous, 401)["code"] == "token_missing"
    allowed = client.options(f"/api/v1/requests/{request_id}/{path}", headers=consent_admin)
    assert allowed.status_code == 200
    assert "GET" in allowed.headers["Allow"]


def test_options_on_a_public_route_still_lists_the_methods(consent_app, make_signing_link):
    _, token = make_signing_link()
    response = consent_app.test_client().options(f"/api/v1/sign/{token}")
    assert response.status_code == 200
    assert "POST" in response.headers["Allow"]
