"""Booking's input and output schemas (separate), with cross-field rules in @validates_schema."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from services.booking.models import (
    CONSENT_STATUSES,
    MAX_HORIZON_DAYS,
    MODES,
    OUTCOMES,
    STATUSES,
)
from services.booking.operations import questions as question_operations
from shared.fields import (
    NOTIFY_BY,
    Day,
    EmailAddress,
    OneLine,
    PhoneNumber,
    PlainText,
    TimeZone,
    UTCDateTime,
    contact_errors,
    default_notify_by,
)
from shared.languages import LANGUAGES

SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Lower-case words joined by '-'.")
MAX_ID = 2**31 - 1
ID_RANGE = validate.Range(1, MAX_ID)
LANGUAGE = [
    validate.Length(max=16),  # what the appointment's column holds
    validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="A language tag like 'en'."),
]
EMAIL_MAX = 320  # RFC 5321's longest address, and the columns' size
# Lists a client or an admin may send: enough for any real use, not enough to hurt.
MAX_LANGUAGES = 30
MAX_LIST_ITEMS = 50
# What the OpenAPI document says of a new start time (no JSON Schema keyword can say it).
FUTURE_SLOT = {
    "description": "In the future: the start of a free slot (GET /services/{service_id}/slots)."
}


class StaffCreateSchema(ma.Schema):
    name = OneLine(required=True, validate=validate.Length(1, 200))
    email = EmailAddress(required=True, validate=validate.Length(max=EMAIL_MAX))
    time_zone = TimeZone(required=True)
    languages = fields.List(
        fields.String(validate=LANGUAGE),
        load_default=list,
        validate=validate.Length(max=MAX_LANGUAGES),
    )
    video_link_template = fields.URL(
        allow_none=True,
        load_default=None,
        schemes={"https", "http"},
        validate=validate.Length(max=500),
    )
    dial_in = PhoneNumber(allow_none=True, load_default=None)
    active = fields.Boolean(load_default=True)
    role = fields.String(
        load_default="staff",
        validate=validate.OneOf(("staff", "admin")),
        metadata={"description": "`admin` may run the console's setup and see everyone's agenda."},
    )


class StaffQueryArgsSchema(ma.Schema):
    email = EmailAddress(
        metadata={"description": "Only the staff member with this address (the console's sign-in)."}
    )


class StaffUpdateSchema(StaffCreateSchema):
    """A staff member's fields to change (use with partial=True: only those given change)."""


class CalendarProblemSchema(ma.Schema):
    calendar_id = fields.Integer()
    name = fields.String()
    error = fields.String()
    last_fetched_at = UTCDateTime(allow_none=True)
    last_ok_at = UTCDateTime(allow_none=True)


class StaffSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    time_zone = fields.String()
    languages = fields.List(fields.String())
    video_link_template = fields.String(allow_none=True)
    dial_in = fields.String(allow_none=True)
    active = fields.Boolean()
    role = fields.String()
    calendar_problems = fields.List(
        fields.Nested(CalendarProblemSchema),
        dump_only=True,
        metadata={"description": "External calendars whose last fetch failed (busy time kept)."},
    )


class PublicStaffSchema(ma.Schema):
    """What clients see of a staff member."""

    id = fields.Integer()
    name = fields.String()
    time_zone = fields.String()
    languages = fields.List(fields.String())


class ResourceLinkSchema(ma.Schema):
    title = OneLine(required=True, validate=validate.Length(1, 200))
    url = fields.URL(
        allow_none=True,
        load_default=None,
        schemes={"https", "http"},
        validate=validate.Length(max=2000),
    )
    text = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


