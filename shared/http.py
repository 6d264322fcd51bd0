"""The base of every service-to-service client: timeouts, service token, request id, retries.

Retries happen only for calls that are safe to repeat: GET/HEAD/PUT/DELETE, and POSTs that
carry an Idempotency-Key. In the all-in-one mode the transport is an in-process WSGI one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar, get_type_hints
from urllib.parse import quote

import httpx

from shared.errors import ServiceCallFailed
from shared.logs import current_request_id

log = logging.getLogger("frontdesk.http")

_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
_RETRY_STATUSES = {502, 503, 504}


class ServiceClient:
    """A small client for one other Frontdesk service."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        timeout: float = 5.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.retries = retries
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> httpx.Response:
        """Send a request; retry transient failures when the call is idempotent."""
        headers = {}
        if request_id := current_request_id():
            headers["X-Request-ID"] = request_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        retryable = method.upper() in _IDEMPOTENT or idempotency_key is not None
        attempts = 1 + (self.retries if retryable else 0)
        last_error: str = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(0.2 * 2**attempt, 2.0))
            try:
                response = self._client.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in _RETRY_STATUSES:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code not in expect and response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                break
            return response
        log.warning(
            "service call failed", extra={"method": method, "path": path, "error": last_error}
        )
        raise ServiceCallFailed(f"{self._client.base_url} did not answer: {last_error}")


Client = TypeVar("Client", bound=ServiceClient)
Clients = TypeVar("Clients")


def client_for(config: Mapping[str, Any], service: str, cls: type[Client]) -> Client:
    """A `cls` client of another service, from FRONTDESK_<SERVICE>_URL and the service token.

    In the all-in-one suite `IN_PROCESS_WSGI` holds the suite's WSGI app and calls stay in
    the process; they still go through HTTP semantics, routing, auth and serialization.
    """
    wsgi = config.get("IN_PROCESS_WSGI")
    return cls(
        config[f"{service.upper()}_URL"],
        token=config["SERVICE_TOKEN"],
        timeout=config["HTTP_TIMEOUT"],
        transport=httpx.WSGITransport(app=wsgi) if wsgi is not None else None,
    )


MESSAGES_PATH = "/api/v1/messages"


def group_cancel_path(group: str) -> str:
    """Notify's cancel path of a group (the name is one URL-encoded path segment)."""
    return f"/api/v1/groups/{quote(group, safe=':')}/cancel"


def create_clients(config: Mapping[str, Any], holder: type[Clients]) -> Clients:
    """The dataclass `holder` with one client per field: the field's name is the service
    called, its type the client's class (create_app gives the result to the service)."""
    types = get_type_hints(holder)
    return holder(
        **{
            field.name: client_for(config, field.name, types[field.name])
            for field in fields(holder)
        }
    )


class NotifyClient(ServiceClient):
    """Notify's API as booking and consent call it (CONTRACTS.md)."""

    def send(self, message: dict[str, Any], key: str) -> httpx.Response:
        """POST one message; the idempotency key makes a repeat answer with the first one."""
        return self.request("POST", MESSAGES_PATH, json=message, idempotency_key=key)

    def cancel_group(self, group: str) -> httpx.Response:
        """Cancel the group's scheduled messages (a repeat cancels nothing more)."""
        # Cancelling twice cancels nothing more: the key only lets the call be retried in place.
        return self.request("POST", group_cancel_path(group), idempotency_key=f"cancel-{group}")
