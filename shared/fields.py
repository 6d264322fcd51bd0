"""Marshmallow fields every service validates the same way: phone numbers, time zones, UTC times,
calendar days."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import marshmallow as ma
import phonenumbers
from flask import current_app, has_app_context

from shared.email_addresses import email_problem
from shared.errors import ValidationFailed
from shared.plain_text import NOT_ONE_LINE, ONE_LINE_PATTERN, one_line_problem
from shared.timestamps import utc_iso


def to_e164(value: str, region: str | None = None) -> str:
    """Parse a phone number and return it as E.164, or raise ValueError with a plain reason."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "Not a phone number; include the country code, e.g. +1 416 555 0100."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid; check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class OneLine(ma.fields.String):
    """One line of text (names, titles, a typed signature): see one_line_problem. The OpenAPI
    document gives the rule as a pattern, so generated data keeps to one line."""

    def __init__(self, **kwargs: Any) -> None:
        # An example, or the viewers would show a sample made up from the pattern.
        docs = {
            "pattern": ONE_LINE_PATTERN,
            "description": NOT_ONE_LINE,
            "examples": ["Text on one line"],
        }
        kwargs["metadata"] = {**docs, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if problem := one_line_problem(text):
            raise ma.ValidationError(problem)
        return text


class PlainText(ma.fields.String):
    """Text of several lines, with line breaks as LF: a browser's CRLF (or a lone CR) becomes
    one LF before any length check, so a limit counts the characters a reader sees."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.replace("\r\n", "\n").replace("\r", "\n")


# What the OpenAPI document says of a phone number, so generated clients and fuzzers send one
# the API takes: E.164 (spaces are accepted too, and the number must exist in its country's
# numbering plan, which no pattern can say; the `e164` format names that rule).
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
PHONE_DOCS = {
    "format": "e164",
    "pattern": E164_PATTERN,
    "examples": ["+14165550100"],
    "description": "A phone number in E.164 form (+, country code, number), valid in its country.",
}


class PhoneNumber(ma.fields.String):
    """A phone number, validated with libphonenumber and returned as E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**PHONE_DOCS, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return to_e164(text)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc


class EmailAddress(ma.fields.Email):
    """An email address mail can be sent to: no invisible characters, no IP-literal domain,
    and an ASCII local part unless the relay speaks SMTPUTF8 (FRONTDESK_SMTP_UTF8)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        address = super()._deserialize(value, attr, data, **kwargs)
        smtputf8 = has_app_context() and bool(current_app.config.get("SMTP_UTF8"))
        if problem := email_problem(address, smtputf8=smtputf8):
            raise ma.ValidationError(problem)
        return address


_ZONES: frozenset[str] | None = None


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA time zone names this machine knows, sorted."""
    return tuple(sorted(available_timezones()))


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name this machine knows."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    if name in _ZONES:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class TimeZone(ma.fields.String):
    """An IANA time zone name such as America/Toronto (the OpenAPI document lists them all)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        names: list[str | None] = list(time_zone_names())
        if self.allow_none:
            names.append(None)
        self.metadata = {"enum": names, "examples": ["America/Toronto"], **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_time_zone(text):
            raise ma.ValidationError("Unknown time zone; use an IANA name such as America/Toronto.")
        return text


# Dates and times a caller may give: wide enough for any record, narrow enough that adding a
# horizon, a duration or a zone offset never leaves Python's years 1..9999 (OverflowError).
FIRST_YEAR, LAST_YEAR = 1900, 2999
_OUT_OF_RANGE = f"Give a date between the years {FIRST_YEAR} and {LAST_YEAR}."
# The range as the OpenAPI document gives it: a pattern on the year the value starts with.
YEAR_RANGE_DOCS = {
    "pattern": r"^(19[0-9]{2}|2[0-9]{3})-",
    "description": f"Years {FIRST_YEAR} to {LAST_YEAR}.",
}


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ma.ValidationError(_OUT_OF_RANGE)


class UTCDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 date-time with an offset (years FIRST_YEAR..LAST_YEAR), returned in UTC;
    output always in UTC ('Z')."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**YEAR_RANGE_DOCS, **kwargs.get("metadata", {})}
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        _check_year(moment.year)  # before astimezone, which overflows at 0001-01-01+01:00
        return moment.astimezone(UTC)

    def _serialize(
        self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | None:
        return utc_iso(value)


class Day(ma.fields.Date):
    """An ISO 8601 calendar day, years FIRST_YEAR..LAST_YEAR."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**YEAR_RANGE_DOCS, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        _check_year(day.year)
        return day


def load_or_fail(schema: ma.Schema, data: dict[str, Any]) -> dict[str, Any]:
    """`schema.load(data)`, or one ValidationFailed with every field error, keyed by path
    ('client.email'), as an operation raises it (pages map both to their inputs the same way)."""
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        raise ValidationFailed(errors=_by_path(exc.normalized_messages())) from exc


def _by_path(messages: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            flat.update(_by_path(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def max_length(schema: ma.Schema, path: str) -> int | None:
    """The longest text a schema's field takes ('client.name'), from its Length validator."""
    *parents, name = path.split(".")
    for parent in parents:
        schema = schema.fields[parent].schema
    validators = schema.fields[name].validators
    return next((v.max for v in validators if isinstance(v, ma.validate.Length)), None)


# How a client hears from us (booking's appointments, consent's requests): one rule for both.
NOTIFY_BY = ("email", "sms", "both")
NO_CONTACT = "Give an email address or a phone number (or both)."


def contact_errors(
    email: str | None,
    phone: str | None,
    notify_by: str | None,
    *,
    keys: tuple[str, str] = ("email", "phone"),
) -> dict[str, list[str]]:
    """Field errors of a client's contacts: an email address or a phone number is required, and
    the channel chosen (`notify_by`) needs its contact; empty when they hold together."""
    email_key, phone_key = keys
    if not email and not phone:
        return {email_key: [NO_CONTACT]}
    errors: dict[str, list[str]] = {}
    if notify_by in ("email", "both") and not email:
        errors[email_key] = ["Required to hear from us by email."]
    if notify_by in ("sms", "both") and not phone:
        errors[phone_key] = ["Required to hear from us by SMS."]
    return errors


def default_notify_by(email: str | None) -> str:
    """How a client hears from us when they did not say: by email, or by SMS without one."""
    return "email" if email else "sms"
