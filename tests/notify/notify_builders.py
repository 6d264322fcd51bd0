"""Plain helpers of the notify tests (imported by name: `conftest` is ambiguous in a run of
several test folders)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.db import utcnow


def booking_data(**overrides: Any) -> dict[str, Any]:
    """Data every booking template accepts (a video session with a backup phone plan)."""
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    data = {
        "client_name": "Ana Lima",
        "service_name": "Counselling session",
        "staff_name": "Dr. Chloé Martin",
        "org_name": "Harbour Clinic",
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(minutes=45)).isoformat().replace("+00:00", "Z"),
        "timezone": "America/Toronto",
        "mode": "video",
        "video_url": "https://meet.example.org/room/abc",
        "location": None,
        "backup": {"callback_number": "+14165550100", "dial_in": "+14165550199"},
        "manage_url": "http://frontdesk.test/booking/manage/tok123",
        "resources": [
            {
                "title": "Before your first session",
                "url": "https://example.org/prep",
                "text": "Five minutes to read.",
            }
        ],
        "consent_links": [
            {"title": "Consent to treatment", "url": "http://frontdesk.test/consent/sign/abc"}
        ],
        "accommodations": {"captions": True, "interpreter_language": "Portuguese", "other": None},
        "consent_missing": True,
        "reason": "The counsellor is ill.",
        "previous_start": start.isoformat().replace("+00:00", "Z"),
        "event": "booked",
    }
    data.update(overrides)
    return data
