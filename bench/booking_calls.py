"""Python function calls per booking POST, in-process on PostgreSQL: a count that does not move
with the machine's load, unlike the throughput and CPU rows.

The booking app of the benchmark (`bench.baselines.create_booking_app`) on a database migrated
and seeded as `bench.booking` seeds it; 20 bookings to warm up, then cProfile over `--count`
bookings at distinct free starts through the test client. `--top N` prints the N functions
with the most calls of their own.

    python -m bench.booking_calls [--count 200] [--top 0]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
from datetime import UTC, datetime, timedelta

from bench.booking import _setup
from bench.harness import fresh_pg_database

DAYS = 700


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args(argv)
    from bench.baselines import create_booking_app
    from shared import db

    url = fresh_pg_database("bench_booking_calls")
    app, service_id, _ = _setup(
        url, rules_every_day=True, zone="UTC", horizon_days=DAYS + 5, buffer=0
    )
    db.get_db(app).engine.dispose()
    os.environ.update({"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"})
    client = create_booking_app().test_client()
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    # Distinct half hours of 09:00-17:00 over DAYS days, in a fixed random order.
    starts = [(day, slot) for day in range(1, DAYS + 1) for slot in range(16)]
    random.Random(1).shuffle(starts)
    bodies = [
        {
            "service_id": service_id,
            "start": (today + timedelta(days=day, hours=9, minutes=30 * slot)).isoformat(),
            "mode": "video",
            "client": {"name": "Bench client", "email": f"client{n}@bench.invalid"},
            "backup": {"callback_number": "+14165550123"},
        }
        for n, (day, slot) in enumerate(starts[: 20 + args.count])
    ]
    profile = cProfile.Profile()
    for n, body in enumerate(bodies):
        if n == 20:
            profile.enable()
        answer = client.post("/api/v1/appointments", json=body)
        if answer.status_code != 201:
            raise RuntimeError(f"booking answered {answer.status_code}: {answer.get_data()!r}")
    profile.disable()
    db.get_db(client.application).engine.dispose()
    stats = pstats.Stats(profile)
    print(f"Python function calls per booking POST: {stats.total_calls / args.count:,.0f}")
    if args.top:
        stats.sort_stats("ncalls").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
