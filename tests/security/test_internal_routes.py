"""Internal routes (every service's /metrics, notify's docs and OpenAPI document) answer callers on
this host, or with an admin or service token: the all-in-one may be bound beyond loopback with
no nginx in front to hide them."""

from __future__ import annotations

import pytest

SERVICES = ("booking", "consent", "notify")
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
NOTIFY_DOCS = ("/openapi.json", "/docs", "/redoc")


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_need_a_token_from_beyond_loopback(apps, make_token, service):
    client = apps[service].test_client()
    refused = client.get("/metrics", environ_base=OUTSIDE)
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "token_missing"
    assert "frontdesk_http_requests_total" not in refused.get_data(as_text=True)
    for role in ("admin", "service"):
        headers = {"Authorization": f"Bearer {make_token(service, role)}"}
        allowed = client.get("/metrics", environ_base=OUTSIDE, headers=headers)
        assert allowed.status_code == 200, role
        assert "frontdesk_http_requests_total" in allowed.get_data(as_text=True)


def test_metrics_refuse_a_staff_token_from_beyond_loopback(apps, make_token):
    headers = {"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=1)}"}
    response = apps["booking"].test_client().get("/metrics", environ_base=OUTSIDE, headers=headers)
    assert response.status_code == 403


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_metrics_answer_callers_on_this_host_without_a_token(apps, peer):
    response = apps["booking"].test_client().get("/metrics", environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"},
        {"Forwarded": "for=203.0.113.9"},
    ],
)
def test_metrics_through_a_proxy_on_this_host_need_a_token(apps, headers):
    response = apps["consent"].test_client().get("/metrics", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("path", NOTIFY_DOCS)
def test_notify_docs_are_internal(apps, make_token, path):
    client = apps["notify"].test_client()
    assert client.get(path, environ_base=OUTSIDE).status_code == 401
    headers = {"Authorization": f"Bearer {make_token('notify', 'service')}"}
    assert client.get(path, environ_base=OUTSIDE, headers=headers).status_code == 200
    assert client.get(path).status_code == 200  # from this host


@pytest.mark.parametrize("service", ["booking", "consent"])
def test_public_services_keep_their_docs_public(apps, service):
    client = apps[service].test_client()
    for path in ("/openapi.json", "/docs"):
        assert client.get(path, environ_base=OUTSIDE).status_code == 200, path
