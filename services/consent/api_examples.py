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

REQUEST_CREATED = {
    "id": 17,
    "status": "pending",
    "template_id": 2,
    "template_version": 1,
    "form_title": "Session recording and information sharing",
    "signing_url": "https://frontdesk.example.org/consent/sign/fdc_Xq3v8mN2pL5tR9wK1yB6cD4fG7hJ0sA2eU8iO3k5Zqw",
    "appointment_id": 42,
    "expires_at": "2030-03-11T14:00:00Z",
    "reused": False,
    "client_name": "Ana López",
    "client_email": "ana.lopez@example.org",
    "locale": "es",
    "timezone": "America/Toronto",
    "verbal": False,
    "signed_at": None,
}