# How long a service's join instructions or access notes may be: a short paragraph or a
# few lines, read on a phone beside the link or the address.
GUIDANCE_MAX = 2000
JOIN_INSTRUCTIONS_DOCS = {
    "description": "How to join a video or phone appointment (e.g. 'Open the link 5 minutes "
    "early; if the video fails we call you'). Plain text, line breaks kept, never HTML; shown "
    "to the client on the confirmation and manage pages, in the confirmation and reminder "
    "emails and in the invite."
}
ACCESS_NOTES_DOCS = {
    "description": "How to get into the address of an in-person appointment (entrance, "
    "step-free access, floor, buzzer). Plain text, line breaks kept, never HTML; shown next "
    "to the address and its map link, in the emails and in the invite."
}


def guidance_field(docs: dict[str, str], **kwargs: Any) -> fields.String:
    """A plain-text field of join instructions or access notes (at most GUIDANCE_MAX)."""
    return PlainText(validate=validate.Length(max=GUIDANCE_MAX), metadata=docs, **kwargs)


class ServiceTranslationSchema(ma.Schema):
    """A service's client-facing text in one language; a field left out falls back to the
    default language's."""

    name = OneLine(validate=validate.Length(1, 200))
    description = fields.String(validate=validate.Length(max=10_000))
    resources = fields.List(
        fields.Nested(ResourceLinkSchema), validate=validate.Length(max=MAX_LIST_ITEMS)
    )
    join_instructions = guidance_field(JOIN_INSTRUCTIONS_DOCS)
    access_notes = guidance_field(ACCESS_NOTES_DOCS)


SERVICE_TRANSLATIONS_DOCS = {
    "description": "The name, description, resources, join instructions and access notes in "
    'other languages, by language code ({"fr": {"name": ..., "description": ..., "resources": '
    '[...], "join_instructions": ..., "access_notes": ...}}). Clients read their '
    "language's version; a language or field without one falls back to the service's own "
    "field (the organization's default language)."
}


class ServiceCreateSchema(ma.Schema):
    name = OneLine(required=True, validate=validate.Length(1, 200))
    slug = fields.String(required=True, validate=[validate.Length(1, 100), SLUG])
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    duration_minutes = fields.Integer(required=True, validate=validate.Range(5, 24 * 60))
    modes = fields.List(
        fields.String(validate=validate.OneOf(MODES)),
        load_default=lambda: ["video"],
        validate=validate.Length(min=1, max=len(MODES)),
    )
    location = OneLine(allow_none=True, load_default=None, validate=validate.Length(max=500))
    buffer_before_minutes = fields.Integer(load_default=0, validate=validate.Range(0, 240))
    buffer_after_minutes = fields.Integer(load_default=0, validate=validate.Range(0, 240))
    min_notice_minutes = fields.Integer(load_default=0, validate=validate.Range(0, 60 * 24 * 60))
    horizon_days = fields.Integer(load_default=60, validate=validate.Range(1, MAX_HORIZON_DAYS))
    slot_step_minutes = fields.Integer(load_default=15, validate=validate.Range(5, 24 * 60))
    capacity = fields.Integer(load_default=1, validate=validate.Range(1, 500))
    reminder_offsets_minutes = fields.List(
        fields.Integer(validate=validate.Range(1, 60 * 24 * 30)),
        load_default=lambda: [1440, 60],
        validate=validate.Length(max=10),
    )
    resources = fields.List(
        fields.Nested(ResourceLinkSchema),
        load_default=list,
        validate=validate.Length(max=MAX_LIST_ITEMS),
    )
    join_instructions = guidance_field(JOIN_INSTRUCTIONS_DOCS, load_default="")
    access_notes = guidance_field(ACCESS_NOTES_DOCS, load_default="")
    translations = fields.Dict(
        keys=fields.String(
            validate=validate.OneOf(LANGUAGES, error="One of the languages offered: {choices}.")
        ),
        values=fields.Nested(ServiceTranslationSchema),
        load_default=dict,
        metadata=SERVICE_TRANSLATIONS_DOCS,
    )
    required_consent_template_ids = fields.List(
        fields.Integer(validate=ID_RANGE),
        load_default=list,
        validate=validate.Length(max=MAX_LIST_ITEMS),
    )
    verbal_consent = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Staff may read the consent forms out and record consent: clients "
            "we only text are told so instead of getting a signing link."
        },
    )
    listed = fields.Boolean(load_default=True)
    active = fields.Boolean(load_default=True)
    staff_ids = fields.List(
        fields.Integer(validate=ID_RANGE),
        load_default=list,
        validate=validate.Length(max=MAX_LIST_ITEMS),
    )

    @validates_schema
    def _in_person_needs_address(self, data, partial=False, **kwargs):
        if partial:  # checked by catalog.update_service against the stored service
            return
        if "in_person" in (data.get("modes") or []) and not data.get("location"):
            raise ma.ValidationError("In-person services need an address.", "location")


