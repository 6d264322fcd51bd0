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
from shared.http import MESSAGES_PATH, ServiceClient, client_for, create_clients

ORGANIZATION_PATH = "/api/v1/organization"


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

    # --- setup (admins): API tokens ---

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token this service knows (admin; never their hashes)."""
        return self.call("GET", TOKENS_PATH)

    def revoke_token(self, token_id: int) -> dict[str, Any]:
        """Revoke one token by this service's id for it (admin)."""
        return self.call("POST", REVOKE_PATH, json={"token_id": token_id})


@dataclass(frozen=True)
class QuestionPage:
    """A page of questions and the cursor of the next one (None: the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _next_cursor(response: httpx.Response) -> str | None:
    """The cursor in the `Link: <...>; rel="next"` header, or None."""
    url = response.links.get("next", {}).get("url")
    if not url:
        return None
    return httpx.URL(url).params.get("cursor")


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

    # --- availability (the "My availability" page) ---

    def rules(self, staff_id: int) -> list[dict[str, Any]]:
        """The staff member's weekly hours (weekday 0 = Monday, times in their zone)."""
        return self.call("GET", f"/api/v1/staff/{staff_id}/availability/rules")

    def replace_day_rules(
        self, staff_id: int, weekday: int, intervals: list[dict[str, str]]
    ) -> list[dict[str, Any]]:
        """Replace one weekday's intervals, keeping the other days (empty clears the day)."""
        path = f"/api/v1/staff/{staff_id}/availability/rules/{weekday}"
        return self.call("PUT", path, json={"rules": intervals})

    def exceptions(self, staff_id: int) -> list[dict[str, Any]]:
        """The staff member's days off and extra hours."""
        return self.call("GET", f"/api/v1/staff/{staff_id}/availability/exceptions")

    def add_exception(self, staff_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a day off, hours off or extra hours."""
        path = f"/api/v1/staff/{staff_id}/availability/exceptions"
        return self.call("POST", path, json=dict(fields))

    def delete_exception(self, staff_id: int, exception_id: int) -> None:
        """Remove a date exception."""
        self.call("DELETE", f"/api/v1/staff/{staff_id}/availability/exceptions/{exception_id}")

    def busy_blocks(self, staff_id: int, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The staff member's busy blocks overlapping [start, end)."""
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return self.call("GET", f"/api/v1/staff/{staff_id}/busy-blocks", params=params)

    def add_busy_block(self, staff_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Mark time as busy."""
        return self.call("POST", f"/api/v1/staff/{staff_id}/busy-blocks", json=dict(fields))

    def delete_busy_block(self, staff_id: int, block_id: int) -> None:
        """Remove a busy block."""
        self.call("DELETE", f"/api/v1/staff/{staff_id}/busy-blocks/{block_id}")

    def calendars(self, staff_id: int) -> list[dict[str, Any]]:
        """The staff member's external calendars and how their last fetch went."""
        return self.call("GET", f"/api/v1/staff/{staff_id}/calendars")

    def add_calendar(self, staff_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add an external calendar's secret ICS address."""
        return self.call("POST", f"/api/v1/staff/{staff_id}/calendars", json=dict(fields))

    def delete_calendar(self, staff_id: int, calendar_id: int) -> None:
        """Remove an external calendar."""
        self.call("DELETE", f"/api/v1/staff/{staff_id}/calendars/{calendar_id}")

    def rotate_feed_token(self, staff_id: int) -> dict[str, Any]:
        """A new feed URL (`url`, `webcal_url`), shown once; the old URL stops working."""
        return self.call("POST", f"/api/v1/staff/{staff_id}/feed-token")

    # --- setup (admins): staff, services, organization ---

    def update_staff(self, staff_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change a staff member's given fields (admin)."""
        return self.call("PATCH", f"/api/v1/staff/{staff_id}", json=dict(fields))

    def every_service(self) -> list[dict[str, Any]]:
        """Every service, unlisted and inactive ones too (admin)."""
        return self.call("GET", "/api/v1/services/all")

    def create_service(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a service (admin)."""
        return self.call("POST", "/api/v1/services", json=dict(fields))

    def update_service(self, service_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change a service's given fields (admin)."""
        return self.call("PATCH", f"/api/v1/services/{service_id}", json=dict(fields))

    def organization(self) -> dict[str, Any] | None:
        """The organization profile, or None while booking has no such API (404/405)."""
        response = self.request("GET", ORGANIZATION_PATH, expect=(200, 404, 405))
        return response.json() if response.status_code == 200 else None

    def update_organization(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change the organization profile (admin)."""
        return self.call("PUT", ORGANIZATION_PATH, json=dict(fields))

    def upload_logo(self, content: bytes, content_type: str) -> dict[str, Any]:
        """Set the organization's logo: the image itself as the body (admin)."""
        # The one call with a raw body (ServiceClient.request sends JSON): a PUT, so a repeat
        # after a timeout stores the same image.
        response = self._client.put(
            f"{ORGANIZATION_PATH}/logo", content=content, headers={"Content-Type": content_type}
        )
        if response.status_code >= 400:
            raise ApiProblem.from_response(response)
        return response.json()

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

    # --- "ask us": clients' questions (the Questions page) ---

    def questions(
        self, status: str | None = None, *, cursor: str | None = None, limit: int = 50
    ) -> QuestionPage:
        """One page of the questions the person may answer (`status`: open, never answered
        first then oldest first; answered or closed: the most recently updated first), from
        `cursor` (a page's `next_cursor`) or the first."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if cursor:
            params["cursor"] = cursor
        response = self.request("GET", "/api/v1/questions", params=params, expect=(200,))
        if response.status_code >= 400:
            raise ApiProblem.from_response(response)
        return QuestionPage(items=response.json(), next_cursor=_next_cursor(response))

    def open_question_count(self) -> int:
        """How many of those wait for an answer (the nav's badge)."""
        return self.call("GET", "/api/v1/questions/open-count")["open"]

    def question(self, question_id: int) -> dict[str, Any]:
        """One question's thread (another staff member's appointment's is a 404 ApiProblem)."""
        return self.call("GET", f"/api/v1/questions/{question_id}")

    def answer_question(self, question_id: int, body: str) -> dict[str, Any]:
        """Answer: booking sends the client the link to the thread by their channel."""
        return self.call("POST", f"/api/v1/questions/{question_id}/answers", json={"body": body})

    def close_question(self, question_id: int) -> dict[str, Any]:
        """Close the thread without answering (409 question_closed if it is closed)."""
        return self.call("POST", f"/api/v1/questions/{question_id}/close")

    def appointments_of_client(
        self, *, email: str | None, phone: str | None = None
    ) -> list[dict[str, Any]]:
        """A client's appointments by their email, or their phone when they gave no email
        (staff: only their own), by start time."""
        who = {"client_email": email} if email else {"client_phone": phone}
        return self.call("GET", "/api/v1/appointments", params={**who, "limit": 1000})


class ConsentClient(ConsoleClient):
    """Consent's API as the console calls it."""

    # --- setup (admins): consent forms ---

    def templates(self) -> list[dict[str, Any]]:
        """Every consent form with its current version."""
        return self.call("GET", "/api/v1/templates")

    def template(self, template_id: int) -> dict[str, Any]:
        """One consent form with its current version."""
        return self.call("GET", f"/api/v1/templates/{template_id}")

    def create_template(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create a consent form with its first version (admin)."""
        return self.call("POST", "/api/v1/templates", json=dict(fields))

    def preview_version(self, content: Mapping[str, Any]) -> dict[str, Any]:
        """A version's content checked and rendered (each locale's `body_html`), not stored."""
        return self.call("POST", "/api/v1/templates/preview", json=dict(content))

    def publish_version(self, template_id: int, content: Mapping[str, Any]) -> dict[str, Any]:
        """Publish a consent form's new version (admin)."""
        return self.call("POST", f"/api/v1/templates/{template_id}/versions", json=dict(content))

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


class NotifyClient(ConsoleClient):
    """Notify's API as the console calls it."""

    def messages_of_appointment(self, appointment_id: int) -> list[dict[str, Any]] | None:
        """Messages notify sent about an appointment (each with `status`, `attempts` and
        `appointment_id`), or None while notify cannot say: no staff-readable list yet (401,
        403, 404, 405, 422), or a list that ignores the filter (items naming no appointment)."""
        response = self.request(
            "GET",
            "/api/v1/messages",
            params={"appointment_id": appointment_id},
            expect=(200, 401, 403, 404, 405, 422),
        )
        if response.status_code != 200:
            return None
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        if items and not any("appointment_id" in item for item in items):
            return None
        return [item for item in items if item.get("appointment_id") == appointment_id]

    # --- the weekly summary (service token) ---

    def staff_messages(self, staff_id: int, status: str) -> list[dict[str, Any]]:
        """Messages about a staff member's appointments with this status, oldest first."""
        params = {"staff_id": staff_id, "status": status, "limit": 1000}
        return self.call("GET", MESSAGES_PATH, params=params)

    def send_once(self, message: Mapping[str, Any], idempotency_key: str) -> bool:
        """Queue a message under an idempotency key; False when the key was used before
        (a replay, or the same key with a body that changed since: sent already either way)."""
        response = self.request(
            "POST",
            MESSAGES_PATH,
            json=dict(message),
            idempotency_key=idempotency_key,
            expect=(200, 201, 409),
        )
        if response.status_code == 409:
            problem = ApiProblem.from_response(response)
            if problem.code != "idempotency_key_reused":
                raise problem
            return False
        if response.status_code >= 400:
            raise ApiProblem.from_response(response)
        return response.status_code == 201

    # --- setup (admins): message log, webhook endpoints ---

    def messages_with_status(self, status: str) -> list[dict[str, Any]]:
        """Messages in one status (admin: everyone's)."""
        return self.call("GET", "/api/v1/messages", params={"status": status, "limit": 200})

    def retry_message(self, message_id: int) -> dict[str, Any]:
        """Queue a failed or dead message again (admin)."""
        return self.call("POST", f"/api/v1/messages/{message_id}/retry")

    def webhook_endpoints(self) -> list[dict[str, Any]]:
        """Every webhook receiver and whether it is disabled (admin)."""
        return self.call("GET", "/api/v1/webhook-endpoints")

    def enable_webhook_endpoint(self, endpoint_id: int) -> dict[str, Any]:
        """Send to a disabled receiver again (admin)."""
        return self.call("POST", f"/api/v1/webhook-endpoints/{endpoint_id}/enable")

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

    def every(self) -> dict[str, ConsoleClient]:
        """Each service's client by name (an API token is made at all three)."""
        return {"booking": self.booking, "consent": self.consent, "notify": self.notify}

    def close(self) -> None:
        """Close the connection pools made in this request."""
        for client in self._made.values():
            client.close()


__all__ = ["ApiProblem", "Clients", "PersonApi", "ServiceCallFailed", "service_clients"]
