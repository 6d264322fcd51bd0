"""The message templates: which exist, what data each needs, and rendering them at send time.

Files live in templates/<locale>/<name>.{subject.txt,txt,html,sms.txt}; a locale that lacks a
file falls back to English. HTML is autoescaped; times are shown in `data.timezone`, localized
with Babel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name

from shared.fields import is_time_zone
from shared.languages import LANGUAGES

TEMPLATE_DIR = Path(__file__).parent / "templates"
LOCALES = LANGUAGES
FALLBACK_LOCALE = "en"
MODES = ("video", "phone", "in_person")

_BOOKING = (
    "client_name",
    "service_name",
    "staff_name",
    "org_name",
    "start",
    "end",
    "timezone",
    "mode",
)

# template -> data keys that must be present (optional keys may be absent or null).
REQUIRED_DATA: dict[str, tuple[str, ...]] = {
    "booking_confirmation": _BOOKING,
    "booking_reminder": _BOOKING,
    "booking_cancelled": _BOOKING,
    "booking_rescheduled": (*_BOOKING, "previous_start"),
    "booking_staff_notice": (*_BOOKING, "event"),
    # "Lost my link?": `appointments` lists {service_name, start, manage_url}, soonest first.
    "booking_lost_links": ("client_name", "org_name", "timezone", "appointments"),
    # "Ask us": the link to the client's thread only (the answer stays behind it).
    "booking_question_answered": ("org_name", "thread_url"),
    "billing_notice": (
        "appointment_id",
        "client_name",
        "service_name",
        "staff_name",
        "start",
        "end",
        "timezone",
        "outcome",
        "org_name",
    ),
    "consent_request": ("client_name", "form_title", "signing_url", "org_name"),
    "consent_reminder": ("client_name", "form_title", "signing_url", "org_name"),
    "consent_signed": ("client_name", "form_title", "download_url", "org_name"),
    "consent_withdrawn": ("client_name", "form_title", "org_name"),
    # The console's emails to staff: the link only.
    "console_sign_in": ("sign_in_url", "org_name"),
    "console_invitation": ("sign_in_url", "org_name"),
    # Staff's Monday summary: counts and lists (appointments, pending_consents,
    # failed_messages, follow_ups) built by the console, each item with its console `url`.
    "console_weekly_summary": ("staff_name", "org_name", "timezone", "week_start", "console_url"),
}
TEMPLATES = tuple(REQUIRED_DATA)
SUMMARY_LISTS = ("appointments", "pending_consents", "failed_messages", "follow_ups")

# Keys that, when present and not null, must be ISO date-times.
_TIME_KEYS = ("start", "end", "previous_start", "expires_at", "appointment_start", "week_start")
_STAFF_EVENTS = ("booked", "cancelled", "rescheduled", "consent_withdrawn")


def data_errors(template: str, data: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors (`data.<key>`) for a template's data; empty when it can be rendered."""
    errors: dict[str, list[str]] = {}
    for key in REQUIRED_DATA[template]:
        if data.get(key) in (None, ""):
            errors[f"data.{key}"] = [f"Required by the {template} template."]
    for key in _TIME_KEYS:
        if data.get(key) not in (None, "") and parse_time(data[key]) is None:
            errors[f"data.{key}"] = ["Not an ISO 8601 date-time with an offset."]
    zone = data.get("timezone")
    if zone not in (None, "") and (not isinstance(zone, str) or not is_time_zone(zone)):
        errors["data.timezone"] = ["Unknown time zone; use an IANA name such as America/Toronto."]
    if "mode" in REQUIRED_DATA[template] and data.get("mode") not in (None, ""):
        if data["mode"] not in MODES:
            errors["data.mode"] = [f"One of {', '.join(MODES)}."]
        elif data["mode"] == "video" and not data.get("video_url"):
            errors["data.video_url"] = ["Required when mode is video."]
    if template == "booking_staff_notice" and data.get("event") not in (None, "", *_STAFF_EVENTS):
        errors["data.event"] = [f"One of {', '.join(_STAFF_EVENTS)}."]
    return errors


# How the OpenAPI document names a time zone (a component listing the IANA names).
TIME_ZONE_REF = {"$ref": "#/components/schemas/TimeZoneName"}


def data_docs(template: str) -> dict[str, Any]:
    """The JSON Schema of a template's `data`: what data_errors checks, for the OpenAPI
    document (its keys present and not empty, times ISO 8601, zone, mode and event known)."""
    given = {"not": {"enum": [None, ""]}}
    properties: dict[str, Any] = {key: given for key in REQUIRED_DATA[template]}
    properties.update({key: {"type": "string", "format": "date-time"} for key in _TIME_KEYS})
    properties["timezone"] = TIME_ZONE_REF
    docs: dict[str, Any] = {"type": "object", "required": list(REQUIRED_DATA[template])}
    if "mode" in REQUIRED_DATA[template]:
        properties["mode"] = {"enum": list(MODES)}
        docs["if"] = {"properties": {"mode": {"const": "video"}}}
        docs["then"] = {"required": ["video_url"], "properties": {"video_url": given}}
    if template == "booking_staff_notice":
        properties["event"] = {"enum": list(_STAFF_EVENTS)}
    return {**docs, "properties": properties}


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO string ('Z' accepted), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True)
class Rendered:
    """What a template produced for one message."""

    subject: str
    text: str
    html: str
    sms: str


