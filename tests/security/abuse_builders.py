"""Plain builders the abuse tests import (a unique module name: several test folders have a
conftest): the consent form, a signature, client addresses, times and a booking body."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

FORM = {
    "name": "Session recording",
    "locales": {
        "en": {
            "title": "Session recording",
            "body": "We would like to record this session.",
            "checkboxes": {"recording": "I agree to the recording"},
        }
    },
    "checkboxes": [{"key": "recording", "required": True}],
}
SIGNATURE = {
    "typed_name": "Ana Souza",
    "disclosure_accepted": True,
    "checkboxes": {"recording": True},
    "timezone": "America/Toronto",
}


def address(number: int) -> dict[str, str]:
    """A test client's environ from its own documentation address (one client per number)."""
    return {"REMOTE_ADDR": f"198.51.100.{number % 250 + 1}"}


def next_monday(weeks_ahead: int = 2) -> date:
    today = datetime.now(UTC).date() + timedelta(weeks=weeks_ahead)
    return today - timedelta(days=today.weekday())


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("America/Toronto")).astimezone(
        UTC
    )


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def booking_body(service_id: int, start: datetime, **client: Any) -> dict:
    """The JSON a client sends to book (a video call with the dial-in as backup)."""
    return {
        "service_id": service_id,
        "start": iso(start),
        "mode": "video",
        "client": {"name": "Ana Souza", "email": "ana@example.org", **client},
        "backup": {"callback_number": "+14165550123", "use_dial_in": True},
    }
