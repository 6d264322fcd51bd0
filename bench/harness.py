"""Tools the benchmarks share: real gunicorn servers, wrk load from another process, baselines.

Every figure is reported as a ratio against a baseline measured in the same run, because the
machine is noisy: a hello-world Flask endpoint, or a bare endpoint doing one INSERT + COMMIT.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG_BASE = os.environ.get(
    "FRONTDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_pg_database(name: str) -> str:
    """Drop and create a PostgreSQL database for a benchmark; return its URL.

    FRONTDESK_BENCH_DB_PREFIX goes before the name, so runs side by side (a smoke test while
    someone benchmarks) never drop each other's databases.
    """
    name = os.environ.get("FRONTDESK_BENCH_DB_PREFIX", "") + name
    url = sa.make_url(PG_BASE)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@dataclass
class Server:
    """A running gunicorn process."""

    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def worker_rss_kib(self) -> list[int]:
        """Resident memory of each worker process (KiB), read from /proc."""
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]))
        return sizes


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (from /proc; gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving connections to `database` on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if command.startswith("postgres: ") and f" {database} " in command:
                pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def gunicorn(
    target: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 2,
    threads: int = 1,
    health: str = "/health",
    timeout: float = 60,
    tree: Path = ROOT,
) -> Iterator[Server]:
    """Run `gunicorn target` (module:app) on a free port until the block ends (from the
    checkout at `tree`: another one for bench.versus)."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        target,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--no-control-socket",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        command += ["--threads", str(threads), "--worker-class", "gthread"]
    handle = log.open("w")
    process = subprocess.Popen(
        command,
        cwd=tree,
        env={
            **os.environ,
            "FRONTDESK_LOG_LEVEL": "WARNING",
            **({"PYTHONPATH": str(tree)} if tree != ROOT else {}),
            **(env or {}),
        },
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn {target} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(server.url + health, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {target} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        handle.close()


@dataclass
class Load:
    """What one wrk run measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def in_turns(loads: dict[str, Callable[[], Load]], rounds: int) -> dict[str, Load]:
    """Run each load in turn, `rounds` times, and keep each one's medians (throughput, p50,
    p99): a burst of load from elsewhere on the machine then hits every figure alike, instead
    of whichever was measured during it."""
    runs: dict[str, list[Load]] = {name: [] for name in loads}
    for _ in range(rounds):
        for name, load in loads.items():
            runs[name].append(load())
    return {
        name: Load(
            statistics.median(r.requests_per_s for r in results),
            statistics.median(r.p50_ms for r in results),
            statistics.median(r.p99_ms for r in results),
            sum(r.requests for r in results),
            sum(r.errors for r in results),
        )
        for name, results in runs.items()
    }


def wrk(
    url: str,
    *,
    seconds: float = 5,
    connections: int = 16,
    threads: int = 2,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> Load:
    """Drive `url` with wrk from its own process and parse throughput and latency."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    command = [
        "wrk",
        "--latency",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.TemporaryDirectory() as scratch:
        if script:
            lua = Path(scratch) / "load.lua"
            lua.write_text(script)
            command += ["-s", str(lua)]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(rps, p50, p99, total, errors)


def row(
    name: str, value: float, unit: str, baseline: float, target: str, *, higher_is_better: bool
) -> dict:
    """One result line: a figure, its baseline from the same run, the ratio and the target."""
    ratio = value / baseline if baseline else float("nan")
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": round(baseline, 3),
        "ratio": round(ratio, 3),
        "target": target,
        "higher_is_better": higher_is_better,
    }
