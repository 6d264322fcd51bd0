"""The appointment page: everything about one appointment and what staff do with it.

What it shows comes from the three services with the person's own token (booking's appointment
and history, consent's requests, notify's messages), so another staff member's appointment is
booking's 404, shown as the same page as a missing one. Every action is a plain form posting
here, then one API call, then back to the page (a notice on success; on a problem+json the page
again with the field errors next to the form's fields and the input kept).

Reschedule and follow-up share one slot picker, as on the public pages: the days with free
times of the appointment's service and staff member, the chosen day's times, and a button for
each of the two actions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from services.console.errors import ApiProblem
from services.console.pages.access import field_errors, page_blueprint
from shared.languages import LANGUAGES
from shared.pages import N_

blueprint = page_blueprint("console_appointments")

OUTCOMES = {
    "resolved": N_("Resolved"),
    "follow_up_needed": N_("Follow-up needed"),
    "referred": N_("Referred"),
    "other": N_("Other"),
}
REQUEST_STATUSES = {
    "pending": N_("Waiting for signature"),
    "signed": N_("Signed"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "withdrawn": N_("Withdrawn"),
}
HISTORY = {
    "booked": N_("Booked"),
    "follow_up_booked": N_("Booked as a follow-up"),
    "rescheduled": N_("Rescheduled"),
    "cancelled": N_("Cancelled"),
    "completed": N_("Completed"),
    "no_show": N_("No-show"),
    "updated": N_("Details changed"),
    "consent": N_("Consent changed"),
    "invite_resent": N_("Invite sent again"),
}
# Notify's template names, as the messages tables show them.
MESSAGE_KINDS = {
    "booking_confirmation": N_("Confirmation with the invitation"),
    "booking_rescheduled": N_("New time"),
    "booking_cancelled": N_("Cancellation"),
    "booking_reminder": N_("Reminder"),
    "booking_staff_notice": N_("Notice to staff"),
    "billing_notice": N_("Billing notice"),
    "consent_request": N_("Signing link"),
    "consent_reminder": N_("Reminder to sign"),
    "consent_signed": N_("Signed copy"),
    "consent_withdrawn": N_("Withdrawal notice"),
}
# The notice shown after each action (?done=).
DONE = {
    "completed": N_("Marked completed. Billing is told."),
    "no_show": N_("Marked as a no-show."),
    "cancelled": N_("Cancelled. The client is told."),
    "rescheduled": N_("Moved. The client gets the new time."),
    "booked": N_("Follow-up booked. The client gets the invitation."),
    "invite_sent": N_("The invitation is on its way to the client again."),
    "link_sent": N_("The signing link is on its way to the client."),
    "verbal_recorded": N_("Verbal consent recorded and signed."),
    "withdrawn": N_("Consent withdrawn on the client's behalf."),
}
SEARCH_DAYS = 14  # calendar days searched for free times at once (as the public picker)
DAYS_SHOWN = 7


@dataclass
class Picker:
    """The slot picker: the days with free times from `first`, the chosen day and its slots."""

    first: date
    days: list[date] = field(default_factory=list)
    day: date | None = None
    slots: list[dict[str, Any]] = field(default_factory=list)
    later: date | None = None
    earlier: date | None = None


def _day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.values.get(name, ""))
    except ValueError:
        return None


def build_picker(appointment: dict[str, Any], zone: ZoneInfo) -> Picker:
    """Free times of the appointment's service with its staff member, in the person's zone."""
    today = datetime.now(zone).date()
    first = max(_day_arg("first") or _day_arg("day") or today, today)
    last = first + timedelta(days=SEARCH_DAYS - 1)
    try:
        found = g.api.booking.slots(
            appointment["service_id"],
            start=first,
            end=last,
            tz=str(zone),
            staff_id=appointment["staff_id"],
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        found = []
    by_day: dict[date, list[dict[str, Any]]] = {}
    for slot in found:
        start = datetime.fromisoformat(slot["start"])
        by_day.setdefault(start.astimezone(zone).date(), []).append({**slot, "start_at": start})
    days = sorted(by_day)
    picker = Picker(first=first, days=days[:DAYS_SHOWN])
    picker.later = (
        picker.days[-1] + timedelta(days=1) if len(days) > DAYS_SHOWN else last + timedelta(days=1)
    )
    if first > today:
        picker.earlier = max(today, first - timedelta(days=SEARCH_DAYS))
    chosen = _day_arg("day")
    picker.day = chosen if chosen in by_day else (picker.days[0] if picker.days else None)
    picker.slots = by_day.get(picker.day, []) if picker.day else []
    return picker


@blueprint.app_template_filter("short_day")
def short_day(day: date) -> str:
    """'Mon 30 Nov' in the page's language (the picker's day buttons)."""
    return format_date(day, format="EEE d MMM", locale=get_locale())


def _with_times(item: dict[str, Any], *names: str) -> dict[str, Any]:
    """The item with its ISO 8601 times also as datetimes (`<name>_at`)."""
    extra = {f"{name}_at": datetime.fromisoformat(item[name]) for name in names if item.get(name)}
    return {**item, **extra}


def _page(
    appointment_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    failed: str | None = None,
    status: int = 200,
    copy_link: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """The appointment page; after a refused action, that form's errors and input."""
    zone = ZoneInfo(g.person.time_zone)
    appointment = _with_times(g.api.booking.appointment(appointment_id), "start", "end")
    history = [_with_times(e, "at") for e in g.api.booking.history(appointment_id)]
    consents = [
        _with_times(r, "created_at", "signed_at", "withdrawn_at")
        for r in g.api.consent.requests_of(appointment_id=appointment_id)
    ]
    messages = [
        _with_times(m, "created_at", "sent_at", "last_attempt_at")
        for m in g.api.notify.messages_of_appointments([appointment_id])
    ]
    templates = g.api.consent.templates()
    now = datetime.now(UTC)
    body = render_template(
        "console/appointment.html",
        a=appointment,
        history=history,
        consents=consents,
        messages=messages,
        templates=templates,
        picker=(
            build_picker(appointment, zone)
            if appointment["status"] in ("confirmed", "completed")
            else None
        ),
        started=appointment["start_at"] <= now,
        upcoming=appointment["end_at"] > now,
        outcomes=OUTCOMES,
        request_statuses=REQUEST_STATUSES,
        history_labels=HISTORY,
        message_kinds=MESSAGE_KINDS,
        done=DONE.get(request.args.get("done", "")),
        errors=errors or {},
        values=values or {},
        failed=failed,
        click=uuid.uuid4().hex,
        copy_link=_with_times(copy_link, "expires_at") if copy_link else None,
    )
    return body, status


