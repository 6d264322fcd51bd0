"""Feeds: a staff member's iCal feed with 5,000 appointments, full GET and 304 revalidation.

One staff member with 5,000 appointments in PostgreSQL (13 a day from 50 days ago, a tenth
cancelled), served by the booking app under gunicorn (2 sync workers), driven by wrk:

- full GET of the feed (the body is cached per ETag in each worker after its first build; the
  feed is cut to stay under 1 MB, so it holds the nearest appointments, not all 5,000);
- revalidation with If-None-Match and with If-Modified-Since: 304 from the validators, one
  small query each time (nothing kept between requests but the bodies, by ETag);
- the cold build (query + VEVENTs + serialization), timed in-process;
- the rebuild after one change against the feed's size: feeds of 100, 1,000 and 5,000
  appointments (uncut), each built once, then one appointment changed and the feed built again
  with the events of the first build kept, as a worker does; against the cold build of the same
  feed (a rebuild should cost what changed, not what the feed holds).

Baselines in the same run: a Flask hello-world JSON endpoint under the same gunicorn settings,
the booking app's own /health (one SELECT 1: what a request with one query costs there),
and, when Radicale is installed, Radicale serving the same 5,000 events (the uncut calendar)
as one collection GET.

`python -m bench.feeds [--quick] [--rebuild]` (--rebuild: the rebuild-against-size rows alone)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.harness import ROOT, free_port, fresh_pg_database, gunicorn, in_turns, row, wrk

APPOINTMENTS = 5000
PER_DAY = 13
REBUILD_SIZES = (100, 1000, 5000)  # appointments in the feed (uncut) of the rebuild-vs-size rows
RADICALE_USER = ("bench", "bench")  # [auth] type = none takes any password; owner_only rights


def _seed(url: str, count: int = APPOINTMENTS) -> tuple[str, bytes]:
    """Migrate, add one staff member with `count` appointments; return (token, full ICS)."""
    from frontdesk import migrations
    from services.booking.app import create_app
    from services.booking.models import Appointment
    from services.booking.operations import catalog, feeds
    from shared import db

    migrations.upgrade("booking", url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})
    first_day = datetime.now(UTC).date() - timedelta(days=50)
    with db.get_db(app).transaction() as session:
        staff = catalog.create_staff(
            session=session,
            name="Amira Haddad",
            email="amira@bench.invalid",
            time_zone="America/Toronto",
            video_link_template="https://meet.example.org/amira",
            dial_in="+14165550100",
        )
        service = catalog.create_service(
            session=session,
            name="Settlement intake",
            slug="intake",
            duration_minutes=45,
            modes=["video", "phone"],
            staff_ids=[staff.id],
        )
        for n in range(count):
            day = first_day + timedelta(days=n // PER_DAY)
            start = datetime.combine(day, clock(7 + n % PER_DAY), tzinfo=UTC)
            end = start + timedelta(minutes=45)
            cancelled = n % 10 == 9
            session.add(
                Appointment(
                    uid=f"{uuid.uuid4()}@frontdesk",
                    service=service,
                    staff=staff,
                    start=start,
                    end=end,
                    blocked_start=start,
                    blocked_end=end,
                    status="cancelled" if cancelled else "confirmed",
                    mode="video" if n % 3 else "phone",
                    video_url="https://meet.example.org/amira" if n % 3 else None,
                    client_name=f"Client Number{n}",
                    client_email=f"client{n}@bench.invalid",
                    client_time_zone="America/Toronto",
                    backup_callback_number="+14165550123",
                    backup_use_dial_in=bool(n % 3),
                    accommodation_captions=n % 7 == 0,
                    sequence=1 if cancelled else 0,
                    created_at=start - timedelta(days=30),
                    updated_at=start - timedelta(days=20),
                )
            )
        session.flush()  # services.booking.versions moves the staff member's versions
        token = feeds.issue_token(session=session, staff=staff)
    with _uncut():  # the same 5,000 events, uncut, for Radicale
        full = _build_feed(app, token)
    return token, full


def _build_feed(app, token: str, events=None) -> bytes:
    """Find the staff feed by its token and build it, in-process (as the benchmark's feed)."""
    from services.booking.operations import feeds
    from shared import db

    settings = feeds.FeedSettings(
        full_details=False, org_name="Frontdesk", public_url="http://127.0.0.1:8000"
    )
    with db.get_db(app).transaction() as session:
        feed = feeds.find_feed(
            session=session,
            token=token,
            team=False,
            settings=settings,
            today=datetime.now(UTC).date(),
        )
        return feeds.build_feed(session=session, feed=feed, settings=settings, events=events)


def _build_ms(app, token: str, events=None) -> float:
    """Milliseconds to find the staff feed by its token and build it, in-process."""
    started = time.perf_counter()
    _build_feed(app, token, events)
    return (time.perf_counter() - started) * 1000


def _bench_app(url: str):
    from services.booking.app import create_app

    return create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})


