"""Booking's typed clients of the services it calls: notify (messages) and consent (requests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.http import NotifyClient, ServiceClient


class ConsentClient(ServiceClient):
    """Consent's API as booking calls it (CONTRACTS.md)."""

    def create_request(self, body: dict[str, Any], key: str) -> httpx.Response:
        """POST a consent request for one required form of an appointment."""
        return self.request("POST", "/api/v1/requests", json=body, idempotency_key=key)


@dataclass
class Clients:
    """Booking's clients, one per service it calls (tests swap one for a service that is down)."""

    notify: NotifyClient
    consent: ConsentClient
