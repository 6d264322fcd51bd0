"""The booking service's public pages: the services, the slot picker, booking, confirmation, manage.

Server-rendered and complete without JavaScript: step 1 (mode and time zone) and step 2 (a day,
then a slot) are plain GET forms and links that keep their choices in the query string; step 3
(the client's details) is one POST that books through `appointments.book`. The confirmation and
manage pages (add to calendar, cancel, reschedule) are reached only with the client's manage token.
Views stay thin: they read the form, call one operation and render.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import phonenumbers
from babel.core import get_global
from babel.dates import format_date, get_timezone_gmt, get_timezone_location
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter import Limiter
from sqlalchemy.orm import Session

from services.booking import appointments, availability, catalog, ical
from services.booking.appointments import CLIENT
from services.booking.errors import (
    AlreadyBooked,
    BackupPlanRequired,
    ManageLinkNotFound,
    ModeNotOffered,
    OutsideAvailability,
    SlotTaken,
    TooManyBookings,
)
from services.booking.models import Appointment, Service
from shared import db
from shared.db import utcnow
from shared.email_addresses import NON_ASCII_LOCAL_PART, email_problem
from shared.fields import is_time_zone, to_e164
from shared.idempotency import fingerprint, scoped
from shared.pages import LANGUAGES, N_
from shared.plain_text import one_line_problem

blueprint = Blueprint("pages", __name__, template_folder="templates")

# Booking, cancel and reschedule POSTs per client IP (storage: FRONTDESK_RATELIMIT_STORAGE_URL).
POST_LIMIT = "10/minute"
DAYS_SHOWN = 7  # days with free times offered at once
SEARCH_DAYS = 14  # calendar days searched to find them (two working weeks)
NEAREST = 6  # slots offered when the chosen one was just taken
LIMITS = {
    "name": 200,
    "email": 320,
    "phone": 40,
    "callback_number": 40,
    "interpreter_language": 64,
    "accommodation_other": 2000,
    "notes": 4000,
    "reason": 2000,
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")

MODES = {
    "video": (
        N_("Video call"),
        N_("You join from your phone or computer with a link we give you."),
    ),
    "phone": (
        N_("Phone call"),
        N_("We call you on your phone. You do not need the internet."),
    ),
    "in_person": (N_("In person"), N_("You come to our office and meet us there.")),
}
CONSENT_STATES = {
    "pending": N_("Waiting for your signature"),
    "signed": N_("Signed"),
    "declined": N_("Declined"),
    "expired": N_("The signing link expired"),
    "withdrawn": N_("Withdrawn"),
}
# Offered in the time zone list; the browser's own zone is added by frontdesk.js when missing.
COMMON_ZONES = [
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Vancouver",
    "America/Los_Angeles",
    "America/Whitehorse",
    "America/Edmonton",
    "America/Denver",
    "America/Phoenix",
    "America/Regina",
    "America/Winnipeg",
    "America/Chicago",
    "America/Mexico_City",
    "America/Guatemala",
    "America/Toronto",
    "America/New_York",
    "America/Havana",
    "America/Bogota",
    "America/Lima",
    "America/Port-au-Prince",
    "America/Caracas",
    "America/Halifax",
    "America/Santiago",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Africa/Abidjan",
    "Africa/Casablanca",
    "Africa/Lagos",
    "Africa/Algiers",
    "Africa/Kinshasa",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/Warsaw",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Europe/Athens",
    "Europe/Kyiv",
    "Asia/Beirut",
    "Asia/Damascus",
    "Asia/Jerusalem",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Baghdad",
    "Asia/Riyadh",
    "Africa/Nairobi",
    "Africa/Addis_Ababa",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
]


def register_pages(app: Flask, limiter: Limiter) -> None:
    """Register the public pages, with the POST rate limit."""
    limiter.limit(POST_LIMIT, methods=["POST"])(blueprint)
    app.register_blueprint(blueprint)


# --- reading the query and the form ------------------------------------------------------------


def _zone_or(value: str | None, fallback: str) -> str:
    return value if value and len(value) <= 64 and is_time_zone(value) else fallback


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start(value: str | None) -> datetime | None:
    """A slot start from the form: ISO 8601 with an offset (or 'Z'), as UTC."""
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or not 2000 <= moment.year <= 2200:
        return None
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with 'Z', as slot values carry it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_date(moment: datetime, tz: str) -> str:
    """The ISO date of a moment in a time zone (for the `day=` query)."""
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


def _org_zone(service: Service) -> str:
    staff = availability.bookable_staff(service)
    return staff[0].time_zone if staff else "UTC"


@lru_cache(maxsize=32)
def _zone_choices(locale: str, today: date) -> tuple[tuple[str, str], ...]:
    """(zone, 'Canada (Toronto) Time (GMT-05:00)') for the common zones, by offset."""
    moment = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    rows = []
    for zone in COMMON_ZONES:
        info = ZoneInfo(zone)
        offset = moment.astimezone(info).utcoffset() or timedelta(0)
        if zone == "UTC":
            label = "UTC"
        else:
            location = get_timezone_location(info, locale=locale)
            label = f"{location} ({get_timezone_gmt(moment.astimezone(info), locale=locale)})"
        rows.append((offset, label, zone))
    return tuple((zone, label) for _offset, label, zone in sorted(rows))


def zone_label(tz: str) -> str:
    """A time zone in words, in the page's language: 'Canada (Toronto) Time (GMT-05:00)'."""
    return dict(zone_choices(tz))[tz]


