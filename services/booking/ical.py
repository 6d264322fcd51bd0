"""iCalendar for appointments: iMIP invites (RFC 5546/6047), staff feeds and add-to-calendar files.

`appointment_event` turns one appointment into a VEVENT; `wrap_calendar` puts events in a
VCALENDAR with METHOD and the VTIMEZONEs their times use. An invite is both together; a feed
(services.booking.operations.feeds) is many events with the feed's name and refresh interval.
The UID is stable per appointment; SEQUENCE grows on every change; a cancellation is
METHOD:CANCEL with STATUS:CANCELLED and the same UID. DTSTAMP is the appointment's last change,
not "now", so the same state always serializes to the same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vDuration, vText

from services.booking.models import Appointment
from shared.plain_text import one_line
from shared.translations import translations

PRODID = "-//Frontdesk//Booking//EN"
MODE_LABELS = {"video": "Video call", "phone": "Phone call", "in_person": "In person"}
TRANSLATIONS = (str(Path(__file__).parent / "translations"),)


def translator(locale: str | None) -> Callable[[str], str]:
    """gettext in `locale` (English when None): the pages' catalogs, so a client's invite and
    add-to-calendar file speak the language of their pages and emails."""
    return translations(locale or "en", TRANSLATIONS).gettext


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


def backup_plan_text(
    appointment: Appointment,
    *,
    client_details: bool = True,
    locale: str | None = None,
    staff_page: str | None = None,
) -> str:
    """The backup phone plan in plain words, for DESCRIPTION (in the client's `locale`).

    Without `client_details` (a staff feed that hides client data) it is written for the staff
    member and the client's callback number is not spelled out: it is on the appointment's
    console page, `staff_page`.
    """
    gettext = translator(locale)
    backup = appointment.backup
    callback, dial_in = backup["callback_number"], backup["dial_in"]
    lines = []
    if not client_details:
        if callback:
            lines.append(
                f"Call the client: their number is on {staff_page}"
                if appointment.mode == "phone"
                else f"If the video call fails, call the client back: their number is on {staff_page}"
            )
        if dial_in and appointment.mode != "phone":
            lines.append(f"If the video call fails, the client can dial in: {dial_in}.")
    elif appointment.mode == "phone":
        if callback:
            lines.append(gettext("We will call you at %(number)s.") % {"number": callback})
    else:
        if callback:
            lines.append(
                gettext("If the video does not work, we will call you at %(number)s.")
                % {"number": callback}
            )
        if dial_in:
            lines.append(
                gettext("If the video does not work, you can call us at %(number)s.")
                % {"number": dial_in}
            )
    return "\n".join(lines)


def appointment_event(
    appointment: Appointment,
    *,
    state: EventState | None = None,
    tz: str | None = None,
    summary: str | None = None,
    client_details: bool = True,
    notes: Sequence[str] = (),
    locale: str | None = None,
    staff_page: str | None = None,
) -> Event:
    """One appointment as a VEVENT (in zone `tz`, default the client's; texts in `locale`).

    Without `client_details` the callback number is not spelled out (`staff_page`, the
    appointment's console page, has it); `notes` are extra
    DESCRIPTION lines (a feed's client initials and accommodations). The event has no
    ATTENDEE: RFC 5546 forbids it in METHOD:PUBLISH (feeds, add-to-calendar files); `invite`
    adds the client as the attendee of a scheduling message.
    """
    gettext = translator(locale)
    text = appointment.service.text_in(locale or "")
    service_name = text.name
    state = state or EventState.of(appointment)
    zone = ZoneInfo(tz or appointment.client_time_zone)
    event = Event()
    event.add("uid", appointment.uid)
    event.add("dtstamp", state.stamp)
    event.add("sequence", state.sequence)
    event.add("dtstart", state.start.astimezone(zone))
    event.add("dtend", state.end.astimezone(zone))
    # Names go through one_line: one stored before one-line fields refused CR/LF would end
    # the content line (icalendar raises) and take the whole feed or invitation down.
    event.add(
        "summary",
        one_line(
            summary
            or gettext("%(service)s with %(staff)s")
            % {"service": service_name, "staff": appointment.staff.name}
        ),
    )
    event.add("status", "CANCELLED" if state.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")

    organizer = vCalAddress(f"mailto:{appointment.staff.email}")
    organizer.params["cn"] = vText(one_line(appointment.staff.name))
    event.add("organizer", organizer)

    description = [f"{gettext(MODE_LABELS[appointment.mode])}: {service_name}."]
    if appointment.mode == "video" and appointment.video_url:
        description.append(gettext("Join the video call: %(url)s") % {"url": appointment.video_url})
        event.add("location", appointment.video_url)
        event.add("url", appointment.video_url)
    elif appointment.mode == "in_person" and appointment.service.location:
        event.add("location", appointment.service.location)
    elif appointment.mode == "phone":
        event.add("location", gettext("Phone call"))
    if plan := backup_plan_text(
        appointment, client_details=client_details, locale=locale, staff_page=staff_page
    ):
        description.append(gettext("Backup plan: %(plan)s") % {"plan": plan})
    # What the client reads on the manage page: how to join, or how to get in.
    guidance = text.access_notes if appointment.mode == "in_person" else text.join_instructions
    if guidance:
        description.append(guidance)
    description.extend(notes)
    event.add("description", "\n".join(description))

    # RFC 7986 CONFERENCE: the video URI and the backup phone numbers (tel:).
    if appointment.mode == "video" and appointment.video_url:
        event.add(
            "conference",
            appointment.video_url,
            parameters={"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": gettext("Video call")},
        )
    backup = appointment.backup
    for number, label in (
        (backup["dial_in"], gettext("Dial-in")),
        (backup["callback_number"] if client_details else None, gettext("Callback number")),
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
        alarm.add(
            "description",
            gettext("%(service)s starts soon") % {"service": service_name},
        )
        alarm.add("trigger", timedelta(minutes=-30))
        event.add_component(alarm)
    return event


def event_dates(event: Event) -> Iterable[tuple[str, date]]:
    """(time zone, local date) of the event's start and end: what its VTIMEZONEs must cover."""
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
    zone_dates: Iterable[tuple[str, date]] = (),
) -> Calendar:
    """A VCALENDAR with METHOD (REQUEST, CANCEL, PUBLISH or none) and the VTIMEZONEs used
    by `events` and by the (zone, date) pairs of `zone_dates` (events serialized elsewhere).

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
        calendar.add("name", one_line(name))
        calendar.add("x-wr-calname", one_line(name))
    if refresh:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(refresh))
    ranges: dict[str, tuple[date, date]] = {}
    for key, day in itertools.chain(zone_dates, *(event_dates(event) for event in events)):
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


def invite(
    appointment: Appointment,
    *,
    state: EventState | None = None,
    sent_by: str | None = None,
    org_name: str | None = None,
) -> tuple[str, str]:
    """(METHOD, serialized VCALENDAR) of the iMIP message for the appointment's state.

    `org_name`: the client's calendar shows the organization as the organizer (its CN); the
    address stays the staff member's, whom replies reach.

    `sent_by` is the address the email comes from: when it is not the organizer's (the staff
    member's), ORGANIZER names it as SENT-BY, so mail clients see who sent the invitation on
    the organizer's behalf instead of warning that the sender does not match (RFC 6047 3).
    """
    state = state or EventState.of(appointment)
    method = "CANCEL" if state.cancelled else "REQUEST"
    event = appointment_event(appointment, state=state, locale=appointment.client_language)
    if org_name:
        event["ORGANIZER"].params["CN"] = vText(one_line(org_name))
    if sent_by and sent_by.casefold() != appointment.staff.email.casefold():
        event["ORGANIZER"].params["SENT-BY"] = f"mailto:{sent_by}"
    attendee = vCalAddress(f"mailto:{appointment.client_email}")
    attendee.params["cn"] = vText(one_line(appointment.client_name))
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar = wrap_calendar([event], method=method)
    calendar.validate()
    return method, calendar.to_ical().decode()
