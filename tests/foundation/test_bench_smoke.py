"""`python -m bench --quick` still works: the booking page benchmark runs end to end (real
gunicorn on PostgreSQL, wrk from its own process) and writes its JSON, in well under a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def test_quick_bench_of_the_booking_page_prints_a_table_and_writes_its_json(tmp_path):
    test_url = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "")
    # Its own database names (from the test database's name when there is one), so a smoke
    # run never drops the databases of a benchmark or of another run beside it.
    own = sa.make_url(test_url).database if test_url.startswith("postgresql") else "smoke"
    base = sa.make_url(test_url).set(database="postgres") if own != "smoke" else PG_BASE
    out = tmp_path / "quick.json"
    env = {
        **os.environ,
        "FRONTDESK_BENCH_DB_PREFIX": f"{own}_",
        "FRONTDESK_BENCH_PG": base if own == "smoke" else base.render_as_string(False),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "pages", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| booking page: time to first byte" in result.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and "cores" in report["machine"]
    rows = {row["name"]: row for row in report["rows"]}
    assert len(rows) == 4
    for row in rows.values():
        assert row["value"] > 0 and row["baseline"] > 0, row
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=0.01), row