def zone_choices(current: str) -> list[tuple[str, str]]:
    """The time zone select's options, with `current` first if it is not a common one."""
    choices = list(_zone_choices(str(get_locale() or "en"), utcnow().date()))
    if current not in COMMON_ZONES:
        info = ZoneInfo(current)
        location = get_timezone_location(info, locale=get_locale())
        gmt = get_timezone_gmt(utcnow().astimezone(info), locale=get_locale())
        choices.insert(0, (current, f"{location} ({gmt})"))
    return choices


DAY_PARTS = (
    (12, "morning", N_("Morning")),
    (17, "afternoon", N_("Afternoon")),
    (24, "evening", N_("Evening")),
)


def day_parts(slots: list[availability.Slot], tz: str) -> list[tuple[str, str, list]]:
    """A day's slots grouped into morning, afternoon and evening (in `tz`), empty parts left out."""
    zone = ZoneInfo(tz)
    groups: list[tuple[str, str, list]] = [(key, label, []) for _end, key, label in DAY_PARTS]
    for slot in slots:
        hour = slot.start.astimezone(zone).hour
        index = next(i for i, (end, _key, _label) in enumerate(DAY_PARTS) if hour < end)
        groups[index][2].append(slot)
    return [group for group in groups if group[2]]


def short_day(day: date | datetime, tz: str | None = None) -> str:
    """'Mon 30 Nov' in the page's language (a datetime is first shown in `tz`)."""
    if isinstance(day, datetime):
        day = day.astimezone(ZoneInfo(tz or "UTC")).date()
    return format_date(day, format="EEE d MMM", locale=get_locale())


# --- the slot picker ---------------------------------------------------------------------------


@dataclass
class Picker:
    """Step 2: the days with free times in a window, the chosen day and its slots."""

    tz: str
    first: date
    days: list[date] = field(default_factory=list)
    day: date | None = None
    slots: list[availability.Slot] = field(default_factory=list)
    earlier: date | None = None
    later: date | None = None


def _by_day(slots: list[availability.Slot], zone: ZoneInfo) -> dict[date, list]:
    days: dict[date, list] = {}
    for slot in slots:
        days.setdefault(slot.start.astimezone(zone).date(), []).append(slot)
    return days


