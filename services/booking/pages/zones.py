"""The time zone list of the booking pages: common zones in words, in the page's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_timezone_gmt, get_timezone_location
from flask_babel import get_locale

from services.booking.models import Service
from services.booking.operations import availability
from shared.db import utcnow
from shared.fields import is_time_zone

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


def zone_or(value: str | None, fallback: str) -> str:
    """`value` when it is a time zone we know, else `fallback`."""
    return value if value and len(value) <= 64 and is_time_zone(value) else fallback


def org_zone(service: Service) -> str:
    """The zone the service's first bookable staff member works in (UTC without staff)."""
    staff = availability.bookable_staff(service)
    return staff[0].time_zone if staff else "UTC"


# Languages whose CLDR region format reads badly in a list: French's "heure : Canada (Toronto)".
# Their labels give the place alone: "Canada (Toronto) (UTC-05:00)".
PLACE_ONLY = {"fr"}


def _location(info: ZoneInfo, locale) -> str:
    """The zone's place in words, in the language's region format unless it reads badly."""
    location = get_timezone_location(info, locale=locale)
    if Locale.parse(locale).language not in PLACE_ONLY:
        return location
    before, _, after = Locale.parse(locale).zone_formats["region"].partition("%s")
    return location.removeprefix(before).removesuffix(after)


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
            label = f"{_location(info, locale)} ({get_timezone_gmt(moment.astimezone(info), locale=locale)})"
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
        gmt = get_timezone_gmt(utcnow().astimezone(info), locale=get_locale())
        choices.insert(0, (current, f"{_location(info, get_locale())} ({gmt})"))
    return choices