class ServiceUpdateSchema(ServiceCreateSchema):
    """A service's fields to change (use with partial=True: only those given change)."""

    staff_ids = fields.List(
        fields.Integer(validate=ID_RANGE), validate=validate.Length(max=MAX_LIST_ITEMS)
    )


class ServiceSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    description = fields.String()
    duration_minutes = fields.Integer()
    modes = fields.List(fields.String())
    location = fields.String(allow_none=True)
    buffer_before_minutes = fields.Integer()
    buffer_after_minutes = fields.Integer()
    min_notice_minutes = fields.Integer()
    horizon_days = fields.Integer()
    slot_step_minutes = fields.Integer()
    capacity = fields.Integer()
    reminder_offsets_minutes = fields.List(fields.Integer())
    resources = fields.List(fields.Nested(ResourceLinkSchema))
    join_instructions = fields.String(metadata=JOIN_INSTRUCTIONS_DOCS)
    access_notes = fields.String(metadata=ACCESS_NOTES_DOCS)
    translations = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ServiceTranslationSchema),
        metadata=SERVICE_TRANSLATIONS_DOCS,
    )
    required_consent_template_ids = fields.List(fields.Integer())
    verbal_consent = fields.Boolean()
    listed = fields.Boolean()
    active = fields.Boolean()
    staff = fields.List(fields.Nested(PublicStaffSchema))


class ServiceListArgsSchema(ma.Schema):
    mode = fields.String(load_default=None, validate=validate.OneOf(MODES))


WEEKDAY_DOCS = {
    "description": "0 = Monday, 1 = Tuesday ... 5 = Saturday, 6 = Sunday (ISO order from 0)."
}


class IntervalSchema(ma.Schema):
    """Hours of one day, in the staff member's own time zone."""

    start_time = fields.Time(required=True, format="%H:%M")
    end_time = fields.Time(required=True, format="%H:%M")

    @validates_schema
    def _end_after_start(self, data, **kwargs):
        if data["end_time"] <= data["start_time"]:
            raise ma.ValidationError("Must be after start_time.", "end_time")


class RuleSchema(IntervalSchema):
    """Weekly hours: one interval on one weekday, in the staff member's own time zone."""

    id = fields.Integer(dump_only=True)
    weekday = fields.Integer(required=True, validate=validate.Range(0, 6), metadata=WEEKDAY_DOCS)


class RulesSchema(ma.Schema):
    """The whole week: every weekday's intervals (a weekday left out has no hours)."""

    rules = fields.List(
        fields.Nested(RuleSchema),
        required=True,
        validate=validate.Length(max=7 * 24),
        metadata={"description": "The whole week: a weekday left out has no hours after this."},
    )


class DayRulesSchema(ma.Schema):
    """One weekday's intervals (an empty list clears the day)."""

    rules = fields.List(
        fields.Nested(IntervalSchema),
        required=True,
        validate=validate.Length(max=24),
        metadata={
            "description": "The day's intervals in the staff member's own time zone; an empty "
            "list clears the day."
        },
    )


