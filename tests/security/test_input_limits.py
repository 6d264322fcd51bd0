"""Body and field length limits on the public inputs: too long is a 422 naming the field (or a
413 for the whole body), never a 500 from the database."""

from __future__ import annotations

import pytest
from abuse_builders import SIGNATURE, at, booking_body, next_monday


def test_body_over_max_body_bytes_is_413(booking_app, service):
    limit = booking_app.config["MAX_BODY_BYTES"]
    body = booking_body(service["id"], at(next_monday(), 10))
    body["client_notes"] = "x" * (limit + 1)
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 413
    assert response.get_json()["code"] == "body_too_large"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client.name", "n" * 201),
        ("client.email", "a" * 310 + "@example.org"),
        ("client.language", "en-" + "-".join(["abcdefgh"] * 3)),
        ("client_notes", "x" * 4001),
        ("accommodations.other", "x" * 2001),
        ("accommodations.interpreter_language", "x" * 65),
    ],
)
def test_too_long_booking_fields_are_422(booking_app, service, field, value):
    body = booking_body(service["id"], at(next_monday(), 10))
    outer, _, inner = field.partition(".")
    if inner:
        body.setdefault(outer, {})[inner] = value
    else:
        body[outer] = value
    response = booking_app.test_client().post("/api/v1/appointments", json=body)
    assert response.status_code == 422, response.get_json()
    assert outer in response.get_json()["errors"]


def test_too_long_manage_reason_is_422(booking_app, book_api):
    token = book_api(10)["manage_token"]
    response = booking_app.test_client().post(
        f"/api/v1/manage/{token}/cancel", json={"reason": "r" * 2001}
    )
    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("typed_name", "n" * 201),
        ("proxy_relationship", "p" * 101),
        ("checkboxes", {f"box{i}": True for i in range(101)}),
        ("checkboxes", {"k" * 41: True}),
        ("fields", {f"field{i}": "x" for i in range(101)}),
        ("fields", {"pronouns": "x" * 5001}),
        ("signature_image", "data:image/png;base64," + "A" * 600_000),
    ],
)
def test_too_long_or_too_many_signing_fields_are_422(consent_app, make_signing_link, field, value):
    _, token = make_signing_link()
    response = consent_app.test_client().post(
        f"/api/v1/sign/{token}", json={**SIGNATURE, field: value}
    )
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_too_long_decline_reason_is_422(consent_app, make_signing_link):
    _, token = make_signing_link()
    response = consent_app.test_client().post(
        f"/api/v1/sign/{token}/decline", json={"reason": "r" * 1001}
    )
    assert response.status_code == 422


def test_notify_template_data_has_a_bounded_number_of_keys(notify_app, service_token):
    body = {
        "channel": "email",
        "to": "ana@example.org",
        "subject": "Hello",
        "text": "Hello",
        "data": {f"key{i}": i for i in range(101)},
    }
    response = notify_app.test_client().post(
        "/api/v1/messages", json=body, headers={"Authorization": f"Bearer {service_token}"}
    )
    assert response.status_code == 422
    assert "data" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("service", "schema", "field", "keyword"),
    [
        ("booking", "AppointmentCreate", "client_notes", "maxLength"),
        ("booking", "Client", "email", "maxLength"),
        ("booking", "Client", "language", "maxLength"),
        ("booking", "ServiceCreate", "resources", "maxItems"),
        ("booking", "ServiceCreate", "staff_ids", "maxItems"),
        ("booking", "StaffCreate", "languages", "maxItems"),
        ("booking", "Rules", "rules", "maxItems"),
        ("consent", "Signature", "typed_name", "maxLength"),
        ("consent", "Signature", "signature_image", "maxLength"),
        ("consent", "VersionContent", "checkboxes", "maxItems"),
        ("notify", "EmailMessage", "attachments", "maxItems"),
    ],
)
def test_limits_are_documented_in_the_openapi_document(apps, service, schema, field, keyword):
    spec = apps[service].test_client().get("/openapi.json").get_json()
    assert keyword in spec["components"]["schemas"][schema]["properties"][field]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/v1/appointments", {"json": {"service_id": 1, "client": {"name": "A\x00"}}}),
        ("post", "/api/v1/appointments", {"json": {"note\x00": 1}}),
        ("get", "/api/v1/services/1/slots", {"query_string": {"tz": "UTC\x00"}}),
        # Raw, not %00: what a lax server could pass on in the query string.
        ("get", "/api/v1/services/1/slots", {"environ_overrides": {"QUERY_STRING": "tz=UTC\x00"}}),
        ("get", "/intake%00", {}),
        ("post", "/intake", {"data": {"name": "A\x00"}}),
    ],
)
def test_nul_characters_are_refused_before_any_view(booking_app, method, path, kwargs):
    response = getattr(booking_app.test_client(), method)(path, **kwargs)
    assert response.status_code == 422
    assert response.get_json()["code"] == "nul_character"


def test_nul_characters_are_refused_by_every_service(apps, make_token, service_token):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    created = (
        apps["booking"]
        .test_client()
        .post(
            "/api/v1/services",
            json={"name": "Intake\x00", "slug": "intake", "duration_minutes": 30},
            headers=headers,
        )
    )
    service_headers = {"Authorization": f"Bearer {service_token}"}
    message = (
        apps["notify"]
        .test_client()
        .post(
            "/api/v1/messages",
            json={"channel": "email", "to": "ana@example.org", "subject": "Hi\x00", "text": "Hi"},
            headers=service_headers,
        )
    )
    consent_headers = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    template = (
        apps["consent"]
        .test_client()
        .post(
            "/api/v1/templates", json={"name": "Form\x00", "locales": {}}, headers=consent_headers
        )
    )
    for response in (created, message, template):
        assert response.status_code == 422
        assert response.get_json()["code"] == "nul_character"
