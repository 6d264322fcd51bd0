"""My availability: weekly hours (one form per day, so saving a day never touches the others),
days off and date exceptions, busy blocks, external calendars with their last-fetch problems,
and the calendar feed's subscribe link (made or rotated on request: booking shows it once).

Everything is in the staff member's own zone (the signed-in person's, unless an admin picked
someone else with ?staff=<id>). Every change is one booking API call with the person's token;
booking's field errors come back next to the fields, with the input kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext

from services.console.errors import ApiProblem
from services.console.operations import summaries
from services.console.pages.access import field_errors, page_blueprint
from shared import db
from shared.db import utcnow
from shared.pages import N_

blueprint = page_blueprint("console_availability")

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
BUSY_WINDOW = timedelta(days=180)  # busy blocks listed from now on
BLANK_ROWS = 1  # empty interval rows under each day (more with the "Add interval" button)


def chosen_staff() -> int:
    """Whose availability: staff always their own; admins ?staff=<id> (form: staff=<id>)."""
    asked = request.values.get("staff", "")
    if g.person.is_admin and asked.isdigit():
        return int(asked)
    return g.person.staff_id


def _back(staff_id: int, anchor: str, **args: Any):
    """Back to the page after a change, at the section changed."""
    staff = staff_id if staff_id != g.person.staff_id else None
    return redirect(
        url_for("console_availability.availability", staff=staff, **args) + f"#{anchor}"
    )


def _day_rows(rules: list[dict[str, Any]]) -> dict[int, list[dict[str, str]]]:
    """The week's intervals by weekday, as the day forms show them."""
    days: dict[int, list[dict[str, str]]] = {weekday: [] for weekday in range(7)}
    for rule in sorted(rules, key=lambda r: (r["weekday"], r["start_time"])):
        days[rule["weekday"]].append({"start": rule["start_time"], "end": rule["end_time"]})
    return days


def _render(staff_id: int, *, errors: dict[str, str] | None = None, status: int = 200, **kept):
    """The page with booking's current data, and a failed form's input and errors in `kept`."""
    api = g.api.booking
    staff = api.staff(staff_id)
    zone = ZoneInfo(staff["time_zone"])
    now = utcnow()
    days = _day_rows(api.rules(staff_id))
    if "day" in kept:
        days[kept["day"]] = kept["day_rows"]
    body = render_template(
        "console/availability.html",
        staff=staff,
        zone=zone,
        weekdays=[gettext(name) for name in WEEKDAYS],
        days=days,
        blank_rows=BLANK_ROWS,
        exceptions=sorted(api.exceptions(staff_id), key=lambda e: e["date"]),
        busy=[
            {**block, "start_at": _instant(block["start"]), "end_at": _instant(block["end"])}
            for block in api.busy_blocks(staff_id, start=now, end=now + BUSY_WINDOW)
        ],
        calendars=[
            {**cal, "ok_at": _instant(cal["last_ok_at"]) if cal.get("last_ok_at") else None}
            for cal in api.calendars(staff_id)
        ],
        problems={p["calendar_id"]: p for p in staff.get("calendar_problems") or []},
        staff_choices=api.list_staff() if g.person.is_admin else [],
        errors=errors or {},
        form=kept.get("form", ""),
        values=kept.get("values", {}),
        saved=request.args.get("saved"),
        summary_on=not summaries.is_opted_out(session=db.session(), staff_id=staff_id),
    )
    return body, status


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _attempt(staff_id: int, call: Callable[[], Any], anchor: str, *, first_field: str = "", **kept):
    """Make one API call and go back to the page; on a caller's mistake, the page again with
    the API's field errors and the input kept (an error of the whole form goes next to its
    `first_field`). Removing what is already gone is done."""
    try:
        call()
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        if problem.status == 404 and not first_field:
            return _back(staff_id, anchor)
        errors = field_errors(problem)
        if "_form" in errors and first_field:
            errors[first_field] = errors.pop("_form")
        return _render(staff_id, errors=errors, status=422, **kept)
    return _back(staff_id, anchor, saved=anchor)


@blueprint.get("/availability")
def availability():
    """The whole page."""
    return _render(chosen_staff())


@blueprint.post("/availability/days/<int(max=6):weekday>")
def save_day(weekday: int):
    """Replace one weekday's intervals (the rows kept, filled in and not marked removed)."""
    staff_id = chosen_staff()
    starts, ends = request.form.getlist("start"), request.form.getlist("end")
    removed = set(request.form.getlist("remove"))
    rows = [{"start": s.strip(), "end": e.strip()} for s, e in zip(starts, ends, strict=False)]
    kept_rows = [
        (index, row)
        for index, row in enumerate(rows)
        if (row["start"] or row["end"]) and str(index) not in removed
    ]
    intervals = [{"start_time": row["start"], "end_time": row["end"]} for _i, row in kept_rows]
    try:
        g.api.booking.replace_day_rules(staff_id, weekday, intervals)
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return _render(
            staff_id,
            errors=_interval_errors(problem, weekday),
            status=422,
            form=f"day-{weekday}",
            day=weekday,
            day_rows=[row for _i, row in kept_rows] or rows,
        )
    return _back(staff_id, f"day-{weekday}", saved=f"day-{weekday}")


