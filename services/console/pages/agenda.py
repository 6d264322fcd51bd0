"""The agenda, the console's landing page: a day's appointments in full and the week around it,
in the signed-in person's time zone (days cut at local midnight, so DST days are 23 or 25 h).

Staff see their own appointments (booking's API gives a staff token nothing else); admins pick
one staff member or everyone. Each of the day's rows shows what a call needs: time, client,
service, mode and join link, the backup plan with the client's number as a tel: link,
accommodations, consent status, and whether the invitation reached the client (from notify).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, render_template, request

from services.console.clients import ApiProblem, ServiceCallFailed
from services.console.pages.access import page_blueprint

blueprint = page_blueprint("console_agenda")

# Messages that invite the client to the appointment, newest wins (notify's template names).
INVITE_TEMPLATES = ("booking_rescheduled", "booking_confirmation")


@dataclass(frozen=True)
class Period:
    """A local day and its week (Monday first), as UTC instants for the API."""

    day: date
    zone: ZoneInfo

    def start_of(self, day: date) -> datetime:
        """Local midnight starting `day`, in UTC."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def week_start(self) -> date:
        return self.day - timedelta(days=self.day.weekday())

    @property
    def week_days(self) -> list[date]:
        return [self.week_start + timedelta(days=offset) for offset in range(7)]

    def local_day(self, instant: datetime) -> date:
        """The local date an instant falls on."""
        return instant.astimezone(self.zone).date()


def chosen_day(zone: ZoneInfo) -> date:
    """?day=YYYY-MM-DD, else today in the person's zone."""
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return datetime.now(zone).date()


def chosen_staff() -> int | None:
    """Whose agenda: staff always their own; admins ?staff=<id>, or everyone with ?staff=all."""
    if not g.person.is_admin:
        return g.person.staff_id
    asked = request.args.get("staff", "")
    if asked == "all":
        return None
    return int(asked) if asked.isdigit() else g.person.staff_id


def invite_statuses(appointment_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """The invitation's status of each appointment, from one notify call for them all (None for
    each when notify cannot say: the agenda still shows)."""
    try:
        messages = g.api.notify.messages_of_appointments(appointment_ids)
    except (ApiProblem, ServiceCallFailed):
        return dict.fromkeys(appointment_ids)
    about: dict[int, list[dict[str, Any]]] = {i: [] for i in appointment_ids}
    for message in messages:
        about.setdefault(message.get("appointment_id"), []).append(message)
    return {i: _invitation(found) for i, found in about.items() if i in appointment_ids}


def _invitation(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest invitation among an appointment's messages (or its latest message)."""
    invites = [m for m in messages if m.get("template") in INVITE_TEMPLATES] or messages
    return invites[-1] if invites else {"status": "none", "attempts": 0}


def _with_times(appointment: dict[str, Any]) -> dict[str, Any]:
    """The appointment with its start and end as datetimes (the API sends ISO 8601 UTC)."""
    return {
        **appointment,
        "start_at": datetime.fromisoformat(appointment["start"]),
        "end_at": datetime.fromisoformat(appointment["end"]),
    }


@blueprint.get("/")
def agenda():
    """The chosen day in full and its week in brief."""
    zone = ZoneInfo(g.person.time_zone)
    period = Period(day=chosen_day(zone), zone=zone)
    staff_id = chosen_staff()
    week_end = period.week_start + timedelta(days=7)
    found = g.api.booking.appointments(
        start=period.start_of(period.week_start), end=period.start_of(week_end), staff_id=staff_id
    )
    week = [_with_times(a) for a in found]
    day_rows = [a for a in week if period.local_day(a["start_at"]) == period.day]
    invites = invite_statuses([a["id"] for a in day_rows])
    day_rows = [{**a, "invite": invites[a["id"]]} for a in day_rows]
    by_day = {
        day: [a for a in week if period.local_day(a["start_at"]) == day] for day in period.week_days
    }
    staff_choices = g.api.booking.list_staff() if g.person.is_admin else []
    return render_template(
        "console/agenda.html",
        period=period,
        today=datetime.now(zone).date(),
        day_rows=day_rows,
        by_day=by_day,
        staff_id=staff_id,
        staff_choices=staff_choices,
        previous_day=period.day - timedelta(days=1),
        next_day=period.day + timedelta(days=1),
    )
