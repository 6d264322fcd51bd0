"""Step 2 of the booking pages, the slot picker: days with free times, a day's slots by part
of the day, the nearest free times when the chosen one was just taken."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from babel.dates import format_date
from flask import current_app
from flask_babel import get_locale
from sqlalchemy.orm import Session

from services.booking.models import Service
from services.booking.operations import availability
from shared.fields import Day, UTCDateTime
from shared.pages import N_
from shared.timestamps import utc_iso

DAYS_SHOWN = 7  # days with free times offered at once
SEARCH_DAYS = 14  # calendar days searched to find them (two working weeks)
NEAREST = 6  # slots offered when the chosen one was just taken


def day_of(value: str | None) -> date | None:
    """A day from the query, as the API reads one (shared.fields.Day), or None."""
    return _field_or_none(Day(), value)


def start_of(value: str | None) -> datetime | None:
    """A slot start from the query or the form, as the API reads one (shared.fields.UTCDateTime:
    ISO 8601 with an offset or 'Z', in UTC), or None."""
    return _field_or_none(UTCDateTime(), value)


def _field_or_none(reader: ma.fields.Field, value: str | None) -> Any:
    if not value or len(value) > 40:
        return None
    try:
        return reader.deserialize(value)
    except ma.ValidationError:
        return None


iso = utc_iso  # slot values carry UTC ISO 8601 with 'Z'


def local_date(moment: datetime, tz: str) -> str:
    """The ISO date of a moment in a time zone (for the `day=` query)."""
    return moment.astimezone(ZoneInfo(tz)).date().isoformat()


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


def is_free(session: Session, service: Service, tz: str, start: datetime, now: datetime) -> bool:
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


@dataclass
class Month:
    """A month as a calendar grid (weeks from Monday; None pads the first and last weeks), its
    days with free times, and the months before and after it within the booking horizon."""

    first: date
    weeks: list[list[date | None]]
    free: set[date]
    earlier: date | None = None
    later: date | None = None


def month_of(value: str | None) -> date | None:
    """The first day of a 'YYYY-MM' month from the query, or None."""
    day = day_of(f"{value}-01") if value and len(value) == 7 else None
    return day


def build_month(
    *, session: Session, service: Service, tz: str, month: date | None, now: datetime
) -> Month:
    """The calendar of `month` (the current one by default) with its days with free times."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    last = (now + timedelta(days=service.horizon_days)).astimezone(zone).date()
    first = (month or today).replace(day=1)
    if not today.replace(day=1) <= first <= last:
        first = today.replace(day=1)
    following = (first + timedelta(days=31)).replace(day=1)
    start, stop = max(first, today), min(following - timedelta(days=1), last)
    found = availability.search_slots(
        session=session,
        service=service,
        start_date=start,
        end_date=stop,
        tz=tz,
        now=now,
        cache=current_app.extensions["booking_caches"].slots,
    )
    days = [None] * first.weekday()
    days += [first + timedelta(days=n) for n in range((following - first).days)]
    days += [None] * (-len(days) % 7)
    return Month(
        first=first,
        weeks=[days[i : i + 7] for i in range(0, len(days), 7)],
        free=set(_by_day(found, zone)),
        earlier=(first - timedelta(days=1)).replace(day=1) if first > today else None,
        later=following if following <= last else None,
    )


def month_title(month: date) -> str:
    """'December 2026' in the page's language."""
    return format_date(month, format="LLLL y", locale=get_locale())


def weekday_names() -> list[tuple[str, str]]:
    """(short, full) weekday names from Monday, in the page's language."""
    monday = date(2024, 1, 1)
    return [
        (
            format_date(monday + timedelta(days=n), format="EEE", locale=get_locale()),
            format_date(monday + timedelta(days=n), format="EEEE", locale=get_locale()),
        )
        for n in range(7)
    ]


def long_day(day: date) -> str:
    """'Tuesday 8 December 2026' in the page's language."""
    return format_date(day, format="full", locale=get_locale())
