"""Private iCal feeds: a staff member's appointments (or the whole team's) for their calendar app.

A feed URL carries a secret token; only its SHA-256 is stored, and rotating it makes the old URL
a 404 like any unknown one. Calendar apps poll feeds, so revalidation must be cheap: the ETag
and Last-Modified come from one small query (the staff member's FeedVersion, plus the staff
and service rows' last change and the day that anchors the window), and a matching
If-None-Match or If-Modified-Since is answered 304 without loading a single appointment.
services.booking.versions moves the FeedVersion forward in the same transaction as any change
to one of the staff member's appointments (cancellations, erasures and deletions included), so
no write path can forget it. The same validator always means the same bytes: DTSTAMP is each
appointment's last change, never "now".

By default a feed names no client (initials only, no email, phone or notes): feeds end up on
phones and in shared calendars. FRONTDESK_FEED_FULL_DETAILS opts into names and contacts.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from icalendar import Event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, noload
from werkzeug.http import parse_etags

from services.booking import ical
from services.booking.caches import Caches, Locked
from services.booking.errors import FeedNotFound
from services.booking.models import (
    MAX_HORIZON_DAYS,
    Appointment,
    FeedToken,
    FeedVersion,
    Service,
    Staff,
)
from shared.auth import hash_token, new_token
from shared.db import Database, utcnow

PAST_DAYS = 60  # appointments that started up to this long ago stay in the feed
# Every appointment was booked at most MAX_HORIZON_DAYS ahead of a moment no earlier than the
# window's anchor day, so none can be beyond this (however services' horizons change later).
FUTURE_DAYS = MAX_HORIZON_DAYS + 1
CANCELLED_VISIBLE_DAYS = 30  # a cancellation stays (STATUS:CANCELLED) so clients drop the event
MAX_FEED_BYTES = 1_000_000  # Google Calendar drops subscribed feeds over about 1 MB
HEADER_SLACK = 4096  # VTIMEZONEs grow with the span of the dates they cover
BATCH = 200  # appointments loaded per query while a feed is built
STATES_BATCH = 25 * BATCH  # appointments whose events are looked up in the cache per query
REFRESH = timedelta(hours=1)  # REFRESH-INTERVAL / X-PUBLISHED-TTL (Google ignores both)
CACHE_CONTROL = "private, max-age=300"
STAFF_PREFIX, TEAM_PREFIX = "fdf", "fdt"
FORMAT = "3"  # part of every ETag: bump when the feed's layout changes
_TOKEN = re.compile(r"fd[ft]_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class FeedSettings:
    """The organization settings a feed's contents depend on."""

    full_details: bool
    org_name: str
    # Every event links to its appointment's page in the console, under this base URL.
    public_url: str


@dataclass(frozen=True)
class Feed:
    """A feed found by its token, with its validators (no appointment loaded yet)."""

    staff_id: int | None  # None: the team feed
    name: str
    etag: str
    last_modified: datetime
    anchor: date  # the day the window is counted from


@dataclass(frozen=True)
class FeedResponse:
    """What to answer: 200 with the body, or 304 (body None), and the caching headers."""

    body: bytes | None
    etag: str
    last_modified: datetime

    @property
    def status(self) -> int:
        return 304 if self.body is None else 200


# --- tokens ------------------------------------------------------------------------------------


def _owner(staff: Staff | None) -> str:
    return f"staff:{staff.id}" if staff is not None else "team"


def issue_token(*, session: Session, staff: Staff | None, now: datetime | None = None) -> str:
    """Create or rotate the feed token of a staff member (or of the team, `staff=None`).

    Returns the token itself, which is never stored: the previous URL stops working at once.
    """
    owner = _owner(staff)
    token = new_token(STAFF_PREFIX if staff is not None else TEAM_PREFIX)
    row = session.scalar(sa.select(FeedToken).where(FeedToken.owner == owner).with_for_update())
    if row is None:
        row = FeedToken(owner=owner, staff_id=staff.id if staff is not None else None)
        session.add(row)
    row.token_hash = hash_token(token)
    row.created_at = now or utcnow()
    session.flush()
    return token


