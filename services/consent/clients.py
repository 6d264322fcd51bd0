"""Consent's typed clients of the services it calls: notify (messages) and booking (appointments)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.http import NotifyClient, ServiceCallFailed, ServiceClient


def consent_status_path(appointment_id: int, request_id: int) -> str:
    """Booking's path of one consent request's status on an appointment."""
    return f"/api/v1/appointments/{appointment_id}/consents/{request_id}"


class BookingClient(ServiceClient):
    """Booking's API as consent calls it (CONTRACTS.md)."""

    def appointment_staff_id(self, appointment_id: int) -> int | None:
        """The staff member booking has the appointment with, or None when there is no such one."""
        response = self.request("GET", f"/api/v1/appointments/{appointment_id}", expect=(200, 404))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ServiceCallFailed(
                f"booking answered HTTP {response.status_code} for an appointment."
            )
        return response.json()["staff_id"]


@dataclass
class Clients:
    """Consent's clients, one per service it calls (tests swap one for a service that is down)."""

    notify: NotifyClient
    booking: BookingClient
