"""iCalendar for appointments: iMIP invites (RFC 5546/6047), staff feeds and add-to-calendar files.

`appointment_event` turns one appointment into a VEVENT; `wrap_calendar` puts events in a
VCALENDAR with METHOD and the VTIMEZONEs their times use. An invite is both together; a feed
(services.booking.feeds) is many events with the feed's name and refresh interval.
The UID is stable per appointment; SEQUENCE grows on every change; a cancellation is
METHOD:CANCEL with STATUS:CANCELLED and the same UID. DTSTAMP is the appointment's last change,
not "now", so the same state always serializes to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vDuration, vText

from services.booking.models import Appointment

PRODID = "-//Frontdesk//Booking//EN"
MODE_LABELS = {"video": "Video call", "phone": "Phone call", "in_person": "In person"}


@dataclass(frozen=True)
class EventState:
    """The appointment as it was when a message about it was decided (times, sequence, status)."""

    start: datetime
    end: datetime
    sequence: int
    cancelled: bool
    stamp: datetime

    @classmethod
    def of(cls, appointment: Appointment) -> EventState:
        """The appointment's current state."""
        return cls(
            start=appointment.start,
            end=appointment.end,
            sequence=appointment.sequence,
            cancelled=appointment.status == "cancelled",
            stamp=appointment.updated_at,
        )


def backup_plan_text(appointment: Appointment, *, client_details: bool = True) -> str:
    """The backup phone plan in plain words, for DESCRIPTION and emails.

    Without `client_details` (a staff feed that hides client data) it is written for the staff
    member and the client's callback number is not spelled out.
    """
    backup = appointment.backup
    callback, dial_in = backup["callback_number"], backup["dial_in"]
    lines = []
    if not client_details:
        if callback:
            lines.append(
                "Call the client (their number is in Frontdesk)."
                if appointment.mode == "phone"
                else "If the video call fails, call the client back (number in Frontdesk)."
            )
        if dial_in and appointment.mode != "phone":
            lines.append(f"If the video call fails, the client can dial in: {dial_in}.")
    elif appointment.mode == "phone":
        if callback:
            lines.append(f"We will call you at {callback}.")
    else:
        if callback:
            lines.append(f"If the video call fails, we will call you at {callback}.")
        if dial_in:
            lines.append(f"If the video call fails, you can also dial in: {dial_in}.")
    return "\n".join(lines)


def appointment_event(
    appointment: Appointment,
    *,
    state: EventState | None = None,
    tz: str | None = None,
    summary: str | None = None,
    client_details: bool = True,
    notes: Sequence[str] = (),
) -> Event:
    """One appointment as a VEVENT (in zone `tz`, default the client's).

    Without `client_details` the event names no client (no ATTENDEE, no callback number);
    `notes` are extra DESCRIPTION lines (a feed's client initials and accommodations).
    """
    state = state or EventState.of(appointment)
    zone = ZoneInfo(tz or appointment.client_time_zone)
    event = Event()
    event.add("uid", appointment.uid)
    event.add("dtstamp", state.stamp)
    event.add("sequence", state.sequence)
    event.add("dtstart", state.start.astimezone(zone))
    event.add("dtend", state.end.astimezone(zone))
    event.add(
        "summary",
        summary or f"{appointment.service.name} with {appointment.staff.name}",
    )
    event.add("status", "CANCELLED" if state.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")

    organizer = vCalAddress(f"mailto:{appointment.staff.email}")
    organizer.params["cn"] = vText(appointment.staff.name)
    event.add("organizer", organizer)
    if client_details:
        attendee = vCalAddress(f"mailto:{appointment.client_email}")
        attendee.params["cn"] = vText(appointment.client_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)

    description = [f"{MODE_LABELS[appointment.mode]}: {appointment.service.name}."]
    if appointment.mode == "video" and appointment.video_url:
        description.append(f"Join the video call: {appointment.video_url}")
        event.add("location", appointment.video_url)
        event.add("url", appointment.video_url)
    elif appointment.mode == "in_person" and appointment.service.location:
        event.add("location", appointment.service.location)
    elif appointment.mode == "phone":
        event.add("location", "Phone call")
    if plan := backup_plan_text(appointment, client_details=client_details):
        description.append("Backup plan: " + plan)
    description.extend(notes)
    event.add("description", "\n".join(description))

    # RFC 7986 CONFERENCE: the video URI and the backup phone numbers (tel:).
    if appointment.mode == "video" and appointment.video_url:
        event.add(
            "conference",
            appointment.video_url,
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": "Video call"},
        )
    backup = appointment.backup
    for number, label in (
        (backup["dial_in"], "Dial-in"),
        (backup["callback_number"] if client_details else None, "Callback number"),
    ):
        if number:
            event.add(
                "conference",
                f"tel:{number}",
                parameters={"VALUE": "URI", "FEATURE": "PHONE", "LABEL": label},
            )

    if not state.cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{appointment.service.name} starts soon")
        alarm.add("trigger", timedelta(minutes=-30))
        event.add_component(alarm)
    return event


def _event_dates(event: Event) -> Iterable[tuple[str, date]]:
    for name in ("dtstart", "dtend"):
        value = event.get(name)
        if value is None:
            continue
        moment = value.dt
        tzinfo = getattr(moment, "tzinfo", None)
        key = getattr(tzinfo, "key", None)
        if key and key != "UTC":
            yield key, moment.date()


def wrap_calendar(
    events: Iterable[Event],
    *,
    method: str | None,
    name: str | None = None,
    refresh: timedelta | None = None,
) -> Calendar:
    """A VCALENDAR with METHOD (REQUEST, CANCEL, PUBLISH or none) and the VTIMEZONEs used.

    A subscribed feed also gets its `name` (RFC 7986 NAME and X-WR-CALNAME) and how often
    clients should `refresh` it (RFC 7986 REFRESH-INTERVAL and Outlook's X-PUBLISHED-TTL).
    """
    events = list(events)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    if refresh:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(refresh))
    ranges: dict[str, tuple[date, date]] = {}
    for event in events:
        for key, day in _event_dates(event):
            first, last = ranges.get(key, (day, day))
            ranges[key] = (min(first, day), max(last, day))
    for key in sorted(ranges):
        first, last = ranges[key]
        calendar.add_component(
            Timezone.from_tzid(
                key, first_date=first - timedelta(days=370), last_date=last + timedelta(days=370)
            )
        )
    for event in events:
        calendar.add_component(event)
    return calendar


def invite(appointment: Appointment, *, state: EventState | None = None) -> tuple[str, str]:
    """(METHOD, serialized VCALENDAR) of the iMIP message for the appointment's state."""
    state = state or EventState.of(appointment)
    method = "CANCEL" if state.cancelled else "REQUEST"
    calendar = wrap_calendar([appointment_event(appointment, state=state)], method=method)
    calendar.validate()
    return method, calendar.to_ical().decode()