class ExceptionCreateSchema(ma.Schema):
    date = Day(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("off", "extra")))
    start_time = fields.Time(allow_none=True, load_default=None, format="%H:%M")
    end_time = fields.Time(allow_none=True, load_default=None, format="%H:%M")
    note = fields.String(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def _times(self, data, **kwargs):
        start, end = data.get("start_time"), data.get("end_time")
        if (start is None) != (end is None):
            raise ma.ValidationError("Give both start_time and end_time, or neither.", "end_time")
        if data["kind"] == "extra" and start is None:
            raise ma.ValidationError("Extra hours need start_time and end_time.", "start_time")
        if start is not None and end <= start:
            raise ma.ValidationError("Must be after start_time.", "end_time")


class ExceptionSchema(ExceptionCreateSchema):
    id = fields.Integer(dump_only=True)


class BusyBlockCreateSchema(ma.Schema):
    start = UTCDateTime(required=True)
    end = UTCDateTime(required=True)
    source = OneLine(load_default="manual", validate=validate.Length(1, 200))

    @validates_schema
    def _end_after_start(self, data, **kwargs):
        if data["end"] <= data["start"]:
            raise ma.ValidationError("Must be after start.", "end")


class BusyBlockSchema(ma.Schema):
    id = fields.Integer()
    start = UTCDateTime()
    end = UTCDateTime()
    source = fields.String()


class RangeArgsSchema(ma.Schema):
    start = UTCDateTime(required=True)
    end = UTCDateTime(required=True)


class SlotQueryArgsSchema(ma.Schema):
    start = Day(required=True)
    end = Day(required=True)
    tz = TimeZone(load_default="UTC")
    staff = fields.Integer(load_default=None, validate=ID_RANGE)

    @validates_schema
    def _end_not_before_start(self, data, **kwargs):
        if data["end"] < data["start"]:
            raise ma.ValidationError("Must be on or after start.", "end")


class SlotSchema(ma.Schema):
    start = UTCDateTime()
    end = UTCDateTime()
    start_local = fields.String()
    end_local = fields.String()
    staff_ids = fields.List(fields.Integer())
    seats_left = fields.Integer()


class SlotListSchema(ma.Schema):
    service_id = fields.Integer()
    tz = fields.String()
    slots = fields.List(fields.Nested(SlotSchema))

    @ma.pre_dump
    def _in_the_viewers_zone(self, data: dict, **_kwargs) -> dict:
        """Each slot's start and end also as local times in the list's zone `tz`."""
        zone = ZoneInfo(data["tz"])
        slots = [
            {
                "start": slot.start,
                "end": slot.end,
                "start_local": slot.start.astimezone(zone).isoformat(),
                "end_local": slot.end.astimezone(zone).isoformat(),
                "staff_ids": slot.staff_ids,
                "seats_left": slot.seats_left,
            }
            for slot in data["slots"]
        ]
        return {**data, "slots": slots}


class ClientSchema(ma.Schema):
    """The client: an email address or a phone number (or both), and how they hear from us."""

    name = OneLine(required=True, validate=validate.Length(1, 200))
    email = EmailAddress(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=EMAIL_MAX),
        metadata={"description": "Optional when `phone` is given."},
    )
    phone = PhoneNumber(
        allow_none=True,
        load_default=None,
        metadata={"description": "Required without `email`, and to hear from us by SMS."},
    )
    notify_by = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(NOTIFY_BY),
        metadata={
            "description": "How the client hears from us: `email`, `sms` (to `phone`) or "
            "`both`. Default: `email`, or `sms` without an email address."
        },
    )
    language = fields.String(load_default="en", validate=LANGUAGE)
    time_zone = TimeZone(allow_none=True, load_default=None)

    @validates_schema
    def _reachable(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if errors := contact_errors(data.get("email"), data.get("phone"), data.get("notify_by")):
            raise ma.ValidationError(errors)

    @ma.post_load
    def _default_notify_by(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["notify_by"] = data.get("notify_by") or default_notify_by(data.get("email"))
        return data


class BackupSchema(ma.Schema):
    callback_number = PhoneNumber(allow_none=True, load_default=None)
    use_dial_in = fields.Boolean(load_default=False)


class AccommodationsSchema(ma.Schema):
    captions = fields.Boolean(load_default=False)
    interpreter_language = OneLine(
        allow_none=True, load_default=None, validate=validate.Length(max=64)
    )
    other = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class AccommodationsPatchSchema(ma.Schema):
    """Accommodations in a PATCH: only the given fields change."""

    captions = fields.Boolean()
    interpreter_language = OneLine(allow_none=True, validate=validate.Length(max=64))
    other = fields.String(allow_none=True, validate=validate.Length(max=2000))


class AppointmentCreateSchema(ma.Schema):
    service_id = fields.Integer(required=True, validate=ID_RANGE)
    start = UTCDateTime(required=True, metadata=FUTURE_SLOT)
    staff_id = fields.Integer(allow_none=True, load_default=None, validate=ID_RANGE)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    client = fields.Nested(ClientSchema, required=True)
    backup = fields.Nested(BackupSchema, load_default=lambda: {"callback_number": None})
    accommodations = fields.Nested(AccommodationsSchema, load_default=dict)
    client_notes = fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=4000)
    )


