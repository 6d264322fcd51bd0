"""Examples the OpenAPI document shows for booking's main operations (request and answer)."""

from __future__ import annotations

BOOK_APPOINTMENT = {
    "service_id": 3,
    "start": "2030-03-12T14:00:00Z",
    "mode": "video",
    "client": {
        "name": "Ana López",
        "email": "ana.lopez@example.org",
        "phone": "+14165550123",
        "language": "es",
        "time_zone": "America/Toronto",
    },
    "backup": {"callback_number": "+14165550123", "use_dial_in": False},
    "accommodations": {"captions": True, "interpreter_language": "es", "other": None},
    "client_notes": "First visit.",
}

SLOTS = {
    "service_id": 3,
    "tz": "America/Toronto",
    "slots": [
        {
            "start": "2030-03-12T14:00:00Z",
            "end": "2030-03-12T14:30:00Z",
            "start_local": "2030-03-12T10:00:00-04:00",
            "end_local": "2030-03-12T10:30:00-04:00",
            "staff_ids": [7],
            "seats_left": 1,
        }
    ],
}