def _cold_build_ms(url: str, token: str, repeats: int) -> float:
    """Median time to find and build the feed in-process (no cache)."""
    app = _bench_app(url)
    return statistics.median(_build_ms(app, token) for _ in range(repeats))


def _rebuild_ms(url: str, token: str, repeats: int) -> float:
    """Median time to find and build the feed again after one appointment changed, with the
    events built before kept (the booking app's event cache, services.booking.caches), as a
    worker does."""
    from services.booking.caches import make_caches
    from services.booking.models import Appointment
    from shared import db

    app = _bench_app(url)
    events = make_caches(slot_searches=0).events
    _build_ms(app, token, events)  # fills the events
    times = []
    for n in range(repeats):
        with db.get_db(app).transaction() as session:  # one appointment changes
            # The next one, or the last when all are past (the smoke run's fewer appointments):
            # in the feed either way, which keeps the nearest first.
            appointment = (
                session.scalars(
                    sa.select(Appointment)
                    .where(Appointment.start > datetime.now(UTC))
                    .order_by(Appointment.start)
                    .limit(1)
                ).first()
                or session.scalars(
                    sa.select(Appointment).order_by(Appointment.start.desc()).limit(1)
                ).one()
            )
            appointment.client_notes = f"Changed {n}"
            appointment.updated_at = datetime.now(UTC)
        times.append(_build_ms(app, token, events))
    return statistics.median(times)


@contextlib.contextmanager
def _uncut():
    """Feeds of any size: the 1 MB cut lifted (the same build, every appointment kept)."""
    from services.booking.operations import feeds

    limit, feeds.MAX_FEED_BYTES = feeds.MAX_FEED_BYTES, 1 << 40
    try:
        yield
    finally:
        feeds.MAX_FEED_BYTES = limit


def rebuild_rows(sizes: tuple[int, ...], repeats: int) -> list[dict]:
    """Rows: the feed built again after one change against its cold build, for each size."""
    rows = []
    for size in sizes:
        url = fresh_pg_database(f"bench_feeds_rebuild_{size}")
        token, _ = _seed(url, size)
        with _uncut():
            cold_ms = _cold_build_ms(url, token, repeats)
            rebuild_ms = _rebuild_ms(url, token, repeats)
        rows.append(
            row(
                f"feeds: the feed of {size} appointments (uncut) built again after one of them "
                "changed, vs its cold build",
                rebuild_ms,
                "ms",
                cold_ms,
                "<= 0.1x the cold build from 1,000 appointments (a change rebuilds what "
                "changed; below that, a few queries are most of either)",
                higher_is_better=False,
            )
        )
    return rows


def _sequential_ms(url: str, count: int, auth: tuple[str, str] | None = None) -> float:
    """Median latency of `count` GETs one after another (for slow, whole-calendar answers)."""
    times = []
    with httpx.Client(timeout=120, auth=auth) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(url)
            response.raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def _radicale(calendar: bytes):
    """Radicale on a free port with the calendar uploaded as one collection; yields its URL."""
    folder = Path(tempfile.mkdtemp(prefix="bench-radicale-"))
    port = free_port()
    config = folder / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n[rights]\ntype = owner_only\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n[logging]\nlevel = warning\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if process.poll() is not None:
                raise RuntimeError("Radicale did not start (see its configuration above)")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(base + "/", timeout=1)
                break
            time.sleep(0.1)
        collection = f"{base}/bench/feed/"
        upload = httpx.put(
            collection,
            content=calendar,
            headers={"Content-Type": "text/calendar"},
            auth=RADICALE_USER,
            timeout=600,
        )
        upload.raise_for_status()
        yield collection
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