class RescheduleSchema(ma.Schema):
    start = UTCDateTime(required=True, metadata=FUTURE_SLOT)


class CancelSchema(ma.Schema):
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class CompleteSchema(ma.Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=20000))


class FollowUpSchema(ma.Schema):
    start = UTCDateTime(required=True, metadata=FUTURE_SLOT)
    service_id = fields.Integer(allow_none=True, load_default=None, validate=ID_RANGE)
    mode = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(MODES))


class AppointmentUpdateSchema(ma.Schema):
    staff_notes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    client_notes = fields.String(allow_none=True, validate=validate.Length(max=4000))
    client_phone = PhoneNumber(allow_none=True)
    backup_callback_number = PhoneNumber(allow_none=True)
    accommodations = fields.Nested(AccommodationsPatchSchema)


class ConsentPutSchema(ma.Schema):
    template_id = fields.Integer(required=True, validate=ID_RANGE)
    form_title = OneLine(required=True, validate=validate.Length(max=300))
    status = fields.String(required=True, validate=validate.OneOf(CONSENT_STATUSES))


class ConsentSchema(ma.Schema):
    """A consent entry as the client sees it through their manage link, with their signing link."""

    request_id = fields.Integer()
    template_id = fields.Integer()
    form_title = fields.String()
    status = fields.String()
    signing_url = fields.String(allow_none=True, load_only=False)
    updated_at = UTCDateTime()


class ConsentOutSchema(ma.Schema):
    """The contract's consent list entry, and what staff and admins see: never the client's
    signing link (whoever holds it signs as the client); consent's
    POST /requests/{request_id}/resend emails it to the client again."""

    request_id = fields.Integer()
    template_id = fields.Integer()
    form_title = fields.String()
    status = fields.String()
    updated_at = UTCDateTime()


class BackupOutSchema(ma.Schema):
    callback_number = fields.String(allow_none=True)
    dial_in = fields.String(allow_none=True)
    use_dial_in = fields.Boolean()


