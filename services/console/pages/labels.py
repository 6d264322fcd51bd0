"""The words pages show for the APIs' codes (statuses, modes), translated where shown."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext

from shared.pages import N_

STATUSES = {
    "confirmed": N_("Confirmed"),
    "cancelled": N_("Cancelled"),
    "completed": N_("Completed"),
    "no_show": N_("No-show"),
}
MODES = {"video": N_("Video"), "phone": N_("Phone"), "in_person": N_("In person")}
CONSENT = {
    "none": N_("None needed"),
    "pending": N_("Waiting for signature"),
    "complete": N_("Signed"),
    "withdrawn": N_("Withdrawn"),
}
# Notify's message statuses as "did the invitation reach the client?".
INVITE = {
    "scheduled": N_("Not sent yet"),
    "sending": N_("Sending"),
    "sent": N_("Delivered"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "dead": N_("Failed"),
    "bounced": N_("Bounced"),
    "cancelled": N_("Cancelled"),
    "none": N_("No invitation sent"),
}
UNKNOWN = N_("Unknown")


def _label(table: dict[str, str], code: Any) -> str:
    return gettext(table[code]) if code in table else gettext(UNKNOWN)


def invite_label(message: dict[str, Any] | None) -> str:
    """'Delivered', 'Failed (3 attempts)'...; 'Unknown' when notify could not say."""
    if not message:
        return gettext(UNKNOWN)
    label = _label(INVITE, message.get("status"))
    attempts = message.get("attempts") or 0
    if isinstance(attempts, list):  # notify lists each attempt
        attempts = len(attempts)
    if message.get("status") in ("failed", "dead", "scheduled") and attempts:
        return gettext("%(status)s (%(count)s attempts)", status=label, count=attempts)
    return label


def init_app(app: Flask) -> None:
    """Give templates the label functions."""
    app.jinja_env.globals.update(
        status_label=lambda code: _label(STATUSES, code),
        mode_label=lambda code: _label(MODES, code),
        consent_label=lambda code: _label(CONSENT, code),
        invite_label=invite_label,
    )