def build_picker(
    *,
    session: Session,
    service: Service,
    tz: str,
    first: date | None,
    day: date | None,
    now: datetime,
    staff_id: int | None = None,
) -> Picker:
    """The days with free times from `first` (today by default) and the slots of `day`."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    last = (now + timedelta(days=service.horizon_days)).astimezone(zone).date()
    first = first or day or today
    if not today <= first <= last:
        first = today
    end = min(first + timedelta(days=SEARCH_DAYS - 1), last)

    def search(start: date, stop: date) -> dict[date, list]:
        found = availability.search_slots(
            session=session,
            service=service,
            start_date=start,
            end_date=stop,
            tz=tz,
            now=now,
            staff_id=staff_id,
            cache=current_app.extensions["booking_caches"].slots,
        )
        return _by_day(found, zone)

    by_day = search(first, end)
    picker = Picker(tz=tz, first=first, days=sorted(by_day)[:DAYS_SHOWN])
    if len(by_day) > DAYS_SHOWN:
        picker.later = picker.days[-1] + timedelta(days=1)
    elif end < last:
        picker.later = end + timedelta(days=1)
    if first > today:
        before = search(max(today, first - timedelta(days=SEARCH_DAYS)), first - timedelta(days=1))
        picker.earlier = sorted(before)[-DAYS_SHOWN:][0] if before else today
    picker.day = day if day in by_day else (picker.days[0] if picker.days else None)
    picker.slots = by_day.get(picker.day, []) if picker.day else []
    return picker


def nearest_slots(
    *,
    session: Session,
    service: Service,
    tz: str,
    around: datetime,
    now: datetime,
    staff_id: int | None = None,
) -> list[availability.Slot]:
    """The free slots closest to a time that was just taken, in time order."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    day = around.astimezone(zone).date()
    found = availability.search_slots(
        session=session,
        service=service,
        start_date=max(today, day - timedelta(days=3)),
        end_date=max(today, day) + timedelta(days=14),
        tz=tz,
        now=now,
        staff_id=staff_id,
        cache=current_app.extensions["booking_caches"].slots,
    )
    closest = sorted(found, key=lambda slot: abs(slot.start - around))[:NEAREST]
    return sorted(closest, key=lambda slot: slot.start)


def _is_free(session: Session, service: Service, tz: str, start: datetime, now: datetime) -> bool:
    """True while `start` is still a free slot of the service."""
    day = start.astimezone(ZoneInfo(tz)).date()
    slots = availability.search_slots(
        session=session,
        service=service,
        start_date=day,
        end_date=day,
        tz=tz,
        now=now,
    )
    return any(slot.start == start for slot in slots)


# --- the client's details ----------------------------------------------------------------------


@dataclass
class Details:
    """The details form as typed (to show again) and as parsed for `appointments.book`."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    client: dict = field(default_factory=dict)
    backup: dict = field(default_factory=dict)
    accommodations: dict = field(default_factory=dict)
    notes: str | None = None


def _phone(value: str, tz: str) -> str:
    """E.164 from what was typed; a number without country code is read in the zone's country."""
    region = None if value.startswith("+") else get_global("zone_territories").get(tz)
    return to_e164(value, region)


