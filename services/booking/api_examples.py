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
        "notify_by": "both",
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

BOOKED = {
    "appointment": {
        "id": 42,
        "uid": "3f9c1e7a-5b2d-4c8e-9a61-0d4b7e2f8c15@frontdesk",
        "service_id": 3,
        "service_name": "Settlement intake",
        "staff_id": 7,
        "staff_name": "Amira Haddad",
        "start": "2030-03-12T14:00:00Z",
        "end": "2030-03-12T14:30:00Z",
        "status": "confirmed",
        "mode": "video",
        "video_url": "https://meet.example.org/amira",
        "location": None,
        "client_name": "Ana López",
        "client_email": "ana.lopez@example.org",
        "client_phone": "+14165550123",
        "notify_by": "both",
        "client_language": "es",
        "client_time_zone": "America/Toronto",
        "backup": {"callback_number": "+14165550123", "dial_in": None, "use_dial_in": False},
        "accommodations": {"captions": True, "interpreter_language": "es", "other": None},
        "client_notes": "First visit.",
        "outcome": None,
        "staff_notes": None,
        "cancel_reason": None,
        "sequence": 0,
        "follow_up_of_id": None,
        "consent_status": "pending",
        "consents": [],
        "created_at": "2030-03-01T16:20:00Z",
        "updated_at": "2030-03-01T16:20:00Z",
    },
    "manage_token": "fdm_" + "0123456789abcdef" * 3,
    "manage_url": "https://frontdesk.example.org/booking/manage/fdm_" + "0123456789abcdef" * 3,
}

APPOINTMENT = BOOKED["appointment"]

CLIENT_ENTRY = {
    "email": "ana.lopez@example.org",
    "name": "Ana López",
    "phone": "+14165550123",
    "appointment_count": 3,
    "next_appointment": {"id": 42, "start": "2030-03-12T14:00:00Z", "status": "confirmed"},
    "last_appointment": {"id": 37, "start": "2030-02-26T15:00:00Z", "status": "completed"},
}

# Monday's hours, in the staff member's own time zone: a morning and an afternoon.
DAY_RULES = [
    {"start_time": "09:00", "end_time": "12:00"},
    {"start_time": "13:00", "end_time": "17:00"},
]

ORGANIZATION_UPDATE = {
    "name": "Maple Community Services",
    "phone": "+14165550123",
    "email": "hello@maple.example",
    "address": "120 Maple Street, Toronto ON M5V 2T6",
    "hours": {
        "en": "Monday to Friday, 9:00 to 17:00",
        "fr": "Du lundi au vendredi, de 9 h à 17 h",
    },
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}

ORGANIZATION = {
    **ORGANIZATION_UPDATE,
    "logo_url": "https://frontdesk.example.org/booking/api/v1/organization/logo?v=3f1c2a9d8e7b6a50",
}
