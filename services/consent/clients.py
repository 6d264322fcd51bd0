"""Consent's client for the booking service: whose appointment an appointment id names."""

from __future__ import annotations

from flask import Flask

from shared.app import service_client
from shared.http import ServiceCallFailed


def appointment_staff_id(app: Flask, appointment_id: int) -> int | None:
    """The staff member booking has the appointment with, or None when there is no such one."""
    response = service_client(app, "booking").request(
        "GET", f"/api/v1/appointments/{appointment_id}", expect=(200, 404)
    )
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise ServiceCallFailed(f"booking answered HTTP {response.status_code} for an appointment.")
    return response.json()["staff_id"]
