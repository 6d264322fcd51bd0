"""Links that add an appointment to a calendar the client already uses."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g
from flask_babel import gettext as _

from services.booking.models import Appointment
from services.booking.pages.phones import backup_lines
from shared.pages import current_org


def google_calendar_url(appointment: Appointment) -> str:
    """A Google Calendar 'add event' link (no manage token: it would leave our site)."""
    service = appointment.service
    where = {
        "video": appointment.video_url or "",
        "phone": _("Phone call"),
        "in_person": service.location or "",
    }[appointment.mode]
    details = [where] if appointment.mode == "video" and where else []
    details += backup_lines(appointment)
    params = {
        "action": "TEMPLATE",
        "text": f"{service.text_in(g.lang).name} · {current_org().name}",
        "dates": f"{appointment.start:%Y%m%dT%H%M%SZ}/{appointment.end:%Y%m%dT%H%M%SZ}",
        "details": "\n".join(details),
        "location": where,
        "ctz": appointment.client_time_zone,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(params)
