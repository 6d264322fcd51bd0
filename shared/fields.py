"""Marshmallow fields every service validates the same way: phone numbers, time zones, UTC times."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import marshmallow as ma
import phonenumbers


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


class UTCDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 date-time with an offset, returned in UTC; output always in UTC ('Z')."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)

    def _serialize(
        self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
