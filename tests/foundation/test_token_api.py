"""The token API every service serves: register a token made elsewhere by its hash, list,
revoke; a registered token works until it expires or is revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shared import db as shared_db
from shared.auth import hash_token, new_token

SERVICES = ("booking", "consent", "notify")


def _register(client, headers, token, **overrides):
    body = {
        "token_hash": hash_token(token),
        "role": "staff",
        "staff_id": 7,
        "name": "console session",
        "expires_at": (datetime.now(UTC) + timedelta(hours=12)).isoformat(),
        **overrides,
    }
    return client.post("/api/v1/tokens", json=body, headers=headers)


def _whoami(client, token):
    return client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("service", SERVICES)
def test_a_registered_token_works_and_registering_again_changes_nothing(apps, make_token, service):
    client = apps[service].test_client()
    headers = {"Authorization": f"Bearer {make_token(service, 'service')}"}
    token = new_token("fdp")
    first = _register(client, headers, token)
    again = _register(client, headers, token, role="admin", staff_id=8)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert "token_hash" not in first.get_json()
    me = _whoami(client, token)
    assert me.status_code == 200 and me.get_json()["staff_id"] == 7


@pytest.mark.parametrize("service", SERVICES)
def test_an_expired_token_is_refused(apps, make_token, service):
    client = apps[service].test_client()
    headers = {"Authorization": f"Bearer {make_token(service, 'service')}"}
    token = new_token("fdp")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert _register(client, headers, token, expires_at=past).status_code == 201
    refused = _whoami(client, token)
    assert refused.status_code == 401 and refused.get_json()["code"] == "token_invalid"


@pytest.mark.parametrize("service", SERVICES)
def test_revoking_by_hash_and_by_staff_id(apps, make_token, service):
    client = apps[service].test_client()
    headers = {"Authorization": f"Bearer {make_token(service, 'service')}"}
    one, two, other = new_token("fdp"), new_token("fdp"), new_token("fdp")
    for token in (one, two):
        _register(client, headers, token)
    _register(client, headers, other, staff_id=9)
    by_hash = client.post(
        "/api/v1/tokens/revoke", json={"token_hash": hash_token(one)}, headers=headers
    )
    assert by_hash.get_json() == {"revoked": 1}
    assert _whoami(client, one).status_code == 401 and _whoami(client, two).status_code == 200
    everywhere = client.post("/api/v1/tokens/revoke", json={"staff_id": 7}, headers=headers)
    assert everywhere.get_json() == {"revoked": 1}
    assert _whoami(client, two).status_code == 401
    assert _whoami(client, other).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_only_admins_list_tokens_and_nobody_registers_a_service_token(apps, make_token, service):
    client = apps[service].test_client()
    admin = {"Authorization": f"Bearer {make_token(service, 'admin')}"}
    staff = {"Authorization": f"Bearer {make_token(service, 'staff', staff_id=3)}"}
    listed = client.get("/api/v1/tokens", headers=admin)
    assert listed.status_code == 200 and all("token_hash" not in t for t in listed.get_json())
    assert client.get("/api/v1/tokens", headers=staff).status_code == 403
    assert _register(client, staff, new_token("fdp")).status_code == 403
    refused = _register(client, admin, new_token("fds"), role="service")
    assert refused.status_code == 422


@pytest.mark.parametrize("service", SERVICES)
def test_a_staff_token_revokes_itself(apps, make_token, service):
    client = apps[service].test_client()
    token = make_token(service, "staff", staff_id=3)
    headers = {"Authorization": f"Bearer {token}"}
    model = apps[service].extensions["frontdesk_token_model"]
    with shared_db.get_db(apps[service]).transaction() as session:
        token_id = session.scalar(sa.select(model.id).where(model.token_hash == hash_token(token)))
    answer = client.post("/api/v1/tokens/revoke", json={"token_id": token_id}, headers=headers)
    assert answer.status_code == 200 and answer.get_json() == {"revoked": 1}
    assert _whoami(client, token).status_code == 401