def run(quick: bool) -> list[dict]:
    """Rows: full GET and 304 revalidation against hello world; Radicale as a second baseline."""
    seconds = 1 if quick else 4
    count = 500 if quick else APPOINTMENTS  # the smoke run: every step, a tenth of the data
    url = fresh_pg_database("bench_feeds")
    token, full_calendar = _seed(url, count)
    env = {"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"}
    path = f"/feeds/{token}.ics"
    with (
        gunicorn("bench.baselines:create_booking_app()", env=env, workers=2) as booking,
        gunicorn("bench.baselines:hello", workers=2) as hello_server,
    ):
        first = httpx.get(booking.url + path, timeout=120)
        first.raise_for_status()
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        events = first.content.count(b"BEGIN:VEVENT")
        for _ in range(4):  # every worker builds once, then serves its cached body
            httpx.get(booking.url + path, timeout=120).raise_for_status()
        # A second of each first, not counted: workers open connections and fill caches.
        wrk(hello_server.url + "/hello", seconds=1)
        wrk(booking.url + "/health", seconds=1)
        wrk(booking.url + path, seconds=1, headers={"If-None-Match": etag})
        measured = in_turns(
            {
                "hello": lambda: wrk(hello_server.url + "/hello", seconds=seconds),
                "health": lambda: wrk(booking.url + "/health", seconds=seconds),
                "full": lambda: wrk(booking.url + path, seconds=seconds),
                "by_etag": lambda: wrk(
                    booking.url + path, seconds=seconds, headers={"If-None-Match": etag}
                ),
                "by_date": lambda: wrk(
                    booking.url + path, seconds=seconds, headers={"If-Modified-Since": modified}
                ),
            },
            rounds=1 if quick else 3,
        )
        hello, health, full = measured["hello"], measured["health"], measured["full"]
        by_etag, by_date = measured["by_etag"], measured["by_date"]
        feed_single_ms = _sequential_ms(booking.url + path, 5 if quick else 20)
    cold_ms = _cold_build_ms(url, token, 1 if quick else 3)
    rebuild_ms = _rebuild_ms(url, token, 1 if quick else 3)
    size = len(first.content)
    rows = [
        row(
            f"feeds: staff feed full GET ({count} appointments in db, {events} events "
            f"in the {size // 1024} KiB feed, cached per ETag)",
            full.requests_per_s,
            "req/s",
            hello.requests_per_s,
            ">= 0.05x hello (a 1 MB body per request)",
            higher_is_better=True,
        ),
        row(
            "feeds: 304 revalidation, If-None-Match (one query: the validators; nothing built)",
            by_etag.requests_per_s,
            "req/s",
            hello.requests_per_s,
            "reference: >= 0.5x hello was the target while validators were kept between requests",
            higher_is_better=True,
        ),
        row(
            "feeds: 304 revalidation, If-None-Match, p50 latency vs the booking app's own /health "
            "p50 (one SELECT 1 through the same app and pool)",
            by_etag.p50_ms,
            "ms",
            health.p50_ms,
            "<= 2x /health p50, one round trip each (issue 21)",
            higher_is_better=False,
        ),
        row(
            "feeds: 304 revalidation, If-None-Match, p50 latency vs hello",
            by_etag.p50_ms,
            "ms",
            hello.p50_ms,
            "reference: <= 1.5x hello was issue 11's target",
            higher_is_better=False,
        ),
        row(
            "feeds: 304 revalidation, If-None-Match, vs the booking app's own /health "
            "(one SELECT 1 through the same app and pool)",
            by_etag.requests_per_s,
            "req/s",
            health.requests_per_s,
            "reference: >= 1x /health was the target while validators were kept between requests",
            higher_is_better=True,
        ),
        row(
            "feeds: 304 revalidation, If-Modified-Since",
            by_date.requests_per_s,
            "req/s",
            hello.requests_per_s,
            ">= 0.25x hello",
            higher_is_better=True,
        ),
        row(
            "feeds: feed size (Google drops subscriptions over ~1 MB)",
            size,
            "bytes",
            1_000_000,
            "<= 1x",
            higher_is_better=False,
        ),
    ]
    rows += rebuild_rows((100, 500) if quick else REBUILD_SIZES, 1 if quick else 5)
    errors = full.errors + by_etag.errors + by_date.errors
    if errors:
        raise RuntimeError(f"{errors} failed or non-2xx/3xx feed requests under load")
    try:
        import radicale  # noqa: F401
    except ImportError:
        print("[bench] feeds: Radicale not installed; its baseline is skipped", file=sys.stderr)
        return rows
    with _radicale(full_calendar) as collection:
        check = httpx.get(collection, auth=RADICALE_USER, timeout=120)
        check.raise_for_status()
        radicale_events = check.content.count(b"BEGIN:VEVENT")
        radicale_ms = _sequential_ms(collection, 3 if quick else 10, RADICALE_USER)
    rows += [
        row(
            f"feeds: cold build of the feed ({events} events, query + VEVENTs + serialize) vs "
            f"Radicale GET of the same {radicale_events} events uncut",
            cold_ms,
            "ms",
            radicale_ms,
            "<= 1x Radicale",
            higher_is_better=False,
        ),
        row(
            f"feeds: the feed built again after one of its appointments changed (the other "
            f"{events - 1} events kept from the last build) vs Radicale GET",
            rebuild_ms,
            "ms",
            radicale_ms,
            "<= 0.5x Radicale (a change rebuilds what changed)",
            higher_is_better=False,
        ),
        row(
            "feeds: single-client GET latency, cached feed vs Radicale's collection GET",
            feed_single_ms,
            "ms",
            radicale_ms,
            "<= 0.1x Radicale",
            higher_is_better=False,
        ),
    ]
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.feeds")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="the rebuild-vs-size rows alone")
    arguments = parser.parse_args()
    if arguments.rebuild:
        lines = rebuild_rows((100, 500) if arguments.quick else REBUILD_SIZES, 5)
    else:
        lines = run(quick=arguments.quick)
    for line in lines:
        print(line)
