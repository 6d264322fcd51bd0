"""The organization's profile as pages and messages show it: one shape for every service.

Booking owns the profile (its `organizations` row, `GET /booking/api/v1/organization`); the
other services see it through that API. Until an admin saves one, the settings stand in:
FRONTDESK_ORG_NAME for the name, FRONTDESK_REPLY_TO for the Reply-To, English as the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

# app.extensions key of a callable returning the organization's profile (OrgProfile) for pages,
# records and messages; without one the settings stand in (FRONTDESK_ORG_NAME).
ORGANIZATION_SOURCE = "frontdesk_organization"


def phone_display(e164: str) -> str:
    """'+14165550100' -> '+1 416-555-0100': readable, and dialable from anywhere."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@dataclass(frozen=True)
class OrgProfile:
    """Who clients deal with and how they reach it."""

    name: str
    phone: str | None = None  # E.164
    email: str | None = None
    address: str | None = None
    hours: Mapping[str, str] = field(default_factory=dict)  # language -> free text
    reply_to: str | None = None
    default_language: str = "en"
    logo_url: str | None = None

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> OrgProfile:
        """The profile the settings give before an admin saves one."""
        return cls(name=config["ORG_NAME"], reply_to=config.get("REPLY_TO") or None)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> OrgProfile:
        """The profile from booking's `GET /api/v1/organization` answer."""
        return cls(
            name=body["name"],
            phone=body.get("phone"),
            email=body.get("email"),
            address=body.get("address"),
            hours=dict(body.get("hours") or {}),
            reply_to=body.get("reply_to"),
            default_language=body.get("default_language") or "en",
            logo_url=body.get("logo_url"),
        )

    @property
    def phone_display(self) -> str | None:
        """The phone number as people read it."""
        return phone_display(self.phone) if self.phone else None

    @property
    def logo_path(self) -> str | None:
        """The logo's URL without its host, for pages (their CSP allows only 'self')."""
        if not self.logo_url:
            return None
        parts = urlsplit(self.logo_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def hours_in(self, language: str) -> str | None:
        """The opening hours in a language, else in the default language, else in English."""
        for code in (language, self.default_language, "en"):
            if self.hours.get(code):
                return self.hours[code]
        return next((text for text in self.hours.values() if text), None)

    def message_context(self, language: str) -> dict[str, Any]:
        """The `org_*` variables of every notify template (email and SMS) in a language."""
        return {
            "org_name": self.name,
            "org_phone": self.phone_display,
            "org_email": self.email,
            "org_address": self.address,
            "org_hours": self.hours_in(language),
            "org_reply_to": self.reply_to,
        }
