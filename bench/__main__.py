"""`python -m bench [--quick] [--only NAME ...] [--json PATH]`: run the benchmarks, print a table,
write JSON.

Each module in MODULES exposes `run(quick: bool) -> list[dict]` whose rows carry a figure,
the baseline measured in the same run, their ratio and the target.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

MODULES = (
    "booking",
    "feeds",
    "consent",
    "notify",
    "pages",
    "privacy",
    "allinone",
    "console",
    "public_pages",
    "help",
)
RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def format_table(rows: list[dict]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| benchmark | value | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['value']} {r['unit']} | {r['baseline']} {r['unit']} | "
            f"{r['ratio']}x | {r['target']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds each")
    parser.add_argument("--only", nargs="*", choices=MODULES, help="run only these benchmarks")
    parser.add_argument(
        "--json", type=Path, help="where to write the JSON (default bench/results/latest.json)"
    )
    args = parser.parse_args(argv)
    rows: list[dict] = []
    failures = []
    for name in args.only or MODULES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"[bench] {name}: no benchmark module yet", file=sys.stderr)
                continue
            raise
        started = time.monotonic()
        try:
            rows.extend(module.run(quick=args.quick))
        except Exception:
            failures.append(name)
            traceback.print_exc()
        print(f"[bench] {name}: {time.monotonic() - started:.1f}s", file=sys.stderr)
    table = format_table(rows)
    print(f"\nMachine: {machine()}\nCommand: python -m bench{' --quick' if args.quick else ''}\n")
    print(table)
    out = args.json or RESULTS / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "quick": args.quick, "rows": rows}, indent=2))
    print(f"\nJSON: {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
