"""Security headers on API answers as well as pages, from one place (shared.app)."""

from __future__ import annotations

import pytest

from services.notify.app import create_app as create_notify_app
from shared.app import HSTS

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize("service", ["booking", "consent", "notify"])
def test_api_answers_are_never_sniffed_or_cached(apps, make_token, service):
    client = apps[service].test_client()
    headers = {"Authorization": f"Bearer {make_token(service, 'admin')}"}
    for response in (
        client.get("/api/v1/whoami", headers=headers),
        client.get("/api/v1/whoami"),  # an error answer too
        client.get("/api/v1/no-such-route"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in response.headers  # plain http here


def test_token_answers_are_not_cached_and_pages_carry_frame_ancestors(booking_app, book_api):
    token = book_api(10)["manage_token"]
    client = booking_app.test_client()
    api = client.get(f"/api/v1/manage/{token}")
    assert api.status_code == 200 and api.mimetype == "application/json"
    assert api.headers["Cache-Control"] == "no-store"
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in api.headers  # CSP is for pages
    page = client.get(f"/manage/{token}", headers=HTML)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    calendar = client.get(f"/manage/{token}/event.ics")
    assert calendar.headers["Cache-Control"] == "no-store"


def test_feeds_keep_their_own_cache_policy(booking_app, feed_token):
    response = booking_app.test_client().get(f"/feeds/{feed_token}.ics")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] != "no-store"  # calendars revalidate by ETag
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("service", ["booking", "consent"])
def test_https_answers_carry_hsts_on_api_and_pages(apps, service):
    client = apps[service].test_client()
    for path, headers in (("/api/v1/whoami", {}), ("/", HTML), ("/health", {})):
        response = client.get(path, headers=headers, base_url="https://frontdesk.test")
        assert response.headers["Strict-Transport-Security"] == HSTS, path


def test_hsts_behind_a_tls_proxy_only_when_the_proxy_is_trusted(database_urls):
    trusted = create_notify_app(
        {"DATABASE_URL": database_urls["notify"], "TRUSTED_PROXIES": 1, "SECRET_KEY": "x"}
    )
    untrusted = create_notify_app({"DATABASE_URL": database_urls["notify"], "SECRET_KEY": "x"})
    forwarded = {"X-Forwarded-Proto": "https"}
    answer = trusted.test_client().get("/health", headers=forwarded)
    assert answer.headers["Strict-Transport-Security"] == HSTS
    spoofed = untrusted.test_client().get("/health", headers=forwarded)
    assert "Strict-Transport-Security" not in spoofed.headers
