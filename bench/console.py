"""The console's agenda: a week of 200 appointments, server time and largest contentful paint.

The suite runs as `frontdesk serve` runs it (one gunicorn process, 8 threads, SQLite files,
the demo organization), with one more staff member whose week holds 200 appointments. The
benchmark signs that person in the way the console does (a session token registered at the
three services, the cookie the browser would hold) and measures:
- server time: p50 of GET /console/?day=<the Wednesday> (the day in full, the week in brief),
  one client in turn, against /console/health of the same app in the same run;
- largest contentful paint of that page in Debian's Chromium (CDP) under Slow 4G emulation
  (150 ms RTT, 1.6 Mbps down, 750 kbps up, 4x CPU slowdown), a fresh browser cache each time.

`python -m bench.console [--quick]`
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench.chromium import LCP_BUDGET_MS, PAGE_BUDGET, chromium, load
from bench.harness import gunicorn, row

THREADS = 8  # frontdesk serve's default
ZONE = "America/Toronto"
APPOINTMENTS = 200


def _week_monday() -> date:
    """The Monday of the week after next (every slot is in the future, whatever today is)."""
    today = datetime.now(UTC).date() + timedelta(weeks=2)
    return today - timedelta(days=today.weekday())


def _seed_week(suite, monday: date) -> int:
    """A staff member with APPOINTMENTS appointments in the week from `monday`; their id."""
    from services.booking.operations import appointments, catalog
    from shared import db

    booking = suite.apps["booking"]
    zone = ZoneInfo(ZONE)
    with booking.app_context(), db.get_db(booking).transaction() as session:
        staff = catalog.create_staff(
            session=session,
            name="Amira Haddad",
            email="amira.bench@maple.example",
            time_zone=ZONE,
            languages=["en", "fr"],
            video_link_template="https://meet.example.org/amira",
            dial_in="+14165550100",
        )
        catalog.replace_rules(
            session=session,
            staff=staff,
            rules=[{"weekday": d, "start_time": clock(0), "end_time": clock(23)} for d in range(7)],
        )
        service = catalog.create_service(
            session=session,
            staff_ids=[staff.id],
            name="Settlement intake (bench)",
            slug="bench-console-intake",
            duration_minutes=30,
            modes=["video", "phone"],
            min_notice_minutes=0,
            horizon_days=400,
            slot_step_minutes=30,
        )
        per_day = -(-APPOINTMENTS // 7)  # 29 a day from 07:00, every half hour
        for number in range(APPOINTMENTS):
            day = monday + timedelta(days=number // per_day)
            start = datetime.combine(day, clock(7), zone) + timedelta(
                minutes=30 * (number % per_day)
            )
            appointments.book(
                session=session,
                service=service,
                start=start.astimezone(UTC),
                mode="video" if number % 3 else "phone",
                # One client each: the daily cap per client would stop one client's 29 a day.
                client={
                    "name": f"Client {number}",
                    "email": f"client{number}@bench.invalid",
                    "phone": "+14165550123",
                    "language": "fr",
                    "time_zone": ZONE,
                },
                backup={"callback_number": "+14165550123", "use_dial_in": False},
                accommodations={"captions": number % 5 == 0, "interpreter_language": None},
                secret=booking.config["SECRET_KEY"],
            )
        return staff.id


def _sign_in(suite, staff_id: int) -> str:
    """Open a console session for the staff member as the sign-in link does; its token."""
    from services.console.operations import sessions
    from shared import db

    console = suite.apps["console"]
    with console.app_context():
        staff = console.extensions["clients"].booking.staff(staff_id)
        with db.get_db(console).transaction() as session:
            return sessions.start_session(
                session=session, clients=console.extensions["clients"], staff=staff
            )


def _prepare(folder: Path) -> tuple[dict[str, str], str, str]:
    """Migrate the SQLite files, load the demo and the busy week; return (env, token, page)."""
    from frontdesk.demo import load_demo
    from frontdesk.suite import create_suite
    from shared import db

    env = {
        "FRONTDESK_INSTANCE_DIR": str(folder),
        "FRONTDESK_SECRET_KEY": "bench",
        **{
            f"FRONTDESK_{name.upper()}_DATABASE_URL": f"sqlite:///{folder / name}.db"
            for name in ("booking", "consent", "notify", "console")
        },
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # as the server will see them (the suite reads them like serve)
    try:
        suite = create_suite({"LOG_LEVEL": "WARNING"})
        load_demo(suite.apps)
        monday = _week_monday()
        token = _sign_in(suite, _seed_week(suite, monday))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    for app in suite.apps.values():
        db.get_db(app).engine.dispose()
    return env, token, f"/console/?day={monday + timedelta(days=2)}"


def server_ms(base: str, path: str, samples: int, cookies: dict[str, str]) -> float:
    """Median time of a whole response, one client, one connection (after a warm-up)."""
    times = []
    with httpx.Client(base_url=base, cookies=cookies, headers={"Accept": "text/html"}) as client:
        for _ in range(3):
            client.get(path)
        for _ in range(samples):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
    return statistics.median(times)


def page_bytes(base: str, path: str, cookies: dict[str, str]) -> int:
    """The page's HTML plus every stylesheet and script it links (same origin), uncompressed."""
    with httpx.Client(base_url=base, cookies=cookies) as client:
        html = client.get(path).text
        assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', html)
        return len(html.encode()) + sum(len(client.get(asset).content) for asset in assets)