def read_details(form, *, mode: str, tz: str, dial_in_offered: bool) -> Details:
    """Check the details form; every problem becomes a plain message tied to its field."""
    names = [
        "name",
        "email",
        "phone",
        "backup",
        "callback_number",
        "interpreter_language",
        "accommodation_other",
        "notes",
        "language",
    ]
    values = {name: (form.get(name) or "").strip() for name in names}
    values["captions"] = "1" if form.get("captions") else ""
    values["interpreter"] = "1" if form.get("interpreter") or values["interpreter_language"] else ""
    details = Details(values=values)
    errors = details.errors
    for name, limit in LIMITS.items():
        if len(values.get(name, "")) > limit:
            errors[name] = _("Please keep this under %(limit)d characters.", limit=limit)
    for name in ("name", "interpreter_language"):
        if one_line_problem(values[name]):
            errors.setdefault(
                name, _("Please use one line of plain text, without special characters.")
            )
    if not values["name"]:
        errors.setdefault("name", _("Please enter your name."))
    if not values["email"]:
        errors.setdefault("email", _("Please enter your email address."))
    elif not EMAIL.match(values["email"]):
        errors.setdefault("email", _("Please enter an email address like name@example.com."))
    elif problem := email_problem(values["email"], smtputf8=current_app.config["SMTP_UTF8"]):
        if problem == NON_ASCII_LOCAL_PART:
            message = _(
                "We cannot send email to an address with accents or non-Latin letters "
                "before the @. Please give another address."
            )
        else:
            message = _("Please enter an email address like name@example.com.")
        errors.setdefault("email", message)
    phone = callback = None
    if values["phone"]:
        try:
            phone = _phone(values["phone"], tz)
        except ValueError:
            errors.setdefault(
                "phone", _("Please enter a phone number, for example +1 416 555 0100.")
            )
    use_dial_in = mode == "video" and values["backup"] == "dial_in" and dial_in_offered
    needs_callback = mode == "phone" or (mode == "video" and not use_dial_in)
    if mode == "video" and values["backup"] not in ("callback", "dial_in"):
        errors.setdefault("backup-callback", _("Please choose what we do if the video fails."))
    elif needs_callback:
        typed = values["callback_number"] or values["phone"]
        if not typed:
            errors.setdefault("callback_number", _("Please enter the number we should call."))
        elif "callback_number" not in errors:
            try:
                callback = _phone(typed, tz)
            except ValueError:
                key = "callback_number" if values["callback_number"] else "phone"
                errors.setdefault(
                    key, _("Please enter a phone number, for example +1 416 555 0100.")
                )
    if values["interpreter"] and not values["interpreter_language"]:
        errors.setdefault("interpreter_language", _("Please tell us which language."))
    order = [*names[:3], "backup-callback", *names[4:]]
    details.errors = dict(sorted(errors.items(), key=lambda item: order.index(item[0])))
    language = values["language"] if values["language"] in LANGUAGES else g.lang
    details.client = {
        "name": values["name"],
        "email": values["email"],
        "phone": phone,
        "language": language,
        "time_zone": tz,
    }
    details.backup = {"callback_number": callback, "use_dial_in": use_dial_in}
    details.accommodations = {
        "captions": bool(values["captions"]),
        "interpreter_language": values["interpreter_language"] or None,
        "other": values["accommodation_other"] or None,
    }
    details.notes = values["notes"] or None
    return details


# --- views: services and booking ---------------------------------------------------------------


@blueprint.get("/")
def service_list():
    """The organization's public services."""
    listed = catalog.list_services(session=db.session(), public=True)
    return render_template("booking/services.html", services=listed, modes=MODES)


def _dial_in_offered(service: Service) -> bool:
    return any(s.dial_in for s in availability.bookable_staff(service))


def _service_page(service: Service, args, *, status: int = 200, **context) -> tuple[str, int]:
    """Render the step the query (or the re-shown form) has reached."""
    session = db.session()
    chosen_tz = args.get("tz")
    tz = _zone_or(chosen_tz, _org_zone(service))
    mode = args.get("mode")
    if mode not in service.modes:
        mode = service.modes[0] if len(service.modes) == 1 and "tz" in args else None
    errors = context.setdefault("errors", {})
    step = 1
    if "tz" in args and mode is None:
        errors[f"mode-{service.modes[0]}"] = _("Please choose how you want to meet.")
    elif mode and "tz" in args and not args.get("change"):
        step = 2
    now = utcnow()
    start = _start(args.get("start"))
    if step == 2 and start is not None:
        if "details" in context or _is_free(session, service, tz, start, now):
            step = 3
        else:
            context["taken"] = True
            context["nearest"] = nearest_slots(
                session=session, service=service, tz=tz, around=start, now=now
            )
    elif step == 2 and args.get("pick"):
        errors["slot-1"] = _("Please choose a time.")
    if step == 3:
        context.setdefault("details", Details(values={"language": g.lang}))
    picker = None
    if step == 2:
        picker = build_picker(
            session=session,
            service=service,
            tz=tz,
            first=_date(args.get("first")),
            day=_date(args.get("day")),
            now=now,
        )
    body = render_template(
        "booking/service.html",
        service=service,
        modes=MODES,
        mode=mode,
        tz=tz,
        tz_chosen=bool(chosen_tz),
        zones=zone_choices(tz),
        step=step,
        start=start,
        picker=picker,
        dial_in_offered=_dial_in_offered(service),
        request_key=secrets.token_urlsafe(16),
        **context,
    )
    return body, status