def revoke_token(*, session: Session, staff: Staff | None) -> None:
    """Remove the feed token of a staff member (or of the team): the URL answers 404."""
    row = session.scalar(sa.select(FeedToken).where(FeedToken.owner == _owner(staff)))
    if row is None:
        raise FeedNotFound("There is no feed to revoke.")
    session.delete(row)
    session.flush()


def feed_urls(public_url: str, token: str) -> dict[str, str]:
    """The https:// (or the configured scheme's) and webcal:// URLs of a feed token."""
    team = "team/" if token.startswith(TEAM_PREFIX + "_") else ""
    url = f"{public_url.rstrip('/')}/booking/feeds/{team}{token}.ics"
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


# --- finding a feed and revalidating -----------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _validator(parts: Sequence[object]) -> str:
    return '"' + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40] + '"'


@functools.cache
def _team_validators() -> sa.Select:
    """The team feed's validators by token hash (built once: revalidation is the hot path)."""
    return sa.select(
        sa.literal(None).label("staff_id"),
        sa.literal("team").label("name"),
        sa.select(sa.func.coalesce(sa.func.sum(FeedVersion.version), 0)).scalar_subquery(),
        sa.select(sa.func.max(FeedVersion.changed_at)).scalar_subquery(),
        sa.select(sa.func.max(Staff.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Service.updated_at)).scalar_subquery(),
    ).where(FeedToken.token_hash == sa.bindparam("token_hash"), FeedToken.owner == "team")


@functools.cache
def _staff_validators() -> sa.Select:
    """A staff feed's validators by token hash (built once: revalidation is the hot path)."""
    return (
        sa.select(
            Staff.id,
            Staff.name,
            FeedVersion.version,
            FeedVersion.changed_at,
            Staff.updated_at,
            sa.select(sa.func.max(Service.updated_at)).scalar_subquery(),
        )
        .select_from(FeedToken)
        .join(Staff, Staff.id == FeedToken.staff_id)
        .outerjoin(FeedVersion, FeedVersion.staff_id == FeedToken.staff_id)
        .where(FeedToken.token_hash == sa.bindparam("token_hash"))
    )


def find_feed(
    *,
    session: Session | sa.Connection,
    token: str,
    team: bool,
    settings: FeedSettings,
    today: date,
):
    """The feed of a token and its ETag / Last-Modified, from one query; 404 when unknown."""
    prefix = TEAM_PREFIX if team else STAFF_PREFIX
    if not _TOKEN.fullmatch(token) or not token.startswith(prefix + "_"):
        raise FeedNotFound("No such feed.")
    query = _team_validators() if team else _staff_validators()
    row = session.execute(query, {"token_hash": hash_token(token)}).one_or_none()
    if row is None:
        raise FeedNotFound("No such feed.")
    staff_id, name, version, changed, staff_changed, services_changed_at = row
    moments = [m for m in (changed, staff_changed, services_changed_at) if m is not None]
    last_modified = max([*moments, _day_start(today)]).replace(microsecond=0)
    etag = _validator(
        [
            FORMAT,
            "team" if team else f"staff:{staff_id}",
            version or 0,
            *(m.isoformat() if m else "-" for m in (changed, staff_changed, services_changed_at)),
            today.isoformat(),
            "full" if settings.full_details else "private",
            settings.org_name,
            settings.public_url,
        ]
    )
    title = f"{settings.org_name}: {'team' if team else name}"
    return Feed(staff_id=staff_id, name=title, etag=etag, last_modified=last_modified, anchor=today)