def _done(appointment_id: int, what: str) -> Response:
    """Back to the top of the page after an action, where its notice is."""
    return redirect(url_for(".appointment", appointment_id=appointment_id, done=what))


def _refused(appointment_id: int, problem: ApiProblem, form: str, values: dict[str, str]):
    """The page again with the API's field errors on the form that was sent (5xx: an error)."""
    if problem.status >= 500:
        raise problem
    if problem.status == 404 and problem.code.startswith("appointment"):
        raise problem
    # Keyed by the element's id: a field of the form, else the form itself (the summary links).
    errors: dict[str, str] = {}
    for name, text in field_errors(problem).items():
        key = f"{form}-{name}" if name in values else form
        errors[key] = f"{errors[key]} {text}" if key in errors else text
    return _page(
        appointment_id,
        errors=errors,
        values=values,
        failed=form,
        status=422 if problem.status in (400, 422) else problem.status,
    )


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in names}


@blueprint.get("/appointments/<int:appointment_id>")
def appointment(appointment_id: int):
    """Everything about one appointment, with its actions."""
    return _page(appointment_id)


@blueprint.post("/appointments/<int:appointment_id>/complete")
def complete(appointment_id: int):
    """Mark it completed with its outcome and notes."""
    values = _form("outcome", "notes")
    try:
        g.api.booking.complete(
            appointment_id, outcome=values["outcome"], notes=values["notes"] or None
        )
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "complete", values)
    return _done(appointment_id, "completed")


@blueprint.post("/appointments/<int:appointment_id>/no-show")
def no_show(appointment_id: int):
    """Mark that the client did not come."""
    try:
        g.api.booking.no_show(appointment_id)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "no_show", {})
    return _done(appointment_id, "no_show")


@blueprint.post("/appointments/<int:appointment_id>/cancel")
def cancel(appointment_id: int):
    """Cancel it with a reason; booking tells the client."""
    values = _form("reason")
    try:
        g.api.booking.cancel(appointment_id, reason=values["reason"] or None)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "cancel", values)
    return _done(appointment_id, "cancelled")


