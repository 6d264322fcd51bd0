"""Phone numbers on the booking pages: read as people type them, shown grouped for reading aloud,
and the backup phone plan in plain words."""

from __future__ import annotations

import phonenumbers
from babel.core import get_global
from flask_babel import gettext as _

from services.booking.models import Appointment
from shared.fields import to_e164


def in_zone_country(value: str, tz: str) -> str:
    """A typed number without country code as E.164, read in the country of the zone `tz`;
    anything else as typed (the schema's PhoneNumber checks it)."""
    if not value or value.startswith("+"):
        return value
    try:
        return to_e164(value, get_global("zone_territories").get(tz))
    except ValueError:
        return value


def readable_phone(number: str | None) -> str | None:
    """An E.164 number grouped for reading aloud: '+1 416-555-0123'."""
    if not number:
        return None
    parsed = phonenumbers.parse(number)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def backup_lines(appointment: Appointment) -> list[str]:
    """The backup phone plan in plain words, in the page's language."""
    backup = appointment.backup
    callback, dial_in = (readable_phone(backup[key]) for key in ("callback_number", "dial_in"))
    if appointment.mode == "phone":
        lines = [_("We will call you at %(number)s.", number=callback)] if callback else []
        if dial_in:
            lines.append(_("If we cannot reach you, call %(number)s.", number=dial_in))
        return lines
    if appointment.mode != "video":
        return []
    lines = []
    if callback:
        lines.append(
            _("If the video does not work, we will call you at %(number)s.", number=callback)
        )
    if dial_in:
        lines.append(
            _("If the video does not work, you can call us at %(number)s.", number=dial_in)
            if callback
            else _("If the video does not work, call us at %(number)s.", number=dial_in)
        )
    return lines