@blueprint.get("/<slug>")
def service_page(slug: str):
    """Steps 1-3: mode and time zone, a day and a slot, then the client's details."""
    service = catalog.get_service_by_slug(session=db.session(), slug=slug)
    return _service_page(service, request.args)


@blueprint.post("/<slug>")
def book(slug: str):
    """Book the chosen slot with the client's details, then show the confirmation."""
    session = db.session()
    service = catalog.get_service_by_slug(session=session, slug=slug)
    form = request.form
    if form.get("website"):  # the honeypot: only bots fill it; refuse without saying why
        return redirect(url_for(".service_page", slug=slug), 303)
    mode = form.get("mode")
    tz = _zone_or(form.get("tz"), _org_zone(service))
    start = _start(form.get("start"))
    around = _start(form.get("around"))  # the taken time, when the nearest ones were offered
    if mode not in service.modes or (start or around) is None:
        return redirect(url_for(".service_page", slug=slug, mode=mode, tz=tz), 303)
    args = {"mode": mode, "tz": tz, "start": iso(start or around)}
    details = read_details(form, mode=mode, tz=tz, dial_in_offered=_dial_in_offered(service))
    if start is None:
        details.errors["nearest-1"] = _("Please choose a time.")
    if details.errors:
        extra = {}
        if start is None:
            extra["taken"] = True
            extra["nearest"] = nearest_slots(
                session=session, service=service, tz=tz, around=around, now=utcnow()
            )
        return _service_page(
            service, args, status=422, details=details, errors=details.errors, **extra
        )
    key = (form.get("request_key") or "")[:64]
    try:
        booked = appointments.book(
            session=session,
            service=service,
            start=start,
            mode=mode,
            client=details.client,
            backup=details.backup,
            accommodations=details.accommodations,
            client_notes=details.notes,
            secret=current_app.config["SECRET_KEY"],
            idempotency_key=scoped(f"page:{key}") if key else None,
            fingerprint=fingerprint(
                [iso(start), mode, details.client, details.backup, details.accommodations]
            ),
            daily_cap=current_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"],
        )
    except TooManyBookings:
        session.rollback()
        details.errors["email"] = _(
            "This email address already has several bookings made today. "
            "Please call us to book more, or try again tomorrow."
        )
        return _service_page(service, args, status=429, details=details, errors=details.errors)
    except AlreadyBooked:
        session.rollback()
        details.errors["email"] = _("This email address already has a place at this time.")
        return _service_page(service, args, status=409, details=details, errors=details.errors)
    except (ModeNotOffered, BackupPlanRequired):
        # No staff member free then can hold this mode with this backup plan (no dial-in).
        session.rollback()
        details.errors["backup-callback"] = _(
            "We cannot hold this time with this choice. Please choose “Call me” or another time."
        )
        return _service_page(service, args, status=422, details=details, errors=details.errors)
    except (SlotTaken, OutsideAvailability):
        session.rollback()
        nearest = nearest_slots(session=session, service=service, tz=tz, around=start, now=utcnow())
        return _service_page(
            service, args, status=409, details=details, nearest=nearest, taken=True, around=start
        )
    return redirect(url_for(".manage", token=booked.manage_token, new=1), 303)


# --- views: the client's manage link -----------------------------------------------------------


def _appointment(token: str) -> Appointment:
    """The appointment of a manage link; for a cancelled one, the page that says so (410)."""
    session = db.session()
    try:
        return appointments.get_by_manage_token(session=session, token=token)
    except ManageLinkNotFound:
        cancelled = appointments.cancelled_by_manage_token(session=session, token=token)
        if cancelled is None:
            raise
        page = render_template("booking/manage_cancelled.html", service=cancelled.service)
        abort(Response(page, status=410, mimetype="text/html"))


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
        "text": f"{service.name} · {current_app.config['ORG_NAME']}",
        "dates": f"{appointment.start:%Y%m%dT%H%M%SZ}/{appointment.end:%Y%m%dT%H%M%SZ}",
        "details": "\n".join(details),
        "location": where,
        "ctz": appointment.client_time_zone,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


