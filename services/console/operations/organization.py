"""The organization as the console's emails name it: booking's profile, read when a message is
written (so it says what was true then), or the settings while booking has none or is down."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.console.clients import BookingClient
from services.console.errors import ApiProblem
from shared.errors import ServiceCallFailed
from shared.organization import OrgProfile


def current_profile(*, booking: BookingClient, config: Mapping[str, Any]) -> OrgProfile:
    """Booking's organization profile (public), else the one the settings give."""
    try:
        body = booking.organization()
    except (ApiProblem, ServiceCallFailed):
        body = None
    return OrgProfile.from_api(body) if body else OrgProfile.from_settings(config)