def not_modified(
    feed: Feed, *, if_none_match: str | None, if_modified_since: datetime | None
) -> bool:
    """True when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    if if_none_match:
        return parse_etags(if_none_match).contains_weak(feed.etag.strip('"'))
    return if_modified_since is not None and feed.last_modified <= if_modified_since


# --- building ----------------------------------------------------------------------------------


def initials(name: str) -> str:
    """ "Ana Souza" -> "A. S.": enough for staff to recognise a client, not to identify one."""
    parts = [part for part in re.split(r"[\s\-]+", name.strip()) if part]
    return " ".join(f"{part[0].upper()}." for part in parts[:3]) or "?"


def console_page(appointment: Appointment, settings: FeedSettings) -> str:
    """The appointment's page in the staff console (the client's number, the actions)."""
    return f"{settings.public_url.rstrip('/')}/console/appointments/{appointment.id}"


def _notes(
    appointment: Appointment, settings: FeedSettings, gettext: Callable[[str], str]
) -> list[str]:
    """The feed's own DESCRIPTION lines: who the client is (as much as allowed), their needs,
    and the appointment's console page."""
    if settings.full_details:
        contacts = [appointment.client_email, appointment.client_phone]
        who = f"{appointment.client_name} ({', '.join(c for c in contacts if c)})"
    else:
        who = initials(appointment.client_name)
    lines = [gettext("Client: %(who)s") % {"who": who}]
    needs = []
    if appointment.accommodation_captions:
        needs.append(gettext("captions"))
    if appointment.accommodation_interpreter_language:
        needs.append(
            gettext("interpreter (%(language)s)")
            % {"language": appointment.accommodation_interpreter_language}
        )
    if settings.full_details and appointment.accommodation_other:
        needs.append(appointment.accommodation_other)
    if needs:
        lines.append(gettext("Accommodations: %(needs)s") % {"needs": "; ".join(needs)})
    if settings.full_details and appointment.client_notes:
        lines.append(
            gettext("Notes from the client: %(notes)s") % {"notes": appointment.client_notes}
        )
    lines.append(gettext("In the console: %(url)s") % {"url": console_page(appointment, settings)})
    return lines


def feed_event(appointment: Appointment, *, settings: FeedSettings, team: bool) -> Event:
    """One appointment as a feed VEVENT: same UID and SEQUENCE as the client's invite."""
    # A staff member's own feed speaks their language; the team feed the default one.
    locale = None if team else appointment.staff.language
    gettext = ical.translator(locale)
    who = (
        appointment.client_name
        if settings.full_details
        else gettext("Client: %(who)s") % {"who": initials(appointment.client_name)}
    )
    parts = [
        appointment.service.text_in(locale or "").name,
        gettext(ical.MODE_LABELS[appointment.mode]),
        who,
    ]
    if team:
        parts.append(appointment.staff.name)
    summary = " · ".join(parts)
    cancelled = appointment.status == "cancelled"
    event = ical.appointment_event(
        appointment,
        tz=appointment.staff.time_zone,
        locale=locale,
        summary=gettext("Cancelled: %(summary)s") % {"summary": summary} if cancelled else summary,
        client_details=settings.full_details,
        notes=_notes(appointment, settings, gettext),
        staff_page=console_page(appointment, settings),
    )
    if cancelled:  # a cancelled slot no longer blocks the calendar's free/busy
        event.pop("TRANSP")
        event.add("transp", "TRANSPARENT")
    return event


def _window_query(feed: Feed) -> sa.Select:
    """(id, start, end) of the appointments in the feed's window."""
    start = _day_start(feed.anchor)
    query = sa.select(Appointment.id, Appointment.start, Appointment.end).where(
        Appointment.end > start - timedelta(days=PAST_DAYS),
        Appointment.start < start + timedelta(days=FUTURE_DAYS),
        sa.or_(
            Appointment.status != "cancelled",
            Appointment.updated_at >= start - timedelta(days=CANCELLED_VISIBLE_DAYS),
        ),
    )
    if feed.staff_id is not None:
        query = query.where(Appointment.staff_id == feed.staff_id)
    return query


