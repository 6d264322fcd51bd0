"""A client's personal data across the suite: one export, one erasure, over the services' REST.

Each service answers for its own data (services/<svc>/privacy.py documents what it erases
and keeps); this module calls their admin routes with a service or admin token and merges:

- whose: the client's email address, or for a client who booked with a phone only, their
  number (E.164); consent also gets booking's ids of the client's appointments (a phone-only
  client's requests are filed under them);
- export: booking and consent first, then notify with the phone numbers and message keys
  they know for the client (notify holds addresses and numbers, not people);
- erase: the same lookups first, then notify, consent and booking, in that order, so that a
  failure half-way can simply be retried: booking, erased last, still knows the numbers and
  message keys notify needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.console.errors import PrivacyCallFailed
from shared.db import utcnow
from shared.errors import BadRequest
from shared.http import ServiceClient
from shared.timestamps import utc_iso

SERVICES = ("booking", "consent", "notify")
EXPORT_PATH = "/api/v1/privacy/clients/export"
ERASE_PATH = "/api/v1/privacy/clients/erase"


def token_from_config(config: Mapping[str, Any]) -> str | None:
    """FRONTDESK_SERVICE_TOKEN, else the suite's own (INSTANCE_DIR/service-token, as `serve` made it)."""
    if config.get("SERVICE_TOKEN"):
        return config["SERVICE_TOKEN"]
    path = Path(config["INSTANCE_DIR"]) / "service-token"
    return path.read_text().strip() if path.exists() else None


def clients_from_config(
    config: Mapping[str, Any], token: str | None = None
) -> dict[str, ServiceClient]:
    """A client per service at FRONTDESK_<SERVICE>_URL, with `token` or the service token."""
    token = token or token_from_config(config)
    if not token:
        raise BadRequest(
            "No token: pass --token (role admin) or set FRONTDESK_SERVICE_TOKEN.",
            code="token_missing",
        )
    return {
        name: ServiceClient(
            config[f"{name.upper()}_URL"], token=token, timeout=config["HTTP_TIMEOUT"]
        )
        for name in SERVICES
    }


def _call(client: ServiceClient, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.request("POST", path, json=body, expect=(200,))
    if response.status_code != 200:
        try:
            code = response.json().get("code", "")
        except ValueError:
            code = ""
        raise PrivacyCallFailed(f"{service} answered {response.status_code} {code}".strip())
    return response.json()


def client_lookup(*, email: str | None = None, phone: str | None = None) -> dict[str, Any]:
    """Whose data, as the services' privacy routes take it: an address, a number, or both."""
    lookup: dict[str, Any] = {"email": email} if email else {}
    if phone:
        lookup["phones"] = [phone]
    return lookup


def _lookups(
    clients: Mapping[str, ServiceClient], lookup: Mapping[str, Any]
) -> tuple[dict, dict, dict, dict]:
    """booking's and consent's exports, and what consent and notify need to find the rest:
    consent gets booking's appointment ids, notify every number and message key."""
    booking = _call(clients["booking"], "booking", EXPORT_PATH, dict(lookup))
    consent_lookup = {**lookup, "appointment_ids": booking["data"]["appointment_ids"]}
    consent = _call(clients["consent"], "consent", EXPORT_PATH, consent_lookup)
    notify_lookup = {
        **lookup,
        "phones": sorted(
            set(lookup.get("phones", ()))
            | set(booking["data"]["phones"])
            | set(consent["data"]["phones"])
        ),
        "message_keys": booking["data"]["message_keys"] + consent["data"]["message_keys"],
    }
    return booking, consent, consent_lookup, notify_lookup


def export_client(
    *, clients: Mapping[str, ServiceClient], email: str | None = None, phone: str | None = None
) -> dict[str, Any]:
    """Everything the suite holds about the client (by address or, for a client who gave
    none, by phone number), per service, as one JSON document."""
    lookup = client_lookup(email=email, phone=phone)
    booking, consent, _consent_lookup, notify_lookup = _lookups(clients, lookup)
    notify = _call(clients["notify"], "notify", EXPORT_PATH, notify_lookup)
    return {
        "email": email,
        "phone": phone,
        "exported_at": utc_iso(utcnow()),
        "services": {
            "booking": booking["data"],
            "consent": consent["data"],
            "notify": notify["data"],
        },
    }


def erase_client(
    *, clients: Mapping[str, ServiceClient], email: str | None = None, phone: str | None = None
) -> dict[str, Any]:
    """Erase the client everywhere (by address or phone number); per service, what was erased
    and what was kept and why."""
    lookup = client_lookup(email=email, phone=phone)
    _booking, _consent, consent_lookup, notify_lookup = _lookups(clients, lookup)
    bodies = {"notify": notify_lookup, "consent": consent_lookup, "booking": lookup}
    results = {}
    for service in ("notify", "consent", "booking"):
        result = _call(clients[service], service, ERASE_PATH, bodies[service])
        results[service] = {key: result[key] for key in ("erased", "kept", "reasons")}
    return {
        "email": email,
        "phone": phone,
        "erased_at": utc_iso(utcnow()),
        "services": results,
    }
