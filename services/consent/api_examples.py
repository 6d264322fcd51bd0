"""Examples the OpenAPI document shows for consent's main operations."""

from __future__ import annotations

REQUEST_CONSENT = {
    "template_id": 2,
    "client_name": "Ana López",
    "client_email": "ana.lopez@example.org",
    "client_phone": "+14165550123",
    "locale": "es",
    "appointment_id": 42,
    "timezone": "America/Toronto",
    "expires_at": "2030-03-11T14:00:00Z",
    "send": True,
}

SIGN = {
    "typed_name": "Ana López",
    "checkboxes": {"recording": True, "sharing": True},
    "fields": {},
    "disclosure_accepted": True,
    "timezone": "America/Toronto",
}