def _interval_errors(problem: ApiProblem, weekday: int) -> dict[str, str]:
    """Booking's errors for rules[i].start_time / end_time, as the day form's field ids (the
    rows sent are shown again first, in the order sent)."""
    nested = (problem.errors or {}).get("rules")
    if not isinstance(nested, dict):
        text = " ".join(map(str, _messages(problem.errors or {}))) or problem.detail
        return {f"day-{weekday}-0-start": text}
    errors: dict[str, str] = {}
    for position, fields in nested.items():
        named = fields.items() if isinstance(fields, dict) else [("start_time", fields)]
        for name, messages in named:
            side = "end" if name == "end_time" else "start"
            errors[f"day-{weekday}-{int(position)}-{side}"] = " ".join(
                map(str, _messages(messages))
            )
    return errors


def _messages(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [m for item in value.values() for m in _messages(item)]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    return [value]


EXCEPTION_FIELDS = ("date", "kind", "start_time", "end_time", "note")


@blueprint.post("/availability/exceptions")
def add_exception():
    """Add a day off, hours off or extra hours on a date."""
    staff_id = chosen_staff()
    values = {name: request.form.get(name, "").strip() for name in EXCEPTION_FIELDS}
    fields = {
        name: (value or None) if name.endswith("_time") else value for name, value in values.items()
    }
    return _attempt(
        staff_id,
        lambda: g.api.booking.add_exception(staff_id, fields),
        "exceptions",
        first_field="date",
        form="exceptions",
        values=values,
    )


@blueprint.post("/availability/exceptions/<int:exception_id>/remove")
def remove_exception(exception_id: int):
    """Remove a date exception."""
    staff_id = chosen_staff()
    return _attempt(
        staff_id, lambda: g.api.booking.delete_exception(staff_id, exception_id), "exceptions"
    )


@blueprint.post("/availability/busy")
def add_busy():
    """Mark a time as busy: local date and times in the staff member's zone, sent as UTC."""
    staff_id = chosen_staff()
    values = {name: request.form.get(name, "").strip() for name in ("start", "end")}
    zone = ZoneInfo(g.api.booking.staff(staff_id)["time_zone"])
    fields = {name: _as_utc(value, zone) for name, value in values.items()}
    return _attempt(
        staff_id,
        lambda: g.api.booking.add_busy_block(staff_id, fields),
        "busy",
        first_field="start",
        form="busy",
        values=values,
    )


def _as_utc(value: str, zone: ZoneInfo) -> str:
    """A datetime-local input ('2026-03-10T09:30') in `zone`, as ISO 8601 UTC; anything else
    goes to booking as typed, which says what is wrong with it."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


@blueprint.post("/availability/busy/<int:block_id>/remove")
def remove_busy(block_id: int):
    """Remove a busy block."""
    staff_id = chosen_staff()
    return _attempt(staff_id, lambda: g.api.booking.delete_busy_block(staff_id, block_id), "busy")


@blueprint.post("/availability/calendars")
def add_calendar():
    """Add an external calendar (its secret ICS address)."""
    staff_id = chosen_staff()
    values = {name: request.form.get(name, "").strip() for name in ("name", "url")}
    return _attempt(
        staff_id,
        lambda: g.api.booking.add_calendar(staff_id, values),
        "calendars",
        first_field="url",
        form="calendars",
        values=values,
    )


@blueprint.post("/availability/calendars/<int:calendar_id>/remove")
def remove_calendar(calendar_id: int):
    """Remove an external calendar and the busy time it brought."""
    staff_id = chosen_staff()
    return _attempt(
        staff_id, lambda: g.api.booking.delete_calendar(staff_id, calendar_id), "calendars"
    )


@blueprint.get("/availability/feed")
def confirm_feed():
    """Ask before making a new feed link (any older link stops working)."""
    staff_id = chosen_staff()
    return render_template("console/feed_confirm.html", staff_id=staff_id)


@blueprint.post("/availability/feed")
def make_feed():
    """Make a new feed link and show it, with the steps to subscribe (booking shows it once)."""
    staff_id = chosen_staff()
    feed = g.api.booking.rotate_feed_token(staff_id)
    return render_template("console/feed.html", staff_id=staff_id, feed=feed)


@blueprint.post("/availability/summary")
def save_summary():
    """Turn the Monday summary email on or off (a console preference)."""
    staff_id = chosen_staff()
    g.api.booking.staff(staff_id)  # the same 404 as every other change for someone else
    summaries.set_opt_out(
        session=db.session(), staff_id=staff_id, opted_out=request.form.get("weekly") != "on"
    )
    return _back(staff_id, "summary", saved="summary")
