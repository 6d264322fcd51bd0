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
            "appointment_id": 42,
            "staff_id": 3,
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
    "attempt_count": 0,
    "last_attempt_at": None,
    "last_error": None,
    "appointment_id": 42,
    "staff_id": 3,
    "retried_at": None,
}

FAILED_MESSAGE = MESSAGE | {
    "template": "booking_confirmation",
    "status": "failed",
    "attempts": [
        {
            "at": "2030-03-01T16:20:02Z",
            "ok": False,
            "error": "550 5.1.1 mailbox unavailable",
        }
    ],
    "attempt_count": 1,
    "last_attempt_at": "2030-03-01T16:20:02Z",
    "last_error": "550 5.1.1 mailbox unavailable",
}

RETRIED_MESSAGE = FAILED_MESSAGE | {
    "status": "scheduled",
    "retried_at": "2030-03-01T17:05:00Z",
}
