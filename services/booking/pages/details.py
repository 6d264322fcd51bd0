"""Step 3 of the booking pages, the client's details: read as typed (to show again), checked by
the API's own AppointmentCreateSchema and the operation's backup-plan rule, and every problem,
the schema's or an operation's, shown beside its input in the page's language (`page_errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import g
from flask_babel import gettext

from services.booking.models import Service
from services.booking.operations import appointments
from services.booking.pages.phones import in_zone_country
from services.booking.schemas import AppointmentCreateSchema, CancelSchema
from shared.email_addresses import NON_ASCII_LOCAL_PART
from shared.errors import FrontdeskError, ValidationFailed
from shared.fields import load_or_fail, max_length
from shared.pages import LANGUAGES, N_, current_org
from shared.plain_text import NOT_ONE_LINE
from shared.timestamps import utc_iso as iso

# The form's inputs, in page order (the error summary follows it).
FIELDS = (
    "name",
    "email",
    "phone",
    "notify_by",
    "backup",
    "callback_number",
    "interpreter_language",
    "accommodation_other",
    "notes",
    "language",
)
ORDER = (*FIELDS[:4], "backup-callback", *FIELDS[5:], "reason")

# Where an error of the schema or of an operation belongs on the page, by its path.
INPUTS = {
    "client.name": "name",
    "client.email": "email",
    "client.phone": "phone",
    "client.notify_by": "notify_by",
    "backup.callback_number": "callback_number",
    "accommodations.interpreter_language": "interpreter_language",
    "accommodations.other": "accommodation_other",
    "client_notes": "notes",
    "reason": "reason",
}


def _input_limits() -> dict[str, int]:
    """The longest text each input takes, from the schemas (the inputs' maxlength)."""
    limits = {}
    for path, key in INPUTS.items():
        schema = CancelSchema() if key == "reason" else AppointmentCreateSchema()
        if limit := max_length(schema, path):
            limits[key] = limit
    return limits


INPUT_LIMITS = _input_limits()
TOO_LONG = N_("Please keep this under %(limit)d characters.")
ONE_LINE = N_("Please use one line of plain text, without special characters.")
NOT_A_PHONE = N_("Please enter a phone number, for example +1 416 555 0100.")
EMAIL_LIKE = N_("Please enter an email address like name@example.com.")
NON_ASCII_EMAIL = N_(
    "We cannot send email to an address with accents or non-Latin letters "
    "before the @. Please give another address."
)
NUMBER_TO_CALL = N_("Please enter the number we should call.")
CHOOSE_BACKUP = N_("Please choose what we do if the video fails.")
CANNOT_HOLD = N_(
    "We cannot hold this time with this choice. Please choose “Call me” or another time."
)
EMAIL_OR_PHONE = N_("Please enter your email address or a phone number we can text.")
EMAIL_FOR_EMAIL = N_("Please enter your email address, or choose to hear from us by SMS.")
PHONE_FOR_SMS = N_("Please enter the phone number we should text.")
CHOOSE_NOTIFY_BY = N_("Please choose email, SMS or both.")
REQUIRED = {
    "name": N_("Please enter your name."),
    "interpreter_language": N_("Please tell us which language."),
}
TRY_TOMORROW = N_(
    "This email address already has several bookings made today. Please try again tomorrow."
)
TRY_TOMORROW_BY_PHONE = N_(
    "This phone number already has several bookings made today. Please try again tomorrow."
)
# Errors that are about the booking as a whole, by code: the input they are shown beside.
BY_CODE = {
    "too_many_bookings": (
        "email",
        N_(
            "This email address already has several bookings made today. "
            "Please call us at %(phone)s to book more, or try again tomorrow."
        ),
    ),
    "already_booked": ("email", N_("This email address already has a place at this time.")),
    "mode_not_offered": ("backup-callback", CANNOT_HOLD),
}
# The same, for a client who gave a phone number and no email address.
BY_CODE_FOR_PHONE = {
    "too_many_bookings": (
        "phone",
        N_(
            "This phone number already has several bookings made today. "
            "Please call us at %(phone)s to book more, or try again tomorrow."
        ),
    ),
    "already_booked": ("phone", N_("This phone number already has a place at this time.")),
}


@dataclass
class Details:
    """The details form as typed (to show again), its errors by input, and the booking's
    client, backup, accommodations and notes as the schema loaded them."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    booking: dict[str, Any] = field(default_factory=dict)


def read_details(
    form: Mapping[str, str],
    *,
    service: Service,
    start: datetime,
    mode: str,
    tz: str,
    dial_in_offered: bool,
) -> Details:
    """Read and check the details form; every problem becomes a message tied to its input."""
    values = {name: (form.get(name) or "").strip() for name in FIELDS}
    values["captions"] = "1" if form.get("captions") else ""
    values["interpreter"] = "1" if form.get("interpreter") or values["interpreter_language"] else ""
    details = Details(values=values)
    try:
        details.booking = check_details(
            _booking(
                values, service=service, start=start, mode=mode, tz=tz, dial_in=dial_in_offered
            ),
            interpreter_asked=bool(values["interpreter"]),
        )
    except ValidationFailed as exc:
        details.errors = page_errors(exc, values)
    return details


def _booking(
    values: dict[str, str], *, service: Service, start: datetime, mode: str, tz: str, dial_in: bool
) -> dict[str, Any]:
    """The form as AppointmentCreateSchema takes it (what the API receives)."""
    use_dial_in = mode == "video" and values["backup"] == "dial_in" and dial_in
    # "Call me", or the dial-in where no staff member has one: the callback number, or the phone.
    wants_callback = mode == "phone" or (
        mode == "video" and values["backup"] in ("callback", "dial_in") and not use_dial_in
    )
    callback = values["callback_number"] or values["phone"] if wants_callback else ""
    language = values["language"] if values["language"] in LANGUAGES else g.lang
    return {
        "service_id": service.id,
        "start": iso(start),
        "mode": mode,
        "client": {
            "name": values["name"],
            "email": values["email"] or None,
            "phone": in_zone_country(values["phone"], tz) or None,
            "notify_by": values["notify_by"] or None,
            "language": language,
            "time_zone": tz,
        },
        "backup": {
            "callback_number": in_zone_country(callback, tz) or None,
            "use_dial_in": use_dial_in,
        },
        "accommodations": {
            "captions": bool(values["captions"]),
            "interpreter_language": values["interpreter_language"] or None,
            "other": values["accommodation_other"] or None,
        },
        "client_notes": values["notes"] or None,
    }


def check_details(booking: dict[str, Any], *, interpreter_asked: bool) -> dict[str, Any]:
    """The client, backup, accommodations and notes as AppointmentCreateSchema loads them
    (what appointments.book takes), or one ValidationFailed with every field
    error: the schema's, the backup-plan rule's (appointments.backup_plan_problem), the
    interpreter's language."""
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] = {}
    try:
        loaded = load_or_fail(AppointmentCreateSchema(), booking)
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
    if problem := appointments.backup_plan_problem(mode=booking["mode"], backup=booking["backup"]):
        errors.update(problem.errors or {})
    # The page's "I need an interpreter" box (the API has none) asks for the language too.
    if interpreter_asked and not booking["accommodations"]["interpreter_language"]:
        errors["accommodations.interpreter_language"] = ["Say which language."]
    if errors:
        raise ValidationFailed(errors=errors)
    return {key: loaded[key] for key in ("client", "backup", "accommodations", "client_notes")}


