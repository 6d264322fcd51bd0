"""Busy time from staff members' own calendars: ICS "secret addresses" fetched and expanded.

A staff member registers the secret ICS address of their Google, Outlook or Apple calendar.
`frontdesk worker calendars` fetches each one every FETCH_INTERVAL (timeouts, a size limit,
If-None-Match with the last ETag), expands recurrences with recurring-ical-events (RRULE in
the event's own zone across DST changes, EXDATE, overridden instances) and replaces that
calendar's busy blocks (source "calendar:<id>") in one transaction; the slot search then
skips those times. A calendar that cannot be fetched or read keeps its last good blocks and
records the error on the calendar: it never blocks booking and never stops the worker.

The URL is a secret (whoever has it reads the calendar): the API shows only its host and
nothing here logs it.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import httpx
import recurring_ical_events
import sqlalchemy as sa
import x_wr_timezone
from icalendar import Calendar
from sqlalchemy.orm import Session

from services.booking.errors import CalendarNotFound
from services.booking.models import MAX_HORIZON_DAYS, BusyBlock, ExternalCalendar, Staff
from shared import outbound
from shared.db import Database, utcnow
from shared.errors import ValidationFailed

log = logging.getLogger("frontdesk.booking.calendars")

FETCH_INTERVAL = timedelta(minutes=15)
LEASE = timedelta(minutes=2)  # a fetch that takes longer is retried by another worker
REEXPAND_AFTER = timedelta(hours=12)  # past this, fetch the whole body even if unchanged
CONNECT_TIMEOUT, READ_TIMEOUT, TOTAL_SECONDS = 5.0, 15.0, 30.0
MAX_ICS_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
BUSY_PAST = timedelta(days=1)
# How far ahead recurrences are expanded: past the longest booking horizon, by a slot of up
# to a day and its buffers, and by the time an unchanged calendar keeps its last expansion.
BUSY_AHEAD = timedelta(days=MAX_HORIZON_DAYS + 2)
MAX_BLOCKS = 10_000
MAX_CALENDARS_PER_STAFF = 10
IDLE_SECONDS = 5.0


class FetchFailed(Exception):
    """The calendar could not be fetched or read; the message is safe to show (no URL)."""


@dataclass(frozen=True)
class Fetched:
    """A fetch's result: the body and its ETag, or not modified (body None)."""

    body: bytes | None
    etag: str | None


Interval = tuple[datetime, datetime]


def source_of(calendar_id: int) -> str:
    """The busy blocks' `source` for one external calendar."""
    return f"calendar:{calendar_id}"


# --- validation --------------------------------------------------------------------------------


def url_problem(url: str, *, allow_private: bool, public_url: str) -> str | None:
    """Why a calendar URL is refused (not http(s), a loopback/private host, our own feed)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "Not a valid address."
    if parts.scheme not in ("https", "http") or not host:
        return "Give an http:// or https:// address (webcal:// works too)."
    if parts.username or parts.password:
        return "Addresses with a user name or password are not supported."
    own_feeds = public_url.rstrip("/") + "/booking/feeds/"
    if url.startswith(own_feeds):
        return "This is a Frontdesk feed itself; add your other calendars here."
    return outbound.refusal(url, allow_private=allow_private)


def normalize_url(url: str) -> str:
    """webcal:// (what calendar apps hand out) is https://."""
    url = url.strip()
    if url.lower().startswith("webcal://"):
        return "https://" + url[len("webcal://") :]
    return url


# --- the API's operations ----------------------------------------------------------------------


def list_calendars(*, session: Session, staff: Staff) -> list[ExternalCalendar]:
    """A staff member's external calendars, oldest first."""
    return list(
        session.scalars(
            sa.select(ExternalCalendar)
            .where(ExternalCalendar.staff_id == staff.id)
            .order_by(ExternalCalendar.id)
        )
    )