class AppointmentSchema(ma.Schema):
    id = fields.Integer()
    uid = fields.String()
    service_id = fields.Integer()
    service_name = fields.Function(lambda a: a.service.name)
    staff_id = fields.Integer()
    staff_name = fields.Function(lambda a: a.staff.name)
    start = UTCDateTime()
    end = UTCDateTime()
    status = fields.String(validate=validate.OneOf(STATUSES))
    mode = fields.String()
    video_url = fields.String(allow_none=True)
    location = fields.Function(lambda a: a.service.location if a.mode == "in_person" else None)
    client_name = fields.String()
    client_email = fields.String(allow_none=True)
    client_phone = fields.String(allow_none=True)
    notify_by = fields.String(
        validate=validate.OneOf(NOTIFY_BY),
        metadata={"description": "How the client hears from us: email, sms or both."},
    )
    client_language = fields.String()
    client_time_zone = fields.String()
    backup = fields.Nested(BackupOutSchema)
    accommodations = fields.Nested(AccommodationsSchema)
    client_notes = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    staff_notes = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    sequence = fields.Integer()
    follow_up_of_id = fields.Integer(allow_none=True)
    consent_status = fields.String()
    consents = fields.List(fields.Nested(ConsentOutSchema))
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class BookedSchema(ma.Schema):
    """A new booking: the appointment and, this once, the client's manage token and link."""

    appointment = fields.Nested(AppointmentSchema)
    manage_token = fields.String()
    manage_url = fields.String()


class FollowUpBookedSchema(ma.Schema):
    """A follow-up staff booked: the appointment only. Its manage link lets the holder act as
    the client, so it goes to the client alone, in their confirmation."""

    appointment = fields.Nested(AppointmentSchema)


class ManagedAppointmentSchema(ma.Schema):
    """What the client sees through their manage link (no staff notes or outcome)."""

    id = fields.Integer()
    service_id = fields.Integer()
    service_name = fields.Function(lambda a: a.service.text_in(a.client_language).name)
    staff_name = fields.Function(lambda a: a.staff.name)
    start = UTCDateTime()
    end = UTCDateTime()
    status = fields.String()
    mode = fields.String()
    video_url = fields.String(allow_none=True)
    location = fields.Function(lambda a: a.service.location if a.mode == "in_person" else None)
    client_name = fields.String()
    client_time_zone = fields.String()
    backup = fields.Nested(BackupOutSchema)
    accommodations = fields.Nested(AccommodationsSchema)
    resources = fields.Function(lambda a: a.service.text_in(a.client_language).resources)
    join_instructions = fields.Function(
        lambda a: (
            a.service.text_in(a.client_language).join_instructions if a.mode != "in_person" else ""
        ),
        metadata=JOIN_INSTRUCTIONS_DOCS,
    )
    access_notes = fields.Function(
        lambda a: (
            a.service.text_in(a.client_language).access_notes if a.mode == "in_person" else ""
        ),
        metadata=ACCESS_NOTES_DOCS,
    )
    consent_status = fields.String()
    consents = fields.List(fields.Nested(ConsentSchema))


class AppointmentListArgsSchema(ma.Schema):
    """GET /appointments filters (all given ones apply)."""

    staff_id = fields.Integer(
        load_default=None,
        validate=ID_RANGE,
        metadata={"description": "Admins: one staff member's. A staff token lists its own."},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    from_ = UTCDateTime(
        data_key="from",
        load_default=None,
        metadata={"description": "Appointments ending after this moment."},
    )
    to = UTCDateTime(
        load_default=None, metadata={"description": "Appointments starting before this moment."}
    )
    start = UTCDateTime(load_default=None, metadata={"description": "The older name of `from`."})
    end = UTCDateTime(load_default=None, metadata={"description": "The older name of `to`."})
    client_email = OneLine(
        load_default=None,
        validate=validate.Length(1, EMAIL_MAX),
        metadata={"description": "The client's email address (any case)."},
    )
    client_phone = PhoneNumber(
        load_default=None,
        metadata={"description": "The client's phone or callback number, in any format."},
    )
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))

    @validates_schema
    def _one_name_each(self, data, **kwargs):
        for new, old in (("from_", "start"), ("to", "end")):
            if data.get(new) is not None and data.get(old) is not None:
                raise ma.ValidationError(f"Give {new.rstrip('_')} or {old}, not both.", old)

    @ma.post_load
    def _merge_names(self, data, **kwargs):
        data["start"] = data.pop("from_") or data["start"]
        data["end"] = data.pop("to") or data["end"]
        return data


