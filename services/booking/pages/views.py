"""The booking pages' views: the services, steps 1-3 of booking, the manage link's pages.

Views stay thin: they read the query or the form, call one operation and render.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _

from services.booking import ical
from services.booking.errors import (
    AlreadyBooked,
    ManageLinkNotFound,
    OutsideAvailability,
    SlotTaken,
    TooManyBookings,
)
from services.booking.manage_tokens import manage_token_from_short
from services.booking.models import Appointment, Service
from services.booking.operations import appointments, availability, catalog
from services.booking.operations.appointments import CLIENT
from services.booking.pages import blueprint
from services.booking.pages.calendar_links import google_calendar_url
from services.booking.pages.details import INPUT_LIMITS, Details, page_errors, read_details
from services.booking.pages.phones import backup_lines
from services.booking.pages.picker import (
    build_month,
    build_picker,
    day_of,
    is_free,
    iso,
    month_of,
    nearest_slots,
    start_of,
)
from services.booking.pages.zones import org_zone, zone_choices, zone_or
from services.booking.schemas import CancelSchema
from shared import db
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.fields import load_or_fail
from shared.idempotency import fingerprint, scoped
from shared.pages import N_

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


# --- views: services and booking ---------------------------------------------------------------


@blueprint.get("/")
def service_list():
    """The organization's public services."""
    listed = catalog.list_services(session=db.session(), public=True)
    return render_template("booking/services.html", services=listed, modes=MODES)


def _dial_in_offered(service: Service) -> bool:
    return any(s.dial_in for s in availability.bookable_staff(service))


# The browser's own recent bookings (slug, start, manage token), kept in its signed session
# cookie: Back from the confirmation shows "you booked this time", not "someone just booked it".
OWN_BOOKINGS = "own_bookings"
OWN_BOOKINGS_KEPT = 5


def _remember_own_booking(service: Service, start: datetime, token: str) -> None:
    """Keep this booking in the browser's session, newest first, the last few only."""
    kept = [
        b
        for b in browser_session.get(OWN_BOOKINGS, [])
        if b[0] != service.slug or b[1] != iso(start)
    ]
    browser_session[OWN_BOOKINGS] = [[service.slug, iso(start), token], *kept][:OWN_BOOKINGS_KEPT]


def _own_booking(service: Service, start: datetime) -> str | None:
    """The manage token of this browser's booking of `service` at `start`, if it made one."""
    for slug, at, token in browser_session.get(OWN_BOOKINGS, []):
        if slug == service.slug and at == iso(start):
            return token
    return None


def _service_page(service: Service, args, *, status: int = 200, **context) -> tuple[str, int]:
    """Render the step the query (or the re-shown form) has reached."""
    session = db.session()
    chosen_tz = args.get("tz")
    tz = zone_or(chosen_tz, org_zone(service))
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
    start = start_of(args.get("start"))
    if step == 2 and start is not None:
        if "details" in context or is_free(session, service, tz, start, now):
            step = 3
        elif own := _own_booking(service, start):
            context["own_booking"] = own
        else:
            context["taken"] = True
            context["nearest"] = nearest_slots(
                session=session, service=service, tz=tz, around=start, now=now
            )
    elif step == 2 and args.get("pick"):
        errors["slot-1"] = _("Please choose a time.")
    if step == 3:
        context.setdefault("details", Details(values={"language": g.lang}))
    picker = month = None
    if step == 2:
        # The month asked for, else the chosen day's (the day list's links carry no month).
        shown = month_of(args.get("month")) or day_of(args.get("day")) or day_of(args.get("first"))
        month = build_month(session=session, service=service, tz=tz, month=shown, now=now)
        picker = build_picker(
            session=session,
            service=service,
            tz=tz,
            first=day_of(args.get("first")),
            day=day_of(args.get("day")),
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
        month=month,
        dial_in_offered=_dial_in_offered(service),
        request_key=secrets.token_urlsafe(16),
        limits=INPUT_LIMITS,
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
    tz = zone_or(form.get("tz"), org_zone(service))
    start = start_of(form.get("start"))
    around = start_of(form.get("around"))  # the taken time, when the nearest ones were offered
    if mode not in service.modes or (start or around) is None:
        return redirect(url_for(".service_page", slug=slug, mode=mode, tz=tz), 303)
    args = {"mode": mode, "tz": tz, "start": iso(start or around)}
    details = read_details(
        form,
        service=service,
        start=start or around,
        mode=mode,
        tz=tz,
        dial_in_offered=_dial_in_offered(service),
    )
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
    booking = details.booking
    try:
        booked = appointments.book(
            session=session,
            service=service,
            start=start,
            mode=mode,
            **booking,
            secret=current_app.config["SECRET_KEY"],
            idempotency_key=scoped(f"page:{key}") if key else None,
            fingerprint=fingerprint(
                [iso(start), mode, booking["client"], booking["backup"], booking["accommodations"]]
            ),
            daily_cap=current_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"],
        )
    except (SlotTaken, OutsideAvailability):
        session.rollback()
        nearest = nearest_slots(session=session, service=service, tz=tz, around=start, now=utcnow())
        return _service_page(
            service, args, status=409, details=details, nearest=nearest, taken=True, around=start
        )
    except (ValidationFailed, TooManyBookings, AlreadyBooked) as exc:
        # No staff member free then can hold this mode and backup plan, the daily cap, a seat
        # held already: said beside the input it is about.
        session.rollback()
        details.errors = page_errors(exc, details.values)
        return _service_page(
            service, args, status=exc.status, details=details, errors=details.errors
        )
    _remember_own_booking(service, start, booked.manage_token)
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


def _manage_page(appointment: Appointment, token: str, template: str, status=200, **context):
    body = render_template(
        template,
        appointment=appointment,
        service=appointment.service,
        token=token,
        modes=MODES,
        consent_states=CONSENT_STATES,
        backup_lines=backup_lines(appointment),
        limits=INPUT_LIMITS,
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


@blueprint.get("/manage/<manage_token:token>/sign")
def sign_now(token: str):
    """Straight to the first form waiting for the client's signature; while the consent
    service is still preparing it (booking's outbox asks for it), the manage page says so."""
    appointment = _appointment(token)
    for consent in appointment.consents:
        if consent.status == "pending" and consent.signing_url:
            return redirect(consent.signing_url, 303)
    return _manage_page(
        appointment,
        token,
        "booking/manage.html",
        preparing=True,
        google_url=google_calendar_url(appointment),
    )


@blueprint.get("/m/<string(length=32):short>")
def short_manage(short: str):
    """The short manage link of SMS messages: the same token, shorter, sent to the manage page."""
    token = manage_token_from_short(short)
    if token is None:
        abort(404)
    return redirect(url_for(".manage", token=token), 303)


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
    try:
        load_or_fail(CancelSchema(), {"reason": reason or None})
    except ValidationFailed as exc:
        errors = page_errors(exc, {"reason": reason}, CancelSchema())
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
    tz = zone_or(source.get("tz"), appointment.client_time_zone)
    now = utcnow()
    context: dict = {"errors": {}}
    status = 200
    if request.method == "POST":
        start = start_of(request.form.get("start"))
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
        first=day_of(source.get("first")),
        day=day_of(source.get("day")),
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
