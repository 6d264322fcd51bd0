"""Consent's typed clients of the services it calls: notify (messages) and booking (appointments)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from shared.http import NotifyClient, ServiceCallFailed, ServiceClient
from shared.organization import OrgProfile


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

    def organization(self) -> OrgProfile:
        """The organization's profile (name, contacts, hours, logo) that booking owns."""
        response = self.request("GET", "/api/v1/organization", expect=(200,))
        if response.status_code != 200:
            raise ServiceCallFailed(
                f"booking answered HTTP {response.status_code} for the organization."
            )
        return OrgProfile.from_api(response.json())


class OrganizationProfile:
    """The profile as consent's pages, records and messages show it, asked of booking at most
    once a minute per process.

    Why a cache: the signing page, the PDF record and every message need it, and a client
    opening a signing link should not wait on a second service each time; a change reaches
    them within a minute. When booking does not answer, the last profile it gave (or the
    configured name, FRONTDESK_ORG_NAME) is shown and booking is asked again after RETRY, so
    the page still renders and never waits on a service that is down at every request.
    """

    TTL = 60.0
    RETRY = 15.0

    def __init__(self, clients: Clients, fallback: OrgProfile) -> None:
        self._clients = clients  # read at each call: tests swap booking for one that is down
        self._fallback = fallback
        self._profile = fallback
        self._until = 0.0
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Ask booking again at the next call (tests, after changing the profile)."""
        self._profile, self._until = self._fallback, 0.0

    def __call__(self) -> OrgProfile:
        """The profile, fresh within TTL seconds when booking answers."""
        if time.monotonic() < self._until:
            return self._profile
        with self._lock:
            if time.monotonic() < self._until:
                return self._profile
            try:
                self._profile = self._clients.booking.organization()
                self._until = time.monotonic() + self.TTL
            except ServiceCallFailed:
                self._until = time.monotonic() + self.RETRY
            return self._profile


@dataclass
class Clients:
    """Consent's clients, one per service it calls (tests swap one for a service that is down)."""

    notify: NotifyClient
    booking: BookingClient
