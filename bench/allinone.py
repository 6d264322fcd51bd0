"""The SQLite all-in-one (`frontdesk serve`): slot search and the booking page under load.

The suite runs as `frontdesk serve` runs it: one gunicorn process with 8 threads, the three
apps mounted under /booking, /consent and /notify, SQLite files, the demo organization. The
baseline is the hello-world app under the same gunicorn settings in the same run. What is
measured: the 30-day slot search of the demo's settlement intake (two staff, from the slot
cache after the first request) and the slot picker page, p50 latency under wrk -c16.

`python -m bench.allinone [--quick]`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import gunicorn, row, wrk

THREADS = 8  # frontdesk serve's default
TARGET = "<= 25x hello p50 (the same target as the PostgreSQL booking page; reference)"


def _prepare(folder: Path) -> tuple[dict[str, str], int, str]:
    """Migrate the SQLite files and load the demo; return (env, service id, slug)."""
    from frontdesk.demo import load_demo
    from frontdesk.suite import create_suite
    from shared import db

    env = {
        "FRONTDESK_INSTANCE_DIR": str(folder),
        "FRONTDESK_SECRET_KEY": "bench",
        **{
            f"FRONTDESK_{name.upper()}_DATABASE_URL": f"sqlite:///{folder / name}.db"
            for name in ("booking", "consent", "notify")
        },
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # as the server will see them (the suite reads them like serve)
    try:
        suite = create_suite({"LOG_LEVEL": "WARNING"})
        created = load_demo(suite.apps)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    slug, service_id = next(iter(created["services"].items()))
    for app in suite.apps.values():
        db.get_db(app).engine.dispose()
    return env, service_id, slug


def run(quick: bool) -> list[dict]:
    seconds = 1 if quick else 8
    folder = Path(tempfile.mkdtemp(prefix="bench-allinone-"))
    env, service_id, slug = _prepare(folder)
    first = datetime.now(UTC).date() + timedelta(days=1)
    slots = (
        f"/booking/api/v1/services/{service_id}/slots?start={first}"
        f"&end={first + timedelta(days=29)}&tz=America/Toronto"
    )
    page = f"/booking/{slug}?mode=video&tz=America/Toronto"
    with gunicorn("bench.baselines:hello", workers=1, threads=THREADS) as hello:
        hello_load = wrk(hello.url + "/hello", seconds=seconds)
    with gunicorn(
        "bench.baselines:create_suite_app()",
        env=env,
        workers=1,
        threads=THREADS,
        health="/booking/health",
    ) as suite:
        search = wrk(suite.url + slots, seconds=seconds)
        picker = wrk(suite.url + page, seconds=seconds, headers={"Accept": "text/html"})
    for name, load in (("slot search", search), ("booking page", picker)):
        # One process with 8 threads on one GIL and SQLite's one writer: under 16 connections
        # the slowest request can pass wrk's 2-second timeout; more than 1% is a failure.
        if load.errors > load.requests / 100:
            raise RuntimeError(f"all-in-one {name} answered {load.errors} errors under load")
    return [
        row(
            "all-in-one (SQLite, frontdesk serve: 1 process, 8 threads): slot search 30 days, "
            f"p50 under load (wrk -c16; p99 {search.p99_ms:.0f} ms) vs hello world",
            search.p50_ms,
            "ms",
            hello_load.p50_ms,
            TARGET,
            higher_is_better=False,
        ),
        row(
            f"all-in-one (SQLite): booking page (slot picker) p50 under load (p99 {picker.p99_ms:.0f} "
            f"ms, {picker.errors} timeouts of {picker.requests}) vs hello world",
            picker.p50_ms,
            "ms",
            hello_load.p50_ms,
            TARGET,
            higher_is_better=False,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
