"""The console's typed clients of booking, consent and notify.

Two sets: `Clients` (the service token, for what happens before anyone is signed in: looking a
staff member up by email, registering and revoking session tokens, sending sign-in emails),
and `PersonApi` (`g.api` on pages: the same clients with the signed-in person's token, so every
console action is an API action with that person's rights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from services.console.errors import ApiProblem
from shared.auth import REVOKE_PATH, TOKENS_PATH
from shared.errors import ServiceCallFailed
from shared.http import ServiceClient, client_for, create_clients


class ConsoleClient(ServiceClient):
    """A service as the console calls it: JSON in, JSON out, a problem raised as ApiProblem."""

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Make one call; its JSON body, or ApiProblem for a 4xx/5xx answer."""
        response = self.request(
            method,
            path,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            expect=(200, 201, 204),
        )
        if response.status_code >= 400:
            raise ApiProblem.from_response(response)
        return response.json() if response.content else None

    def register_token(
        self, *, token_hash: str, role: str, staff_id: int, name: str, expires_at: datetime
    ) -> Any:
        """Register a console session's token (by hash) at this service (idempotent)."""
        return self.call(
            "POST",
            TOKENS_PATH,
            json={
                "token_hash": token_hash,
                "role": role,
                "staff_id": staff_id,
                "name": name,
                "expires_at": expires_at.isoformat(),
            },
        )

    def revoke_tokens(self, target: Mapping[str, Any]) -> httpx.Response:
        """Revoke a token (`token_hash`) or every token of a `staff_id` at this service."""
        return self.request("POST", REVOKE_PATH, json=dict(target), expect=(200,))


class BookingClient(ConsoleClient):
    """Booking's API as the console calls it."""

    def staff_by_email(self, email: str) -> dict[str, Any] | None:
        """The staff member with this address (service token), or None."""
        found = self.call("GET", "/api/v1/staff", params={"email": email})
        return found[0] if found else None

    def staff(self, staff_id: int) -> dict[str, Any]:
        """One staff member (staff: only themselves)."""
        return self.call("GET", f"/api/v1/staff/{staff_id}")

    def list_staff(self) -> list[dict[str, Any]]:
        """Every staff member (admin)."""
        return self.call("GET", "/api/v1/staff")

    def create_staff(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a staff member (admin)."""
        return self.call("POST", "/api/v1/staff", json=dict(fields))

    def appointments(
        self, *, start: datetime, end: datetime, staff_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Appointments starting in [start, end) (staff: only their own; admin: `staff_id` or all)."""
        params: dict[str, Any] = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "limit": 1000,
        }
        if staff_id is not None:
            params["staff_id"] = staff_id
        return self.call("GET", "/api/v1/appointments", params=params)

    def appointment(self, appointment_id: int) -> dict[str, Any]:
        """One appointment (staff: only their own; another's is a 404 ApiProblem)."""
        return self.call("GET", f"/api/v1/appointments/{appointment_id}")

    # --- the appointment page and the client file --------------------------------------------

    def history(self, appointment_id: int) -> list[dict[str, Any]]:
        """Every change of an appointment, oldest first."""
        return self.call("GET", f"/api/v1/appointments/{appointment_id}/history")

    def cancel(self, appointment_id: int, *, reason: str | None) -> dict[str, Any]:
        """Cancel an appointment (the client is told)."""
        return self.call(
            "POST", f"/api/v1/appointments/{appointment_id}/cancel", json={"reason": reason}
        )

    def reschedule(self, appointment_id: int, *, start: str) -> dict[str, Any]:
        """Move an appointment to another free slot."""
        return self.call(
            "POST", f"/api/v1/appointments/{appointment_id}/reschedule", json={"start": start}
        )

    def complete(self, appointment_id: int, *, outcome: str, notes: str | None) -> dict[str, Any]:
        """Mark a started appointment completed with its outcome and notes."""
        return self.call(
            "POST",
            f"/api/v1/appointments/{appointment_id}/complete",
            json={"outcome": outcome, "notes": notes},
        )

    def no_show(self, appointment_id: int) -> dict[str, Any]:
        """Mark that the client did not come."""
        return self.call("POST", f"/api/v1/appointments/{appointment_id}/no-show")

    def resend_invite(self, appointment_id: int, *, click: str) -> dict[str, Any]:
        """Send the client the invite again, once per click (the key)."""
        return self.call(
            "POST", f"/api/v1/appointments/{appointment_id}/resend-invite", idempotency_key=click
        )

    def follow_up(self, appointment_id: int, *, start: str) -> dict[str, Any]:
        """Book the next session for the same client, linked to this one."""
        return self.call(
            "POST", f"/api/v1/appointments/{appointment_id}/follow-up", json={"start": start}
        )

    def slots(
        self, service_id: int, *, start: date, end: date, tz: str, staff_id: int
    ) -> list[dict[str, Any]]:
        """A staff member's free slots of a service on the days start..end (in `tz`)."""
        params = {"start": start.isoformat(), "end": end.isoformat(), "tz": tz, "staff": staff_id}
        return self.call("GET", f"/api/v1/services/{service_id}/slots", params=params)["slots"]

    def search_clients(self, q: str | None) -> list[dict[str, Any]]:
        """Clients by part of their name or email, or their phone's digits."""
        return self.call("GET", "/api/v1/clients", params={"q": q} if q else None)

    def appointments_of_client(self, email: str) -> list[dict[str, Any]]:
        """A client's appointments (staff: only their own), by start time."""
        return self.call(
            "GET", "/api/v1/appointments", params={"client_email": email, "limit": 1000}
        )


