"""Public booking page: time to first byte, bytes on the wire, p50 latency and memory per worker.

The page measured is the slot picker (`/{slug}?mode=video&tz=...`: the days with free times and
the slots of the first one), the heaviest page a client opens, served by the booking app under
gunicorn (2 sync workers) on PostgreSQL with two staff and a few hundred booked appointments.
The baseline is the hello-world Flask app under the same gunicorn settings in the same run.

`python -m bench.pages [--quick]`
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

import httpx

from bench.harness import fresh_pg_database, gunicorn, row, wrk

PAGE_BUDGET = 100_000  # bytes of HTML + CSS + JS per page (issue 8)
SLUG = "bench-intake"
PAGE = f"/{SLUG}?mode=video&tz=America/Toronto"
HEADERS = {"Accept": "text/html", "Accept-Language": "fr"}


def _seed(url: str, appointments_per_staff: int) -> None:
    """Migrate, then add two staff, one service and some booked appointments."""
    from frontdesk import migrations
    from services.booking.app import create_app
    from services.booking.errors import SlotTaken
    from services.booking.operations import appointments, availability, catalog
    from shared import db

    migrations.upgrade("booking", url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})
    now = datetime.now(UTC)
    with db.get_db(app).transaction() as session:
        staff = [
            catalog.create_staff(
                session=session,
                name=name,
                email=f"{name.lower()}@bench.invalid",
                time_zone=zone,
                video_link_template=f"https://meet.example.org/{name.lower()}",
                dial_in="+14165550100",
            )
            for name, zone in (("Amira", "America/Toronto"), ("Diego", "America/Vancouver"))
        ]
        for member in staff:
            catalog.replace_rules(
                session=session,
                staff=member,
                rules=[
                    {"weekday": d, "start_time": clock(9), "end_time": clock(17)} for d in range(5)
                ],
            )
        service = catalog.create_service(
            session=session,
            staff_ids=[s.id for s in staff],
            name="Settlement intake",
            slug=SLUG,
            duration_minutes=45,
            modes=["video", "phone"],
            buffer_after_minutes=10,
            min_notice_minutes=120,
            resources=[{"title": "Bring your documents", "url": None, "text": "ID"}],
        )
        slots = availability.search_slots(
            session=session,
            service=service,
            start_date=now.date(),
            end_date=now.date() + timedelta(days=59),
            tz="America/Toronto",
            now=now,
        )
        booked = 0
        for slot in slots[::6]:  # every sixth start: days stay partly free, as in real life
            if booked >= 2 * appointments_per_staff:
                break
            try:
                with session.begin_nested():
                    appointments.book(
                        session=session,
                        service=service,
                        start=slot.start,
                        mode="video",
                        client={"name": "Client", "email": "client@bench.invalid"},
                        backup={"callback_number": "+14165550123"},
                        secret="bench",
                        now=now,
                    )
                booked += 1
            except SlotTaken:
                continue


def ttfb_ms(base: str, path: str, samples: int) -> float:
    """Median time from sending the request to the response headers, one connection."""
    times = []
    with httpx.Client(base_url=base, headers=HEADERS) as client:
        client.get(path)  # warm the connection and the worker
        for _ in range(samples):
            started = time.perf_counter()
            with client.stream("GET", path) as response:
                times.append((time.perf_counter() - started) * 1000)
                response.read()
                assert response.status_code == 200, response.status_code
    return statistics.median(times)


def page_bytes(base: str) -> int:
    """HTML of the page plus every stylesheet and script it links, uncompressed."""
    import re

    with httpx.Client(base_url=base, headers=HEADERS) as client:
        html = client.get(PAGE).text
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
        return len(html.encode()) + sum(len(client.get(asset).content) for asset in assets)


def run(quick: bool = False) -> list[dict]:
    """Measure the booking page against the hello baseline in the same run."""
    seconds = 1 if quick else 10
    samples = 20 if quick else 100
    url = fresh_pg_database("frontdesk_bench_pages")
    _seed(url, appointments_per_staff=60 if quick else 150)
    env = {"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"}
    with gunicorn("bench.baselines:hello", health="/health") as hello:
        hello_ttfb = ttfb_ms(hello.url, "/hello", samples)
        hello_load = wrk(hello.url + "/hello", seconds=seconds)
        hello_rss = statistics.mean(hello.worker_rss_kib())
    with gunicorn("bench.baselines:create_booking_app()", env=env) as booking:
        page_ttfb = ttfb_ms(booking.url, PAGE, samples)
        size = page_bytes(booking.url)
        load = wrk(booking.url + PAGE, seconds=seconds, headers=HEADERS)
        rss = statistics.mean(booking.worker_rss_kib())
    if load.errors:
        raise RuntimeError(f"{load.errors} failed page requests under load")
    return [
        row(
            "booking page: time to first byte (median, one client)",
            page_ttfb,
            "ms",
            hello_ttfb,
            "<= 50 ms on this 2-core machine (ratio vs hello shown for reference)",
            higher_is_better=False,
        ),
        row(
            "booking page: HTML + CSS + JS",
            size,
            "bytes",
            PAGE_BUDGET,
            "<= 1.0x the 100 KB page budget",
            higher_is_better=False,
        ),
        row(
            "booking page: p50 latency under load (wrk -c16)",
            load.p50_ms,
            "ms",
            hello_load.p50_ms,
            "<= 25x hello p50 (4 queries + a 14-day slot search per view)",
            higher_is_better=False,
        ),
        row(
            "booking page: RSS per gunicorn worker",
            rss / 1024,
            "MiB",
            hello_rss / 1024,
            "<= 4x the hello worker",
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
