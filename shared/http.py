"""The base of every service-to-service client: timeouts, service token, request id, retries.

Retries happen only for calls that are safe to repeat: GET/HEAD/PUT/DELETE, and POSTs that
carry an Idempotency-Key. In the all-in-one mode the transport is an in-process WSGI one.
"""

from __future__ import annotations

import logging
import time
from typing import Any

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
