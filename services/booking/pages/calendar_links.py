"""Links that add an appointment to a calendar the client already uses."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g
from flask_babel import gettext as _

from services.booking.models import Appointment
from services.booking.pages.phones import backup_lines
from shared.pages import current_org

# The longest add-event link we hand out: well under the 8 KB request line many servers and
# proxies accept.
GOOGLE_URL_MAX = 6000
GOOGLE_ADD = "https://calendar.google.com/calendar/render?"


def google_calendar_url(appointment: Appointment) -> str:
    """A Google Calendar 'add event' link (no manage token: it would leave our site)."""
    service = appointment.service
    where = {
        "video": appointment.video_url or "",
        "phone": _("Phone call"),
        "in_person": service.location or "",
    }[appointment.mode]
    text = service.text_in(g.lang)
    details = [where] if appointment.mode == "video" and where else []
    details += backup_lines(appointment)
    params = {
        "action": "TEMPLATE",
        "text": f"{text.name} · {current_org().name}",
        "dates": f"{appointment.start:%Y%m%dT%H%M%SZ}/{appointment.end:%Y%m%dT%H%M%SZ}",
        "details": "\n".join(details),
        "location": where,
        "ctz": appointment.client_time_zone,
    }
    # How to join (or get in) too, unless it makes the link longer than servers reliably take
    # (2,000 Arabic characters are 12,000 once encoded); the manage page always shows it.
    guidance = text.access_notes if appointment.mode == "in_person" else text.join_instructions
    if guidance:
        url = GOOGLE_ADD + urlencode({**params, "details": "\n".join([*details, guidance])})
        if len(url) <= GOOGLE_URL_MAX:
            return url
    return GOOGLE_ADD + urlencode(params)