def add_calendar(
    *,
    session: Session,
    staff: Staff,
    url: str,
    name: str = "",
    allow_private: bool,
    public_url: str,
    now: datetime | None = None,
) -> ExternalCalendar:
    """Register an ICS address as busy time; it is fetched on the worker's next round."""
    url = normalize_url(url)
    if problem := url_problem(url, allow_private=allow_private, public_url=public_url):
        raise ValidationFailed(problem, errors={"url": [problem]})
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(ExternalCalendar)
        .where(ExternalCalendar.staff_id == staff.id)
    )
    if count >= MAX_CALENDARS_PER_STAFF:
        message = f"At most {MAX_CALENDARS_PER_STAFF} calendars per staff member."
        raise ValidationFailed(message, errors={"url": [message]})
    calendar = ExternalCalendar(
        staff_id=staff.id, url=url, name=name, next_fetch_at=now or utcnow()
    )
    session.add(calendar)
    session.flush()
    return calendar


def get_calendar(*, session: Session, staff: Staff, calendar_id: int) -> ExternalCalendar:
    """One of the staff member's calendars (404 for anyone else's)."""
    calendar = session.get(ExternalCalendar, calendar_id)
    if calendar is None or calendar.staff_id != staff.id:
        raise CalendarNotFound("No such calendar.")
    return calendar


def delete_calendar(*, session: Session, staff: Staff, calendar_id: int) -> None:
    """Forget a calendar and the busy time it brought."""
    calendar = get_calendar(session=session, staff=staff, calendar_id=calendar_id)
    session.execute(sa.delete(BusyBlock).where(BusyBlock.source == source_of(calendar.id)))
    session.delete(calendar)
    session.flush()


# --- fetching ----------------------------------------------------------------------------------


def _pin(url: str, allow_private: bool) -> outbound.Target:
    """The request target, pinned to a vetted public address of the host (unless allowed)."""
    try:
        return outbound.pin(url, allow_private=allow_private)
    except (outbound.Unresolvable, outbound.RefusedAddress) as exc:
        raise FetchFailed(outbound.REFUSED) from exc


