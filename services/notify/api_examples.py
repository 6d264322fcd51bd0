"""Examples the OpenAPI document shows for notify's POST /messages, one per channel."""

from __future__ import annotations

SEND_MESSAGE = {
    "email": {
        "summary": "An email with literal text",
        "value": {
            "channel": "email",
            "to": "ana.lopez@example.org",
            "subject": "Your appointment on March 12",
            "text": "See you on Tuesday, March 12 at 10:00.",
            "group": "appointment-42",
        },
    },
    "sms": {
        "summary": "An SMS, sent at a given time",
        "value": {
            "channel": "sms",
            "to": "+14165550123",
            "text": "Reminder: your appointment is tomorrow at 10:00.",
            "send_at": "2030-03-11T14:00:00Z",
            "group": "appointment-42",
        },
    },
    "webhook": {
        "summary": "A signed webhook call",
        "value": {
            "channel": "webhook",
            "to": "https://billing.example.org/hooks/frontdesk",
            "event": "appointment.completed",
            "payload": {"appointment_id": 42, "outcome": "attended"},
            "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
    },
}

MESSAGE = {
    "id": 311,
    "channel": "email",
    "to": "ana.lopez@example.org",
    "template": None,
    "locale": "en",
    "group": "appointment-42",
    "status": "scheduled",
    "send_at": "2030-03-01T16:20:00Z",
    "created_at": "2030-03-01T16:20:00Z",
    "sent_at": None,
    "attempts": [],
    "last_error": None,
}
