"""Booking's clients for the services it calls: notify (messages) and consent (requests)."""

from __future__ import annotations

from flask import Flask

from shared.app import service_client
from shared.http import ServiceClient


def booking_clients(app: Flask) -> tuple[ServiceClient, ServiceClient]:
    """(notify, consent) clients of the app, authenticated with the service token."""
    return service_client(app, "notify"), service_client(app, "consent")