def fetch(
    url: str,
    *,
    etag: str | None,
    allow_private: bool,
    max_bytes: int = MAX_ICS_BYTES,
) -> Fetched:
    """GET the calendar with timeouts, a size limit and If-None-Match; raise FetchFailed."""
    deadline = clock.monotonic() + TOTAL_SECONDS
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Frontdesk calendar fetcher"}
    if etag:
        headers["If-None-Match"] = etag
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                if url_problem(url, allow_private=allow_private, public_url=""):
                    raise FetchFailed(outbound.REFUSED)
                target = _pin(url, allow_private)
                with client.stream(
                    "GET",
                    target.url,
                    headers={**headers, **target.headers},
                    extensions=target.extensions,
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code == 304:
                        return Fetched(None, etag)
                    if response.status_code != 200:
                        raise FetchFailed(f"The calendar answered HTTP {response.status_code}.")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchFailed(_too_big(max_bytes))
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchFailed(_too_big(max_bytes))
                        if clock.monotonic() > deadline:
                            raise FetchFailed("The calendar took too long to download.")
                        chunks.append(chunk)
                    return Fetched(b"".join(chunks), response.headers.get("etag"))
            raise FetchFailed("Too many redirects.")
    except httpx.TimeoutException as exc:
        raise FetchFailed("The calendar did not answer in time.") from exc
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        # The exception's text may hold the URL (a secret): only its kind is kept.
        raise FetchFailed(f"The calendar could not be reached ({type(exc).__name__}).") from exc


def _too_big(max_bytes: int) -> str:
    return f"The calendar is larger than {max_bytes // (1024 * 1024)} MB; it was not read."


# --- expanding ---------------------------------------------------------------------------------


def _moment(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An event time as UTC: dates and floating times are the staff member's local time."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _is_free(event) -> bool:
    """Events that do not make the person busy: cancelled, transparent, marked free."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return True
    if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return True
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() == "FREE"


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def busy_intervals(body: bytes, *, zone: ZoneInfo, start: datetime, end: datetime):
    """The busy intervals (UTC, merged) of an ICS body in [start, end); raise FetchFailed."""
    try:
        calendar = Calendar.from_ical(body)
        if calendar.name != "VCALENDAR":
            raise ValueError("not a VCALENDAR")
        calendar = x_wr_timezone.to_standard(calendar)
        occurrences = recurring_ical_events.of(calendar).between(start, end)
        intervals = []
        for event in occurrences:
            if event.name != "VEVENT" or _is_free(event):
                continue
            first = _moment(event.start, zone)
            last = _moment(event.end, zone)
            if last > first:
                intervals.append((max(first, start), min(last, end)))
    except FetchFailed:
        raise
    except Exception as exc:  # a malformed file fails in many ways; none may stop the worker
        raise FetchFailed(f"Not a readable iCalendar file ({type(exc).__name__}).") from exc
    merged = _merge(i for i in intervals if i[1] > i[0])
    if len(merged) > MAX_BLOCKS:
        raise FetchFailed(
            f"The calendar has more than {MAX_BLOCKS} busy times in the next {BUSY_AHEAD.days} days."
        )
    return merged


# --- the worker --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    id: int
    url: str
    etag: str | None
    expanded_at: datetime | None
    time_zone: str


def _claim(database: Database, now: datetime, limit: int) -> list[_Claim]:
    """Lease the calendars that are due (other workers skip them until the lease ends)."""
    with database.transaction() as session:
        rows = session.execute(
            sa.select(ExternalCalendar, Staff.time_zone)
            .join(Staff, Staff.id == ExternalCalendar.staff_id)
            .where(ExternalCalendar.next_fetch_at <= now)
            .order_by(ExternalCalendar.next_fetch_at, ExternalCalendar.id)
            .limit(limit)
            .with_for_update(of=ExternalCalendar, skip_locked=True)
        ).all()
        claims = []
        for calendar, zone in rows:
            calendar.next_fetch_at = now + LEASE
            claims.append(
                _Claim(calendar.id, calendar.url, calendar.etag, calendar.expanded_at, zone)
            )
    return claims


def refresh(database: Database, settings: Mapping[str, Any], claim: _Claim, now: datetime) -> bool:
    """Fetch one claimed calendar and store its busy blocks or its error; True when it worked."""
    stale = claim.expanded_at is None or now - claim.expanded_at > REEXPAND_AFTER
    start, end = now - BUSY_PAST, now + BUSY_AHEAD
    error, intervals, fetched = None, None, None
    try:
        fetched = fetch(
            claim.url,
            etag=None if stale else claim.etag,
            allow_private=settings["ALLOW_PRIVATE_WEBHOOKS"],
        )
        if fetched.body is not None:
            intervals = busy_intervals(
                fetched.body, zone=ZoneInfo(claim.time_zone), start=start, end=end
            )
    except FetchFailed as exc:
        error = str(exc)
    with database.transaction() as session:
        calendar = session.get(ExternalCalendar, claim.id)
        if calendar is None:  # deleted while it was being fetched
            return False
        calendar.last_fetched_at = now
        calendar.next_fetch_at = now + FETCH_INTERVAL
        if error is not None:
            calendar.last_error = error[:500]
            log.warning(
                "external calendar not refreshed", extra={"calendar_id": claim.id, "error": error}
            )
            return False
        calendar.last_error = None
        calendar.last_ok_at = now
        if intervals is not None:
            session.execute(sa.delete(BusyBlock).where(BusyBlock.source == source_of(claim.id)))
            session.add_all(
                BusyBlock(
                    staff_id=calendar.staff_id,
                    start=first,
                    end=last,
                    source=source_of(claim.id),
                    created_at=now,
                )
                for first, last in intervals
            )
            calendar.etag = fetched.etag[:500] if fetched.etag else None
            calendar.expanded_at = now
            calendar.busy_count = len(intervals)
    return True


def refresh_step(
    database: Database,
    clients: Any,
    settings: Mapping[str, Any],
    *,
    now: datetime | None = None,
    limit: int = 20,
) -> int:
    """The step of `frontdesk worker calendars`: refresh what is due, return how many.

    `now` lets tests move the clock (and the expansion window) forward.
    """
    now = now or utcnow()
    claims = _claim(database, now, limit)
    for claim in claims:
        refresh(database, settings, claim, now)
    return len(claims)