def _nearest_first(rows: Sequence[sa.Row], anchor: datetime) -> list[int]:
    """Appointment ids by how much they matter: upcoming soonest first, then past most recent."""
    ranked = sorted(
        rows,
        key=lambda r: (
            (0, r.start - anchor, r.id) if r.end > anchor else (1, anchor - r.start, r.id)
        ),
    )
    return [r.id for r in ranked]


def _serialize(feed: Feed, zone_dates: list[tuple[str, date]], chunks: list[bytes]) -> bytes:
    """The VCALENDAR of VEVENTs serialized as `chunks`, whose times use `zone_dates`."""
    calendar = ical.wrap_calendar(
        [], method="PUBLISH", name=feed.name, refresh=REFRESH, zone_dates=zone_dates
    )
    head = calendar.to_ical().removesuffix(b"END:VCALENDAR\r\n")
    return head + b"".join(chunks) + b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class BuiltEvent:
    """One appointment's feed VEVENT, serialized, and the (zone, date) pairs of its times."""

    start: datetime
    id: int
    chunk: bytes
    zone_dates: tuple[tuple[str, date], ...]


_COLUMN_GETTERS: dict[type, Callable[[Any], tuple]] = {}


def _columns(row: Any) -> tuple:
    """The values of a mapped row's columns (one attrgetter per class, made once)."""
    getter = _COLUMN_GETTERS.get(type(row))
    if getter is None:
        keys = [column.key for column in sa.inspect(type(row)).column_attrs]
        getter = _COLUMN_GETTERS[type(row)] = operator.attrgetter(*keys)
    return getter(row)


def event_key(state: object, *, around: bytes) -> bytes:
    """The event cache's key of an event from its appointment's state (its column values in
    `_columns` order, or its id and row hash) and `around`, event_around's answer. A change to
    anything the event is built from is another key, so an entry cannot go stale; a feed rebuilt
    after one booking builds that one event again instead of all of them."""
    return hashlib.blake2b(around + repr(state).encode(), digest_size=20).digest()


def event_around(*, service: tuple, staff: tuple, settings: FeedSettings, team: bool) -> bytes:
    """What an event is built from besides its appointment (the column values of its service
    and staff member, the settings, staff or team feed): the same for a feed's events of one
    service and staff member, so a build works it out once per pair (a digest: every key
    hashes it)."""
    state = repr((settings, team, service, staff)).encode()
    return hashlib.blake2b(state, digest_size=20).digest()


@functools.cache
def _values_query(model: type) -> sa.Select:
    """The column values of `model` rows (in `_columns` order) by id, without ORM objects."""
    keys = [column.key for column in sa.inspect(model).column_attrs]
    return sa.select(*(getattr(model, key) for key in keys)).where(
        model.id.in_(sa.bindparam("ids", expanding=True))
    )


def _values(session: Session, model: type, ids: set[int]) -> dict[int, sa.Row]:
    """The column values of the `model` rows of `ids`, by id (missing ids left out)."""
    if not ids:
        return {}
    return {row.id: row for row in session.execute(_values_query(model), {"ids": ids})}


# What an appointment's event key is made of besides its service and staff member: every
# column. PostgreSQL (14 and later) hashes the whole row itself (64 bits from each column's own
# hash, a quarter of what md5 of its text costs there), so finding a feed's unchanged events
# reads one number an appointment instead of its columns; with the id beside it, a stale entry
# would take two versions of one appointment with the same hash. (Every column type needs a
# hash function there: a JSON column on appointments would have to be jsonb.)
_ROW_HASH = sa.func.hash_record_extended(sa.literal_column(Appointment.__tablename__), 0)
_PG_STATES = sa.select(
    Appointment.id, Appointment.service_id, Appointment.staff_id, _ROW_HASH
).where(Appointment.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer))))