class ClientSearchArgsSchema(ma.Schema):
    """GET /clients: what to look for."""

    q = OneLine(
        load_default=None,
        validate=validate.Length(1, 200),
        metadata={
            "description": "Part of the client's name or email (any case; `%` and `_` are "
            "plain characters), or the digits of their phone number in any format. Without "
            "it, every client (of your own appointments, for a staff token)."
        },
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class AppointmentRefSchema(ma.Schema):
    id = fields.Integer(required=True)
    start = UTCDateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class ClientEntrySchema(ma.Schema):
    """A client, identified by the email address they book with (or, without one, their phone
    number), and their appointments in short (a staff token: only its own appointments count)."""

    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, metadata={"description": "As on the latest booking."})
    phone = fields.String(required=True, allow_none=True)
    appointment_count = fields.Integer(required=True)
    next_appointment = fields.Nested(
        AppointmentRefSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The first confirmed appointment from now."},
    )
    last_appointment = fields.Nested(
        AppointmentRefSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The latest appointment that started before now."},
    )


class HistoryEventSchema(ma.Schema):
    id = fields.Integer()
    at = UTCDateTime()
    actor = fields.String()
    action = fields.String()
    details = fields.Dict()


# The feed and external-calendar API
class FeedTokenSchema(ma.Schema):
    """A feed's URLs, shown once when the token is created or rotated."""

    url = fields.String(required=True, metadata={"description": "https:// URL of the feed"})
    webcal_url = fields.String(
        required=True, metadata={"description": "The same feed as webcal:// (subscribe links)"}
    )
    created_at = UTCDateTime(required=True)


class CalendarCreateSchema(ma.Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(1, 2048),
        metadata={
            "description": "The calendar's secret ICS address (https://, http://, webcal://)"
        },
    )
    name = OneLine(load_default="", validate=validate.Length(max=200))


class CalendarSchema(ma.Schema):
    """An external calendar: its host (never the secret URL) and how its last fetch went."""

    id = fields.Integer()
    staff_id = fields.Integer()
    name = fields.String()
    url_hint = fields.String(metadata={"description": "Scheme and host of the secret URL"})
    last_fetched_at = UTCDateTime(allow_none=True)
    last_ok_at = UTCDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    busy_count = fields.Integer()
    next_fetch_at = UTCDateTime()
    created_at = UTCDateTime()


# The organization's profile
_LANGUAGE_CODE = validate.OneOf(LANGUAGES, error="One of the languages offered: {choices}.")


class OrganizationUpdateSchema(ma.Schema):
    """The whole profile (PUT replaces it; the logo has its own route)."""

    name = OneLine(required=True, validate=validate.Length(1, 200))
    phone = PhoneNumber(
        allow_none=True,
        load_default=None,
        metadata={"description": "Shown on every page, email, SMS and record, as a tel: link."},
    )
    email = EmailAddress(
        allow_none=True, load_default=None, validate=validate.Length(max=EMAIL_MAX)
    )
    address = OneLine(allow_none=True, load_default=None, validate=validate.Length(max=500))
    hours = fields.Dict(
        keys=fields.String(validate=_LANGUAGE_CODE),
        values=OneLine(validate=validate.Length(max=300)),
        load_default=dict,
        metadata={
            "description": "Opening hours as free text per language code; a language without "
            "its own text shows the default language's.",
            "examples": [{"en": "Monday to Friday, 9:00 to 17:00"}],
        },
    )
    reply_to = EmailAddress(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=EMAIL_MAX),
        metadata={"description": "Reply-To of every email: a mailbox someone reads."},
    )
    default_language = fields.String(load_default="en", validate=_LANGUAGE_CODE)