def _shown(value: Any) -> Any:
    """What `{{ value }}` prints: nothing for a missing optional field, never "None"."""
    return "" if value is None else value


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _template(locale: str, name: str) -> jinja2.Template:
    """The locale's file, or the English one when the locale lacks it."""
    environment = _environment()
    try:
        return environment.get_template(f"{locale}/{name}")
    except jinja2.TemplateNotFound:
        return environment.get_template(f"{FALLBACK_LOCALE}/{name}")


def _formatter(locale: str, zone_name: str):
    """`when(iso)`, `when_short(iso)` and `when_sms(iso)` for templates: the time in the
    recipient's zone and language (when_sms: weekday, day and month, no year, for SMS)."""
    zone = ZoneInfo(zone_name)

    def when(value: Any) -> str:
        moment = parse_time(value)
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return "{}, {} ({})".format(
            format_date(local, "full", locale=locale),
            format_time(local, "short", locale=locale),
            get_timezone_name(local, width="long", locale=locale),
        )

    def when_short(value: Any) -> str:
        moment = parse_time(value)
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return "{} {}".format(
            format_date(local, "medium", locale=locale), format_time(local, "short", locale=locale)
        )

    def when_sms(value: Any) -> str:
        moment = parse_time(value)
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return "{} {}".format(
            format_skeleton("MMMEd", local, locale=locale),
            format_time(local, "short", locale=locale),
        )

    return when, when_short, when_sms


def _day_formatter(locale: str, zone_name: str):
    """`day_of(iso)` for templates: the local date alone ('Monday, December 7, 2026')."""
    zone = ZoneInfo(zone_name)

    def day_of(value: Any) -> str:
        moment = parse_time(value)
        return "" if moment is None else format_date(moment.astimezone(zone), "full", locale=locale)

    return day_of


def render(
    *, template: str, locale: str, data: dict[str, Any], can_reply: bool = False
) -> Rendered:
    """Render every part of a template (subject, text, HTML, SMS) for one message.

    `can_reply`: replies reach someone (a Reply-To is set: the message's `org_reply_to` or
    FRONTDESK_REPLY_TO), so the text may ask for one.
    Raises jinja2 errors (and KeyError/ValueError on bad data); the worker turns them into a
    failed message.
    """
    if template not in REQUIRED_DATA:
        raise ValueError(f"unknown template {template!r}")
    locale = locale if locale in LOCALES else FALLBACK_LOCALE
    context = {
        "location": None,
        "video_url": None,
        # The service's how-to-join text (video, phone) or access notes (in person).
        "join_instructions": None,
        "access_notes": None,
        "manage_url": None,
        "reason": None,
        "consent_missing": False,
        "expires_at": None,
        "client_email": None,
        "previous_start": None,
        "appointment_start": None,
        "event": None,
        # The organization's contacts (the sender puts them in each message's data).
        "org_phone": None,
        "org_email": None,
        "org_address": None,
        "org_hours": None,
        "org_reply_to": None,
        "settings_url": None,
        # The client is only texted and the service takes consent out loud (booking says so).
        "verbal_consent": False,
        **data,
        "can_reply": can_reply,
    }
    # Nested data gets its optional keys filled so templates can test them plainly.
    context["backup"] = {"callback_number": None, "dial_in": None, **(data.get("backup") or {})}
    context["accommodations"] = {
        "captions": False,
        "interpreter_language": None,
        "other": None,
        **(data.get("accommodations") or {}),
    }
    context["resources"] = [
        {"title": "", "url": "", "text": None, **item} for item in data.get("resources") or []
    ]
    context["consent_links"] = [
        {"title": "", "url": "", **item} for item in data.get("consent_links") or []
    ]
    # The weekly summary's lists and their counts (absent: nothing to list).
    for key in SUMMARY_LISTS:
        context[key] = data.get(key) or []
    context["counts"] = {key: len(context[key]) for key in SUMMARY_LISTS} | (
        data.get("counts") or {}
    )
    context["when"], context["when_short"], context["when_sms"] = _formatter(
        locale, data.get("timezone") or "UTC"
    )
    context["day_of"] = _day_formatter(locale, data.get("timezone") or "UTC")
    parts = {
        part: _template(locale, f"{template}.{part}").render(context).strip()
        for part in ("subject.txt", "txt", "html", "sms.txt")
    }
    return Rendered(
        subject=" ".join(parts["subject.txt"].split()),
        text=parts["txt"] + "\n",
        html=parts["html"] + "\n",
        sms=" ".join(parts["sms.txt"].split()),
    )