def _hashes_rows(session: Session) -> bool:
    """True when the database hashes appointment rows itself (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def _states(session: Session, ids: list[int]) -> dict[int, tuple[int, int, object]]:
    """(service id, staff id, state) of the appointments of `ids`: the state is the id and
    the row's hash on PostgreSQL, its column values elsewhere (no ORM object either way)."""
    if _hashes_rows(session):  # one array parameter: no statement to render per batch
        rows = session.execute(_PG_STATES, {"ids": ids})
        return {row[0]: (row[1], row[2], (row[0], row[3])) for row in rows}
    rows = _values(session, Appointment, set(ids))
    return {key: (row.service_id, row.staff_id, tuple(row)) for key, row in rows.items()}


class _Arounds(dict[tuple[int, int], bytes]):
    """event_around of each (service id, staff id) pair, for one build."""

    def __init__(self, settings: FeedSettings, team: bool) -> None:
        super().__init__()
        self.settings, self.team = settings, team

    def of_objects(self, appointment: Appointment) -> bytes:
        """The pair's around from a loaded appointment's service and staff member."""
        pair = (appointment.service_id, appointment.staff_id)
        if pair not in self:
            self[pair] = event_around(
                service=_columns(appointment.service),
                staff=_columns(appointment.staff),
                settings=self.settings,
                team=self.team,
            )
        return self[pair]

    def read(self, session: Session, pairs: set[tuple[int, int]]) -> None:
        """Work out the arounds of `pairs` not known yet from their rows' column values."""
        pairs = {pair for pair in pairs if pair not in self}
        if not pairs:
            return
        services = _values(session, Service, {service for service, _ in pairs})
        staff = _values(session, Staff, {member for _, member in pairs})
        for service_id, staff_id in pairs:
            if service_id in services and staff_id in staff:  # else deleted meanwhile
                self[service_id, staff_id] = event_around(
                    service=tuple(services[service_id]),
                    staff=tuple(staff[staff_id]),
                    settings=self.settings,
                    team=self.team,
                )


def _kept(
    session: Session, batch: list[int], *, arounds: _Arounds, events: Locked
) -> dict[int, BuiltEvent]:
    """The events of `batch` built before from the same data, by appointment id.

    Their keys come from the rows' states (one query, no ORM object; the services and staff
    once per build), so finding the unchanged events of a feed costs far less than building
    even one of them.
    """
    states = _states(session, batch)
    arounds.read(session, {(service, member) for service, member, _ in states.values()})
    kept = {}
    for appointment_id, (service_id, staff_id, state) in states.items():
        around = arounds.get((service_id, staff_id))
        built = None if around is None else events.get(event_key(state, around=around))
        if built is not None:
            kept[appointment_id] = built
    return kept


def _built(
    session: Session,
    ids: list[int],
    *,
    settings: FeedSettings,
    team: bool,
    events: Locked | None,
):
    """The BuiltEvent of each of `ids`, in that order, a batch at a time.

    With `events`, only the appointments whose event is not there (new, or changed since it was
    built) are loaded and built: a rebuild after a change costs what changed.
    """
    read, loaded_arounds = _Arounds(settings, team), _Arounds(settings, team)
    kept: dict[int, BuiltEvent] = {}
    for first in range(0, len(ids), BATCH):
        batch = ids[first : first + BATCH]
        if events is not None and first % STATES_BATCH == 0:  # one round trip for many
            chunk = ids[first : first + STATES_BATCH]
            kept = _kept(session, chunk, arounds=read, events=events)
        loaded = _appointments(session, [i for i in batch if i not in kept])
        for appointment_id in batch:
            built = kept.get(appointment_id)
            if built is None:
                if appointment_id not in loaded:
                    continue  # deleted since the window was read
                appointment, state = loaded[appointment_id]
                built = _build_event(appointment, settings=settings, team=team)
                if events is not None:  # keyed by the data just built from
                    around = loaded_arounds.of_objects(appointment)
                    events.put(event_key(state, around=around), built)
            yield built


