"""Input and output schemas of notify's API (see CONTRACTS.md, POST /api/v1/messages)."""

from __future__ import annotations

import base64
import binascii
import copy
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
import marshmallow as ma
from flask import current_app

from services.notify import rendering
from services.notify.models import CHANNELS, STATUSES
from shared import outbound
from shared.db import utcnow
from shared.email_addresses import email_problem
from shared.fields import PHONE_DOCS, OneLine, UTCDateTime, to_e164
from shared.timestamps import utc_iso

CALENDAR_METHODS = ("REQUEST", "CANCEL", "PUBLISH")
MAX_ATTACHMENTS = 3
MAX_SMS_CHARS = 1600  # Twilio's limit for one message body
SEND_AT_TOLERANCE = timedelta(minutes=1)
MAX_CALENDAR_CHARS = 256 * 1024
_ID = ma.validate.Range(min=1, max=2**31 - 1)
MAX_APPOINTMENT_IDS = 500  # a week's agenda in one call


class AttachmentSchema(ma.Schema):
    """A calendar part of an email: sent inline (iMIP) and as an .ics attachment."""

    content_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["text/calendar"], error="Only text/calendar.")
    )
    method = ma.fields.String(
        required=True,
        metadata={"enum": list(CALENDAR_METHODS), "description": "The calendar's METHOD."},
    )
    filename = ma.fields.String(
        load_default="invite.ics",
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9._-]{1,100}\.ics$", error="A plain file name ending in .ics."
        ),
    )
    content = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_CALENDAR_CHARS),
        metadata={
            "pattern": "^BEGIN:VCALENDAR",
            "description": "An iCalendar object whose METHOD is the part's method.",
        },
    )

    @ma.validates_schema
    def _method_matches_calendar(self, data: dict[str, Any], **_kwargs: Any) -> None:
        method = data["method"].upper()
        if method not in CALENDAR_METHODS:
            raise ma.ValidationError(f"One of {', '.join(CALENDAR_METHODS)}.", "method")
        try:
            calendar = icalendar.Calendar.from_ical(data["content"])
        except ValueError as exc:
            raise ma.ValidationError(f"Not an iCalendar object: {exc}", "content") from exc
        if not isinstance(calendar, icalendar.Calendar):
            raise ma.ValidationError("Not a VCALENDAR.", "content")
        inner = str(calendar.get("METHOD") or "")
        if inner != method:
            raise ma.ValidationError(
                f"The calendar's METHOD ({inner or 'missing'}) must equal the part's method "
                f"({method}), in upper case.",
                "content",
            )

    @ma.post_load
    def _upper_method(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["method"] = data["method"].upper()
        return data


def _recipient_error(channel: str, to: str) -> str | None:
    """Why `to` is not a valid recipient for the channel, or None."""
    if channel == "email":
        try:
            ma.validate.Email()(to)
        except ma.ValidationError:
            return "Not a valid email address."
        return email_problem(to, smtputf8=current_app.config["SMTP_UTF8"])
    if channel == "sms":
        try:
            to_e164(to)
        except ValueError as exc:
            return str(exc)
        return None
    return _webhook_url_error(to)


def _webhook_url_error(url: str) -> str | None:
    """Why a webhook URL is refused: not http(s), no host, or a private address when not allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Not an http(s) URL."
    if len(url) > 2048:
        return "URL too long."
    return outbound.refusal(url, allow_private=current_app.config["ALLOW_PRIVATE_WEBHOOKS"])


def _secret_error(secret: str) -> str | None:
    """Why a Standard Webhooks secret (whsec_<base64>) is malformed, or None."""
    prefix, _, encoded = secret.partition("_")
    if prefix != "whsec" or not encoded:
        return "Use the form whsec_<base64>."
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "The part after whsec_ is not base64."
    if not 24 <= len(key) <= 64:
        return "The key must be 24 to 64 bytes."
    return None


class MessageCreateSchema(ma.Schema):
    """POST /messages: a templated or literal email, SMS or webhook call to send."""

    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS))
    to = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2048))
    template = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(rendering.TEMPLATES))
    locale = ma.fields.String(load_default="en", validate=ma.validate.OneOf(rendering.LOCALES))
    data = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(1, 100)),
        load_default=dict,
        validate=ma.validate.Length(max=100),
    )
    subject = OneLine(allow_none=True, validate=ma.validate.Length(min=1, max=500))
    text = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=100_000))
    html = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=500_000))
    attachments = ma.fields.List(
        ma.fields.Nested(AttachmentSchema),
        load_default=list,
        validate=ma.validate.Length(max=MAX_ATTACHMENTS),
    )
    send_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "Now or later (a minute late at most); omit it to send now."},
    )
    group = OneLine(allow_none=True, validate=ma.validate.Length(min=1, max=200))
    webhook_secret = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    event = OneLine(allow_none=True, validate=ma.validate.Length(min=1, max=200))
    payload = ma.fields.Raw(allow_none=True)
    appointment_id = ma.fields.Integer(
        allow_none=True,
        validate=_ID,
        metadata={"description": "The booking appointment the message is about, if any."},
    )
    staff_id = ma.fields.Integer(
        allow_none=True,
        validate=_ID,
        metadata={
            "description": "The staff member (booking's id) whose appointment or client it is "
            "about: a staff token lists the messages with its own staff_id."
        },
    )

    @ma.validates_schema
    def _fits_channel(self, data: dict[str, Any], **_kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        channel = data["channel"]
        problem = _recipient_error(channel, data["to"])
        if problem:
            errors["to"] = [problem]
        template = data.get("template")
        literal = [k for k in ("subject", "text", "html") if data.get(k) is not None]
        if channel == "webhook":
            for key in ("template", *literal):
                if data.get(key) is not None:
                    errors[key] = ["Webhooks send `event` and `payload`, not templates or text."]
            if not data.get("event"):
                errors["event"] = ["Required for a webhook."]
            if data.get("payload") is None:
                errors["payload"] = ["Required for a webhook."]
            secret = data.get("webhook_secret")
            if secret is not None and _secret_error(secret):
                errors["webhook_secret"] = [_secret_error(secret)]
        else:
            for key in ("webhook_secret", "event", "payload"):
                if data.get(key) is not None:
                    errors[key] = ["Only for webhooks."]
            if template is not None:
                for key in literal:
                    errors[key] = ["Give either a template or literal content, not both."]
                errors.update(rendering.data_errors(template, data.get("data") or {}))
            elif channel == "email":
                if data.get("subject") is None:
                    errors["subject"] = ["Required without a template."]
                if data.get("text") is None and data.get("html") is None:
                    errors["text"] = ["Give text or html (or a template)."]
            else:
                if data.get("text") is None:
                    errors["text"] = ["Required for an SMS without a template."]
                elif len(data["text"]) > MAX_SMS_CHARS:
                    errors["text"] = [f"An SMS holds at most {MAX_SMS_CHARS} characters."]
                for key in ("subject", "html"):
                    if data.get(key) is not None:
                        errors[key] = ["An SMS has only text."]
        if data.get("attachments") and channel != "email":
            errors["attachments"] = ["Only email carries attachments."]
        send_at = data.get("send_at")
        if send_at is not None and send_at < utcnow() - SEND_AT_TOLERANCE:
            errors["send_at"] = ["In the past; omit it to send now."]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _normalize(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if data["channel"] == "sms":
            data["to"] = to_e164(data["to"])
        elif data["channel"] == "email":
            data["to"] = data["to"].strip()
        return data


def _channel_schema(
    channel: str, names: tuple[str, ...], required: tuple[str, ...] = (), **own: ma.fields.Field
) -> type[ma.Schema]:
    """The documented body of one channel: MessageCreateSchema's fields `names` (those in
    `required` required), `channel` fixed, and the fields `own` as this channel takes them.
    For the OpenAPI document only: MessageCreateSchema loads every body."""
    fields: dict[str, ma.fields.Field] = {
        "channel": ma.fields.String(required=True, metadata={"enum": [channel]})
    }
    declared = MessageCreateSchema().fields
    for name in names:
        fields[name] = own.get(name) or copy.copy(declared[name])
        if name in required:
            fields[name].required, fields[name].allow_none = True, False
    return ma.Schema.from_dict(fields, name=f"{channel.capitalize()}MessageSchema")


_SENDING = ("send_at", "group", "appointment_id", "staff_id")
EmailMessageSchema = _channel_schema(
    "email",
    ("to", "template", "locale", "data", "subject", "text", "html", "attachments", *_SENDING),
    required=("to",),
    to=ma.fields.Email(validate=ma.validate.Length(max=2048)),
)
SmsMessageSchema = _channel_schema(
    "sms",
    ("to", "template", "locale", "data", "text", *_SENDING),
    required=("to",),
    to=ma.fields.String(metadata=PHONE_DOCS),
    text=ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=MAX_SMS_CHARS)),
)
WebhookMessageSchema = _channel_schema(
    "webhook",
    ("to", "event", "payload", "webhook_secret", *_SENDING),
    required=("to", "event", "payload"),
    to=ma.fields.URL(
        schemes={"http", "https"},
        validate=ma.validate.Length(max=2048),
        metadata={"pattern": "^https?://", "description": "A public http(s) URL."},
    ),
    payload=ma.fields.Raw(
        metadata={"type": ["object", "array", "string", "number", "boolean"]},
    ),
    webhook_secret=ma.fields.String(
        allow_none=True,
        metadata={
            # 24 to 64 bytes in padded base64 (32 to 88 characters).
            "pattern": (
                "^whsec_(([A-Za-z0-9+/]{4}){8,21}([A-Za-z0-9+/]{2}==)?"
                "|([A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{3}=)$"
            ),
            "description": "whsec_ and the base64 of a 24 to 64 byte key.",
        },
    ),
)
# Either a template with the `data` it needs, or literal content (email: a subject, and text
# or html; SMS: text).
_LITERAL = {"email": ("subject", "text", "html"), "sms": ("text",)}


def _template_or_literal(channel: str) -> list[dict[str, Any]]:
    """The alternatives of an email's or SMS's content, one per template and a literal one."""
    no_literal = {key: {"type": "null"} for key in _LITERAL[channel]}
    templated = [
        {
            "required": ["template", "data"],
            "properties": {
                "template": {"const": template},
                "data": rendering.data_docs(template),
                **no_literal,
            },
        }
        for template in rendering.TEMPLATES
    ]
    literal: dict[str, Any] = {"properties": {"template": {"type": "null"}}}
    if channel == "email":
        literal |= {
            "required": ["subject"],
            "anyOf": [{"required": ["text"]}, {"required": ["html"]}],
        }
    else:
        literal["required"] = ["text"]
    return [*templated, literal]


# POST /messages as the OpenAPI document gives it: one body per channel, each with its own
# required fields (the `channel` value tells them apart).
MESSAGE_BODY_DOCS = {
    "oneOf": [
        {"allOf": [EmailMessageSchema, {"oneOf": _template_or_literal("email")}]},
        {"allOf": [SmsMessageSchema, {"oneOf": _template_or_literal("sms")}]},
        WebhookMessageSchema,
    ],
}


class AttemptSchema(ma.Schema):
    """One delivery try."""

    at = UTCDateTime(required=True)
    ok = ma.fields.Boolean(required=True)
    error = ma.fields.String(allow_none=True)


class MessageSchema(ma.Schema):
    """A message and its delivery history."""

    id = ma.fields.Integer(required=True)
    channel = ma.fields.String(required=True)
    to = ma.fields.String(required=True)
    template = ma.fields.String(allow_none=True)
    locale = ma.fields.String(required=True)
    group = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, metadata={"enum": list(STATUSES)})
    send_at = UTCDateTime(required=True)
    created_at = UTCDateTime(required=True)
    sent_at = UTCDateTime(allow_none=True)
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema), required=True)
    attempt_count = ma.fields.Function(
        lambda m: len(m.attempts),
        required=True,
        metadata={"type": "integer", "description": "How many delivery tries were made."},
    )
    last_attempt_at = ma.fields.Function(
        lambda m: utc_iso(m.attempts[-1].at) if m.attempts else None,
        required=True,
        allow_none=True,
        metadata={"type": ["string", "null"], "format": "date-time"},
    )
    last_error = ma.fields.String(allow_none=True)
    appointment_id = ma.fields.Integer(required=True, allow_none=True)
    staff_id = ma.fields.Integer(required=True, allow_none=True)
    retried_at = UTCDateTime(
        required=True,
        allow_none=True,
        metadata={"description": "When an admin last put it back in the queue."},
    )
    segments = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "An SMS's segments (GSM-7: 160 characters in one, 153 each when "
            "split, extension characters such as € count double; UCS-2, e.g. Arabic: 70, 67)."
        },
    )


class MessageQueryArgsSchema(ma.Schema):
    """GET /messages filters (all given ones apply)."""

    group = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    template = ma.fields.String(validate=ma.validate.OneOf(rendering.TEMPLATES))
    appointment_id = ma.fields.List(
        ma.fields.Integer(validate=_ID),
        validate=ma.validate.Length(min=1, max=MAX_APPOINTMENT_IDS),
        metadata={
            "description": "Messages about these appointments: repeat the parameter "
            f"(`appointment_id=41&appointment_id=42`, at most {MAX_APPOINTMENT_IDS}), e.g. "
            "for a week's agenda in one call."
        },
    )
    staff_id = ma.fields.Integer(
        validate=_ID,
        metadata={"description": "A staff token sees only its own; another id lists nothing."},
    )
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


class WebhookEndpointSchema(ma.Schema):
    """A webhook receiver notify signs for (its secret is never shown)."""

    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    created_at = UTCDateTime(required=True)
    disabled_at = UTCDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "When it answered 410 Gone; nothing is sent to it since."},
    )


class CancelResultSchema(ma.Schema):
    """How many messages of a group were cancelled."""

    cancelled = ma.fields.Integer(required=True)