class OrganizationSchema(ma.Schema):
    """What pages and clients may show (public), and what an admin saved."""

    name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    hours = fields.Dict(keys=fields.String(), values=fields.String())
    reply_to = fields.String(allow_none=True)
    default_language = fields.String()
    logo_url = fields.String(
        allow_none=True,
        metadata={"description": "The logo (PNG, JPEG or WebP), versioned by its content."},
    )


# --- the help center's FAQ ---------------------------------------------------------------------

FAQ_ANSWER_MAX = 5000
FAQ_QUERY_MAX = 200


class FaqEntryCreateSchema(ma.Schema):
    language = fields.String(required=True, validate=LANGUAGE)
    question = OneLine(required=True, validate=validate.Length(1, 300))
    answer = fields.String(required=True, validate=validate.Length(1, FAQ_ANSWER_MAX))
    position = fields.Integer(load_default=0, validate=validate.Range(0, 10_000))


class FaqEntrySchema(ma.Schema):
    id = fields.Integer()
    language = fields.String()
    question = fields.String()
    answer = fields.String()
    position = fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class FaqQueryArgsSchema(ma.Schema):
    language = fields.String(
        validate=LANGUAGE, metadata={"description": "Only this language's entries."}
    )
    q = fields.String(
        validate=validate.Length(1, FAQ_QUERY_MAX),
        metadata={
            "description": "Full-text search (needs `language`): entries matching any word, "
            "best first, with the language's stemming on PostgreSQL."
        },
    )

    @validates_schema
    def _search_needs_language(self, data, **_kwargs):
        if "q" in data and "language" not in data:
            raise ma.ValidationError("A search needs a language.", field_name="language")


# --- "Ask us": clients' questions, answered by staff --------------------------------------------


class QuestionQueryArgsSchema(ma.Schema):
    """GET /questions: which list, and which page of it."""

    status = fields.String(
        validate=validate.OneOf(("open", "answered", "closed")),
        metadata={"description": "open (waiting for staff), answered or closed"},
    )
    limit = fields.Integer(
        load_default=question_operations.PAGE_DEFAULT,
        validate=validate.Range(1, question_operations.PAGE_MAX),
        metadata={"description": "Questions per page."},
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(1, 500),
        metadata={
            "description": "Where the page starts: copy it from the previous page's "
            '`Link: <...>; rel="next"` header (opaque; it belongs to one status).'
        },
    )

    @validates_schema
    def _cursor_of_this_list(self, data, **kwargs):
        if data.get("cursor") is not None:
            try:
                question_operations.decode_cursor(data["cursor"], data.get("status"))
            except ValueError as exc:
                raise ma.ValidationError(str(exc), "cursor") from exc

    @ma.post_load
    def _decoded_cursor(self, data, **kwargs):
        if data.get("cursor") is not None:
            data["cursor"] = question_operations.decode_cursor(data["cursor"], data.get("status"))
        return data


class QuestionCountSchema(ma.Schema):
    open = fields.Integer(metadata={"description": "questions waiting for an answer"})


class QuestionAnswerCreateSchema(ma.Schema):
    # Plain text, line breaks allowed (the operation refuses HTML and control characters).
    body = fields.String(required=True, validate=validate.Length(1, 2000))


class QuestionMessageSchema(ma.Schema):
    id = fields.Integer()
    author = fields.String(metadata={"description": "client or staff"})
    staff_id = fields.Integer(allow_none=True)
    body = fields.String()
    created_at = UTCDateTime()


class QuestionSchema(ma.Schema):
    id = fields.Integer()
    appointment_id = fields.Integer(allow_none=True)
    client_name = fields.String()
    # How the client hears from us (never the address or number itself).
    contact_channel = fields.Method(
        "_channel", metadata={"description": "email or sms: how the client gets the answer"}
    )
    language = fields.String()
    status = fields.String(metadata={"description": "open, answered or closed"})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    messages = fields.List(fields.Nested(QuestionMessageSchema))

    def _channel(self, question) -> str:
        return "email" if question.client_email else "sms"
