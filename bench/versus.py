"""Booking POST of another checkout against this one, in the same run.

    git worktree add /tmp/before <rev>
    python -m bench.versus /tmp/before [--rounds 6] [--seconds 5]

Each checkout migrates and seeds a fresh PostgreSQL database with its own code, runs its
booking app under gunicorn (2 sync workers), and wrk loads the two in turns, the order
alternating each round; the medians and the CPU per booking (workers and PostgreSQL, from
/proc) are printed. What a change did to the booking path, on a machine whose speed moves
between runs more than the full run's ratios against a bare INSERT can absorb.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

import sqlalchemy as sa

from bench.booking import BOOKING_LUA
from bench.harness import ROOT, cpu_seconds, fresh_pg_database, gunicorn, postgres_backends, wrk

DAYS = 700


def _seed(tree: Path, name: str) -> tuple[str, int]:
    """A database migrated and seeded by `tree`'s own code; (url, service id)."""
    url = fresh_pg_database(name)
    code = (
        "from bench.booking import _setup\n"
        f"print(_setup({url!r}, rules_every_day=True, zone='UTC', horizon_days={DAYS + 5},"
        " buffer=0)[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return url, int(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the other checkout (git worktree add ...)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    base = int(datetime.combine(datetime.now(UTC).date(), clock(0), tzinfo=UTC).timestamp())
    trees = {"before": args.before.resolve(), "this": ROOT}
    seeded = {label: _seed(tree, f"bench_versus_{label}") for label, tree in trees.items()}
    rates: dict[str, list[float]] = {label: [] for label in trees}
    used = {label: [0.0, 0.0, 0] for label in trees}  # workers s, postgres s, requests
    servers = {}
    with contextlib.ExitStack() as stack:
        for label, tree in trees.items():
            url, service_id = seeded[label]
            env = {"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"}
            server = stack.enter_context(
                gunicorn("bench.baselines:create_booking_app()", env=env, tree=tree)
            )
            script = BOOKING_LUA % {"base": base, "days": DAYS, "service": service_id}
            wrk(server.url + "/api/v1/appointments", seconds=1, script=script)  # warm up
            servers[label] = (server, script, sa.make_url(url).database or "")
        for turn in range(args.rounds):
            for label in list(trees) if turn % 2 == 0 else list(trees)[::-1]:
                server, script, database = servers[label]
                workers, backends = server.worker_pids(), postgres_backends(database)
                before = cpu_seconds(workers), cpu_seconds(backends)
                load = wrk(server.url + "/api/v1/appointments", seconds=args.seconds, script=script)
                used[label][0] += cpu_seconds(workers) - before[0]
                used[label][1] += cpu_seconds(backends) - before[1]
                used[label][2] += load.requests
                rates[label].append(load.requests_per_s)
    for label in trees:
        workers_s, postgres_s, requests = used[label]
        print(
            f"{label}: {statistics.median(rates[label]):.0f} req/s (median of "
            f"{', '.join(f'{r:.0f}' for r in rates[label])}); per booking "
            f"{workers_s * 1000 / requests:.2f} ms in the workers, "
            f"{postgres_s * 1000 / requests:.2f} ms in PostgreSQL"
        )
    ratio = statistics.median(rates["this"]) / statistics.median(rates["before"])
    print(f"this / before: {ratio:.3f}x booking POST throughput")
    return 0


if __name__ == "__main__":
    sys.exit(main())