def _manage_page(appointment: Appointment, token: str, template: str, status=200, **context):
    body = render_template(
        template,
        appointment=appointment,
        service=appointment.service,
        token=token,
        modes=MODES,
        consent_states=CONSENT_STATES,
        backup_lines=backup_lines(appointment),
        **context,
    )
    return body, status


@blueprint.get("/manage/<manage_token:token>")
def manage(token: str):
    """The confirmation and manage page: when, how to join, backup plan, calendar, consents."""
    appointment = _appointment(token)
    return _manage_page(
        appointment,
        token,
        "booking/manage.html",
        new=request.args.get("new") == "1",
        moved=request.args.get("moved") == "1",
        google_url=google_calendar_url(appointment),
    )


@blueprint.get("/manage/<manage_token:token>/event.ics")
def event_ics(token: str):
    """The appointment as a calendar file to add (METHOD:PUBLISH, the invite's UID)."""
    appointment = appointments.get_by_manage_token(session=db.session(), token=token)
    event = ical.appointment_event(appointment, locale=appointment.client_language)
    calendar = ical.wrap_calendar([event], method="PUBLISH")
    return Response(
        calendar.to_ical(),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'attachment; filename="appointment.ics"',
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@blueprint.route("/manage/<manage_token:token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    """Ask 'are you sure?', then cancel (the manage link stops working)."""
    appointment = _appointment(token)
    if request.method == "GET":
        return _manage_page(appointment, token, "booking/cancel.html", errors={}, reason="")
    reason = (request.form.get("reason") or "").strip()
    if len(reason) > LIMITS["reason"]:
        errors = {"reason": _("Please keep this under %(limit)d characters.", limit=2000)}
        return _manage_page(
            appointment, token, "booking/cancel.html", 422, errors=errors, reason=reason
        )
    slug = appointment.service.slug
    appointments.cancel(
        session=db.session(), appointment=appointment, actor=CLIENT, reason=reason or None
    )
    return redirect(url_for(".cancelled", service=slug), 303)


@blueprint.get("/cancelled")
def cancelled():
    """The appointment is cancelled; offer to book again."""
    slug = request.args.get("service", "")
    service = next(
        (s for s in catalog.list_services(session=db.session(), public=True) if s.slug == slug),
        None,
    )
    return render_template("booking/cancelled.html", service=service)


@blueprint.route("/manage/<manage_token:token>/reschedule", methods=["GET", "POST"])
def reschedule(token: str):
    """Pick another slot with the same staff member, then move the appointment."""
    session = db.session()
    appointment = _appointment(token)
    service = appointment.service
    source = request.form if request.method == "POST" else request.args
    tz = _zone_or(source.get("tz"), appointment.client_time_zone)
    now = utcnow()
    context: dict = {"errors": {}}
    status = 200
    if request.method == "POST":
        start = _start(request.form.get("start"))
        if start is None:
            context["errors"] = {"slot-1": _("Please choose a new time.")}
            status = 422
        else:
            try:
                appointments.reschedule(
                    session=session, appointment=appointment, start=start, actor=CLIENT
                )
            except (SlotTaken, OutsideAvailability):
                session.rollback()
                appointment = _appointment(token)
                context["nearest"] = nearest_slots(
                    session=session,
                    service=service,
                    tz=tz,
                    around=start,
                    now=now,
                    staff_id=appointment.staff_id,
                )
                status = 409
            else:
                return redirect(url_for(".manage", token=token, moved=1), 303)
    picker = build_picker(
        session=session,
        service=appointment.service,
        tz=tz,
        first=_date(source.get("first")),
        day=_date(source.get("day")),
        now=now,
        staff_id=appointment.staff_id,
    )
    return _manage_page(
        appointment,
        token,
        "booking/reschedule.html",
        status,
        picker=picker,
        tz=tz,
        zones=zone_choices(tz),
        **context,
    )


blueprint.add_app_template_filter(short_day, "short_day")
blueprint.add_app_template_filter(iso, "iso")
blueprint.add_app_template_filter(day_parts, "day_parts")
blueprint.add_app_template_filter(local_date, "local_date")
blueprint.add_app_template_filter(zone_label, "zone_label")
