"""The organization's profile API: public read, admin write, field errors, the logo."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

PROFILE = {
    "name": "Maple Community Services",
    "phone": "+1 416 555 0199",
    "email": "hello@maple.example",
    "address": "200 Queen Street West, Toronto ON M5V 3C6",
    "hours": {"en": "Monday to Friday, 9:00 to 17:00", "fr": "Du lundi au vendredi, 9 h à 17 h"},
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}


def image(kind: str, size=(64, 32)) -> bytes:
    """A real image file: random pixels, so a truncated copy lacks some of them."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture
def admin(make_token):
    return {"Authorization": f"Bearer {make_token('booking', 'admin')}"}


def test_profile_before_it_is_saved_comes_from_the_settings(booking_app):
    body = booking_app.test_client().get("/api/v1/organization").get_json()
    assert body["name"] == booking_app.config["ORG_NAME"]
    assert body["phone"] is None and body["logo_url"] is None and body["hours"] == {}


def test_admin_saves_the_profile_and_anyone_reads_it(booking_app, admin):
    client = booking_app.test_client()
    saved = client.put("/api/v1/organization", json=PROFILE, headers=admin)
    assert saved.status_code == 200, saved.get_json()
    public = client.get("/api/v1/organization").get_json()
    assert public["name"] == "Maple Community Services"
    assert public["phone"] == "+14165550199"  # stored as E.164
    assert public["hours"]["fr"].startswith("Du lundi")
    assert public["reply_to"] == "frontdesk@maple.example"


@pytest.mark.parametrize("role", ["staff", "service"])
def test_only_an_admin_changes_the_profile(booking_app, make_token, role):
    token = make_token("booking", role, staff_id=1 if role == "staff" else None)
    client = booking_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/organization", json=PROFILE, headers=headers).status_code == 403
    assert client.put("/api/v1/organization", json=PROFILE).status_code == 401
    logo = client.put(
        "/api/v1/organization/logo", data=image("PNG"), content_type="image/png", headers=headers
    )
    assert logo.status_code == 403
    assert client.delete("/api/v1/organization/logo", headers=headers).status_code == 403


def test_bad_fields_are_problem_json_field_errors(booking_app, admin):
    bad = {
        **PROFILE,
        "name": "Two\nlines",
        "phone": "12",
        "email": "not an address",
        "hours": {"xx": "never", "en": "x" * 301},
        "default_language": "de",
    }
    response = booking_app.test_client().put("/api/v1/organization", json=bad, headers=admin)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    for field in ("name", "phone", "email", "hours", "default_language"):
        assert any(key.startswith(field) for key in errors), (field, errors)


@pytest.mark.parametrize(("kind", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_logo_upload_is_served_publicly_with_caching_headers(
    booking_app, admin, kind, content_type
):
    client = booking_app.test_client()
    content = image(kind)
    answer = client.put(
        "/api/v1/organization/logo", data=content, content_type=content_type, headers=admin
    )
    assert answer.status_code == 200, answer.get_json()
    logo_url = answer.get_json()["logo_url"]
    assert logo_url.startswith("http://frontdesk.test/booking/api/v1/organization/logo?v=")
    served = client.get("/api/v1/organization/logo")
    assert served.status_code == 200 and served.data == content
    assert served.content_type == content_type
    assert "max-age" in served.headers["Cache-Control"] and served.headers["ETag"]
    again = client.get(
        "/api/v1/organization/logo", headers={"If-None-Match": served.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.delete("/api/v1/organization/logo", headers=admin).get_json()["logo_url"] is None
    assert client.get("/api/v1/organization/logo").status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "image/png",
            422,
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "image/png", 422),  # a PNG signature, no image
        (image("PNG")[:3000], "image/png", 422),  # truncated
        (image("JPEG", size=(200, 200))[:5000], "image/jpeg", 422),
        (image("WEBP", size=(200, 200))[:5000], "image/webp", 422),
        (b"<svg/>", "image/svg+xml", 415),
        (b"", "image/jpeg", 422),
    ],
)
def test_a_logo_that_does_not_decode_is_refused(booking_app, admin, content, content_type, status):
    response = booking_app.test_client().put(
        "/api/v1/organization/logo", data=content, content_type=content_type, headers=admin
    )
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    if status == 422:
        assert response.get_json()["code"] == "invalid_logo"


def test_a_huge_logo_is_refused(booking_app, admin):
    content = image("PNG", size=(5000, 10))
    response = booking_app.test_client().put(
        "/api/v1/organization/logo", data=content, content_type="image/png", headers=admin
    )
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_logo"