def largest_contentful_paint_ms(base: str, path: str, token: str, loads: int) -> list[float]:
    """LCP of `path` in Chromium under Slow 4G and 4x CPU slowdown, each load with a cold cache."""
    from services.console.pages.access import COOKIE

    cookie = [{"name": COOKIE, "value": token, "url": base + "/console/"}]
    with chromium() as browser:
        return [load(browser, base + path, cookies=cookie).lcp_ms for _ in range(loads)]


def run(quick: bool = False) -> list[dict]:
    """The agenda week against /health of the same app, and its LCP against the 1 s budget."""
    samples = 20 if quick else 100
    folder = Path(tempfile.mkdtemp(prefix="bench-console-"))
    env, token, page = _prepare(folder)
    from services.console.pages.access import COOKIE

    cookies = {COOKIE: token}
    with gunicorn(
        "bench.baselines:create_suite_app()",
        env=env,
        workers=1,
        threads=THREADS,
        health="/console/health",
    ) as suite:
        shown = httpx.get(suite.url + page, cookies=cookies).text.count("/appointments/")
        if shown < APPOINTMENTS:  # the week in brief links every appointment (the day's twice)
            raise RuntimeError(f"the agenda shows {shown} appointment links, not {APPOINTMENTS}")
        # In turns, so a burst of load from elsewhere on the machine hits both alike.
        health, agenda = [], []
        for _ in range(1 if quick else 3):
            health.append(server_ms(suite.url, "/console/health", samples, cookies))
            agenda.append(server_ms(suite.url, page, samples, cookies))
        size = page_bytes(suite.url, page, cookies)
        paints = largest_contentful_paint_ms(suite.url, page, token, 1 if quick else 5)
    return [
        row(
            f"console: agenda week of {APPOINTMENTS} appointments (one staff member, SQLite "
            "all-in-one), server time p50, one client, vs the same app's /console/health",
            statistics.median(agenda),
            "ms",
            statistics.median(health),
            "reference (issue 22 names no ratio): the day's rows ask notify for each invitation",
            higher_is_better=False,
        ),
        row(
            f"console: agenda week of {APPOINTMENTS} appointments, HTML + CSS + JS",
            size,
            "bytes",
            PAGE_BUDGET,
            "<= 1.0x the 100 KB page budget (issue 22)",
            higher_is_better=False,
        ),
        row(
            f"console: agenda week, largest contentful paint in Chromium under Slow 4G (150 ms "
            f"RTT, 1.6 Mbps, 4x CPU), median of {len(paints)} cold loads (max "
            f"{max(paints):.0f} ms)",
            statistics.median(paints),
            "ms",
            LCP_BUDGET_MS,
            "<= 1.0x the 1 s budget (issue 22)",
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