class ConsentClient(ConsoleClient):
    """Consent's API as the console calls it."""

    def requests_of(self, **filters: Any) -> list[dict[str, Any]]:
        """Consent requests by `appointment_id` or `client_email` (staff: their own)."""
        return self.call("GET", "/api/v1/requests", params=filters)

    def request_consent(self, fields: Mapping[str, Any], *, click: str) -> dict[str, Any]:
        """Ask the client to sign a form (the link is emailed to them), once per click."""
        return self.call("POST", "/api/v1/requests", json=dict(fields), idempotency_key=click)

    def resend(self, request_id: int) -> dict[str, Any]:
        """Email the client their signing link again."""
        return self.call("POST", f"/api/v1/requests/{request_id}/resend")

    def verbal(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Attest a consent given out loud."""
        return self.call("POST", "/api/v1/verbal", json=dict(fields))

    def withdraw(self, request_id: int, *, reason: str | None) -> dict[str, Any]:
        """Withdraw a signed consent on the client's behalf."""
        return self.call("POST", f"/api/v1/requests/{request_id}/withdraw", json={"reason": reason})

    def record_pdf(self, request_id: int) -> httpx.Response:
        """The signed record's PDF as consent answers it (200, or a problem)."""
        response = self.request("GET", f"/api/v1/requests/{request_id}/record.pdf", expect=(200,))
        if response.status_code != 200:
            raise ApiProblem.from_response(response)
        return response

    def download_link(self, request_id: int) -> dict[str, Any]:
        """An expiring link to the signed record, to give the client a copy (`url`, `expires_at`)."""
        return self.call("POST", f"/api/v1/requests/{request_id}/download-links", json={"days": 7})

    def templates(self) -> list[dict[str, Any]]:
        """The consent forms."""
        return self.call("GET", "/api/v1/templates")


class NotifyClient(ConsoleClient):
    """Notify's API as the console calls it."""

    def messages_of_appointment(self, appointment_id: int) -> list[dict[str, Any]] | None:
        """Messages notify sent about an appointment (each with `status` and `attempts`), or
        None while notify has no staff-readable messages API (answers 401/403/404/405)."""
        response = self.request(
            "GET",
            "/api/v1/messages",
            params={"appointment_id": appointment_id},
            expect=(200, 401, 403, 404, 405),
        )
        if response.status_code != 200:
            return None
        body = response.json()
        return body.get("items", []) if isinstance(body, dict) else body

    def messages_of_appointments(self, appointment_ids: list[int]) -> list[dict[str, Any]]:
        """Messages notify sent about any of these appointments, oldest first."""
        if not appointment_ids:
            return []
        return self.call(
            "GET",
            "/api/v1/messages",
            params={"appointment_id": appointment_ids, "limit": 500},
        )


@dataclass
class Clients:
    """The console's clients with the service token (one per service it calls)."""

    booking: BookingClient
    consent: ConsentClient
    notify: NotifyClient

    def every(self) -> dict[str, ConsoleClient]:
        """Each service's client by name (a token lives in all three)."""
        return {"booking": self.booking, "consent": self.consent, "notify": self.notify}


def service_clients(config: Mapping[str, Any]) -> Clients:
    """The clients with the service token (create_app gives them to the app and its worker)."""
    return create_clients(config, Clients)


class PersonApi:
    """The three services with the signed-in person's token (made on first use per request)."""

    def __init__(self, config: Mapping[str, Any], token: str) -> None:
        self._config = {**config, "SERVICE_TOKEN": token}
        self._made: dict[str, ConsoleClient] = {}

    def _client(self, service: str, cls: type[ConsoleClient]) -> Any:
        if service not in self._made:
            self._made[service] = client_for(self._config, service, cls)
        return self._made[service]

    @property
    def booking(self) -> BookingClient:
        return self._client("booking", BookingClient)

    @property
    def consent(self) -> ConsentClient:
        return self._client("consent", ConsentClient)

    @property
    def notify(self) -> NotifyClient:
        return self._client("notify", NotifyClient)

    def close(self) -> None:
        """Close the connection pools made in this request."""
        for client in self._made.values():
            client.close()


__all__ = ["ApiProblem", "Clients", "PersonApi", "ServiceCallFailed", "service_clients"]