def page_errors(
    exc: FrontdeskError,
    values: Mapping[str, str],
    schema: ma.Schema | None = None,
) -> dict[str, str]:
    """An error of the schema or of an operation as the page's inputs and their messages, in
    the page's language and page order: the one place the booking pages word errors."""
    by_code = BY_CODE_FOR_PHONE if not values.get("email") else {}
    if exc.code in BY_CODE:
        key, message = by_code.get(exc.code) or BY_CODE[exc.code]
        phone = current_org().phone_display
        if "%(phone)s" in message and not phone:  # never "call us" without the number
            message = TRY_TOMORROW_BY_PHONE if key == "phone" else TRY_TOMORROW
        return {key: gettext(message, phone=phone) if phone else gettext(message)}
    schema = schema or AppointmentCreateSchema()
    errors: dict[str, str] = {}
    for path, messages in (exc.errors or {}).items():
        key, message, limit = _message(path, messages, values, schema)
        errors.setdefault(key, gettext(message, limit=limit) if limit else gettext(message))
    errors = errors or {"backup-callback": gettext(CANNOT_HOLD)}
    return dict(sorted(errors.items(), key=lambda item: ORDER.index(item[0])))


def _message(
    path: str, messages: list[str], values: Mapping[str, str], schema: ma.Schema
) -> tuple[str, str, int | None]:
    """(input, message, its limit) for one field error."""
    if path == "backup":  # a video appointment without its backup plan
        if values["backup"] in ("callback", "dial_in"):
            return "callback_number", NUMBER_TO_CALL, None
        return "backup-callback", CHOOSE_BACKUP, None
    if path == "backup.callback_number":
        if not (values["callback_number"] or values["phone"]):
            return "callback_number", NUMBER_TO_CALL, None
        return ("callback_number" if values["callback_number"] else "phone"), NOT_A_PHONE, None
    key = INPUTS.get(path)
    if key is None:
        return "backup-callback", CANNOT_HOLD, None
    value = values.get(key, "")
    limit = max_length(schema, path)
    if limit and len(value) > limit:
        return key, TOO_LONG, limit
    if NOT_ONE_LINE in messages:
        return key, ONE_LINE, None
    if not value and key in REQUIRED:
        return key, REQUIRED[key], None
    if key == "notify_by":
        return key, CHOOSE_NOTIFY_BY, None
    if key == "email" and not value:
        return key, EMAIL_OR_PHONE if not values.get("phone") else EMAIL_FOR_EMAIL, None
    if key == "phone" and not value:
        return key, PHONE_FOR_SMS, None
    if key == "email":
        return key, NON_ASCII_EMAIL if NON_ASCII_LOCAL_PART in messages else EMAIL_LIKE, None
    return key, NOT_A_PHONE, None
