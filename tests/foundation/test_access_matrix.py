"""Access matrix generated from each service's OpenAPI document: every operation is called with
no token, with each role it does not allow, and with one it allows."""

from __future__ import annotations

import re

import pytest

from shared.auth import ROLES

SERVICES = ("booking", "consent", "notify")
METHODS = ("get", "post", "put", "patch", "delete")


def operations(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def concrete(path: str) -> str:
    """Fill path parameters with values that exist nowhere."""
    return re.sub(r"\{[^}]+\}", "999999", path)


def call(client, method: str, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": {}} if method in ("post", "put", "patch") else {}
    return getattr(client, method)(path, headers=headers, **kwargs)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_enforces_its_roles(apps, make_token, service):
    app = apps[service]
    client = app.test_client()
    tokens = {
        role: make_token(service, role, staff_id=1 if role == "staff" else None) for role in ROLES
    }
    checked = 0
    for path, method, operation in operations(app):
        url = concrete(path)
        roles = operation.get("x-roles")
        if roles is None:
            response = call(client, method, url, None)
            assert response.status_code not in (401, 403), f"public {method.upper()} {path} refused"
            assert response.status_code < 500, f"{method.upper()} {path} -> {response.status_code}"
            checked += 1
            continue
        assert call(client, method, url, None).status_code == 401, (
            f"{method.upper()} {path} without token"
        )
        assert call(client, method, url, "fda_unknown-token").status_code == 401
        for role in ROLES:
            response = call(client, method, url, tokens[role])
            if role in roles:
                assert response.status_code not in (401, 403), (
                    f"{role} refused on {method.upper()} {path}"
                )
                assert response.status_code < 500, (
                    f"{method.upper()} {path} -> {response.status_code}"
                )
            else:
                assert response.status_code == 403, f"{role} allowed on {method.upper()} {path}"
        checked += 1
    assert checked >= 1
