"""Python function calls per help search, in-process on PostgreSQL, against `/health`: a count
that does not move with the machine's load, unlike bench/help.py's p50 rows.

The booking app of the benchmark on bench/help.py's database (1,000 FAQ entries); 20 requests to
warm up, then cProfile over `--count` searches through the test client, and as many `/health`.
`--top N` prints the N functions with the most calls of their own in the search.

    python -m bench.help_calls [--count 500] [--top 0]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats

from bench.harness import fresh_pg_database
from bench.help import SEARCHES, _seed


def _calls(client, path: str, count: int) -> pstats.Stats:
    for _ in range(20):
        client.get(path)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(count):
        answer = client.get(path)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")
    profile.disable()
    return pstats.Stats(profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--top", type=int, default=0)
    args = parser.parse_args(argv)
    from bench.baselines import create_booking_app
    from shared import db

    url = fresh_pg_database("bench_help_calls")
    _seed(url)
    os.environ.update(
        {
            "FRONTDESK_DATABASE_URL": url,
            "FRONTDESK_SECRET_KEY": "bench",
            "FRONTDESK_LOG_LEVEL": "WARNING",
        }
    )
    client = create_booking_app().test_client()
    health = _calls(client, "/health", args.count)
    search = _calls(client, f"/api/v1/faq?language=en&q={SEARCHES['en']}", args.count)
    db.get_db(client.application).engine.dispose()
    per_health = health.total_calls / args.count
    per_search = search.total_calls / args.count
    print(f"Python function calls per /health: {per_health:,.0f}")
    print(f"Python function calls per help search (en, 20 answers): {per_search:,.0f}")
    print(f"ratio: {per_search / per_health:.2f}x")
    if args.top:
        search.sort_stats("ncalls").print_stats(args.top)
        search.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