def _appointments(session: Session, ids: list[int]) -> dict[int, tuple[Appointment, object]]:
    """The appointments of `ids` with their service and staff member, and their states (as
    `_states` makes them, from the same statement), by id."""
    if not ids:
        return {}
    query = (
        sa.select(Appointment).options(noload(Appointment.consents)).where(Appointment.id.in_(ids))
    )
    if _hashes_rows(session):
        rows = session.execute(query.add_columns(_ROW_HASH)).unique()
        return {a.id: (a, (a.id, row_hash)) for a, row_hash in rows}
    return {a.id: (a, _columns(a)) for a in session.scalars(query).unique()}


def _build_event(appointment: Appointment, *, settings: FeedSettings, team: bool) -> BuiltEvent:
    """The appointment's feed VEVENT, serialized, with the (zone, date) pairs of its times."""
    event = feed_event(appointment, settings=settings, team=team)
    return BuiltEvent(
        appointment.start, appointment.id, event.to_ical(), tuple(ical.event_dates(event))
    )


def build_feed(
    *, session: Session, feed: Feed, settings: FeedSettings, events: Locked | None = None
) -> bytes:
    """The feed's VCALENDAR: its window's appointments, cut to stay under MAX_FEED_BYTES.

    When the window holds too much, the nearest appointments are kept: upcoming ones first
    (soonest first), then past ones (most recent first). Appointments are loaded and built in
    that order, a batch at a time, only until the feed is full; with `events`, an event built
    before from the same data is not built again.
    """
    ids = _nearest_first(session.execute(_window_query(feed)).all(), _day_start(feed.anchor))
    kept: list[BuiltEvent] = []  # nearest first
    used = 0
    for built in _built(session, ids, settings=settings, team=feed.staff_id is None, events=events):
        if not kept:  # the calendar's own lines and a time zone, with room to grow
            used = len(_serialize(feed, list(built.zone_dates), [])) + HEADER_SLACK
        used += len(built.chunk)
        if used > MAX_FEED_BYTES:
            break
        kept.append(built)
    while True:
        chosen = sorted(kept, key=lambda item: (item.start, item.id))
        # Each (zone, date) once: events share days, and only each zone's span counts.
        zone_dates = sorted(set(itertools.chain.from_iterable(c.zone_dates for c in chosen)))
        body = _serialize(feed, zone_dates, [item.chunk for item in chosen])
        if len(body) <= MAX_FEED_BYTES or not kept:
            return body
        kept = kept[: len(kept) * 99 // 100]  # more time zones than the slack: drop the farthest


def get_feed(
    *,
    database: Database,
    token: str,
    team: bool,
    settings: FeedSettings,
    caches: Caches,
    if_none_match: str | None = None,
    if_modified_since: datetime | None = None,
    now: datetime | None = None,
) -> FeedResponse:
    """Answer a feed request: 304 from the validators alone, else the (cached) body.

    The validators are one statement outside any transaction (Database.reader: one round trip
    on PostgreSQL), so a 304 or a cached body costs that query alone. A body built here comes
    from its own read transaction; an ETag read just before it can only be older than the
    data, so a stale cache entry is never stored under a newer ETag.
    """
    today = (now or utcnow()).date()

    with database.reader() as connection:
        feed = find_feed(session=connection, token=token, team=team, settings=settings, today=today)
    if not_modified(feed, if_none_match=if_none_match, if_modified_since=if_modified_since):
        return FeedResponse(None, feed.etag, feed.last_modified)
    body = caches.feeds.get(feed.etag)
    if body is None:
        with database.transaction() as session:
            body = build_feed(session=session, feed=feed, settings=settings, events=caches.events)
        caches.feeds.put(feed.etag, body)
    return FeedResponse(body, feed.etag, feed.last_modified)