@blueprint.post("/appointments/<int:appointment_id>/slot")
def choose_slot(appointment_id: int):
    """The picker's chosen time: move this appointment there, or book the follow-up there."""
    values = _form("start", "action", "day", "first")
    if not values["start"]:
        problem = ApiProblem(
            gettext("Choose a time."),
            code="validation_failed",
            errors={"start": [gettext("Choose a time.")]},
        )
        problem.status = 422
        return _refused(appointment_id, problem, "slot", values)
    try:
        if values["action"] == "follow_up":
            booked = g.api.booking.follow_up(appointment_id, start=values["start"])
            return redirect(
                url_for(".appointment", appointment_id=booked["appointment"]["id"], done="booked")
            )
        g.api.booking.reschedule(appointment_id, start=values["start"])
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "slot", values)
    return _done(appointment_id, "rescheduled")


@blueprint.post("/appointments/<int:appointment_id>/resend-invite")
def resend_invite(appointment_id: int):
    """Send the client the invite again (once per click: the form's key)."""
    try:
        g.api.booking.resend_invite(appointment_id, click=_click())
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "invite", {})
    return _done(appointment_id, "invite_sent")


def _click() -> str:
    """The form's one-time key (a double click sends it twice, the API acts once)."""
    key = request.form.get("click", "")
    return key if key.isalnum() and len(key) <= 64 else uuid.uuid4().hex


def _client_fields(appointment: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_name": appointment["client_name"],
        "client_email": appointment["client_email"],
        "client_phone": appointment.get("client_phone"),
        # The client's language when the suite has it, else English (consent's locales).
        "locale": language
        if (language := appointment.get("client_language")) in LANGUAGES
        else "en",
        "timezone": appointment.get("client_time_zone") or "UTC",
        "appointment_id": appointment["id"],
    }


@blueprint.post("/appointments/<int:appointment_id>/consents")
def send_consent(appointment_id: int):
    """Ask the client to sign a form: the signing link goes to them by email."""
    values = _form("template_id")
    try:
        a = g.api.booking.appointment(appointment_id)
        fields = {**_client_fields(a), "template_id": _number(values["template_id"])}
        g.api.consent.request_consent(fields, click=_click())
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "send", values)
    return _done(appointment_id, "link_sent")


@blueprint.post("/appointments/<int:appointment_id>/consents/<int:request_id>/resend")
def resend_consent(appointment_id: int, request_id: int):
    """Email the client their signing link again."""
    try:
        g.api.consent.resend(request_id)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "consent", {})
    return _done(appointment_id, "link_sent")


@blueprint.post("/appointments/<int:appointment_id>/consents/verbal")
def verbal_consent(appointment_id: int):
    """Record a consent the client gave out loud, with the person's attestation."""
    values = _form("template_id", "explained", "witness")
    try:
        a = g.api.booking.appointment(appointment_id)
        fields = {
            **_client_fields(a),
            "template_id": _number(values["template_id"]),
            "explained": values["explained"],
            "explained_by": g.person.name,
            "explained_at": datetime.now(UTC).isoformat(),
            "witness": values["witness"] or None,
        }
        g.api.consent.verbal(fields)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "verbal", values)
    return _done(appointment_id, "verbal_recorded")


@blueprint.post("/appointments/<int:appointment_id>/consents/<int:request_id>/withdraw")
def withdraw_consent(appointment_id: int, request_id: int):
    """Withdraw a signed consent on the client's behalf."""
    values = _form("reason")
    try:
        g.api.consent.withdraw(request_id, reason=values["reason"] or None)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, f"withdraw-{request_id}", values)
    return _done(appointment_id, "withdrawn")


@blueprint.post("/appointments/<int:appointment_id>/consents/<int:request_id>/download-link")
def consent_download_link(appointment_id: int, request_id: int):
    """A 7-day link to the signed record, shown once, for the person to give the client."""
    try:
        link = g.api.consent.download_link(request_id)
    except ApiProblem as problem:
        return _refused(appointment_id, problem, "consent", {})
    body, _status = _page(appointment_id, copy_link={**link, "request_id": request_id})
    return body, 201


@blueprint.get("/appointments/<int:appointment_id>/consents/<int:request_id>/record.pdf")
def consent_record(appointment_id: int, request_id: int):
    """The signed record's PDF, fetched from consent with the person's token."""
    g.api.booking.appointment(appointment_id)  # another's appointment: its 404
    found = g.api.consent.record_pdf(request_id)
    response = Response(found.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = found.headers.get(
        "Content-Disposition", f'attachment; filename="consent-record-{request_id}.pdf"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _number(value: str) -> int | str:
    """A form's id as a number when it is one (else as sent: the API says what is wrong)."""
    return int(value) if value.isdigit() else value
