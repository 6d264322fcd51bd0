"""The running production stack for the end-to-end tests (one per test run)."""

from __future__ import annotations

import pytest
from e2e_harness import Processes, Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    """PostgreSQL databases, gunicorn per service (booking twice), nginx, SMTP sink, webhook
    receiver and workers; every process is stopped at the end, also when starting fails."""
    tmp = tmp_path_factory.mktemp("e2e")
    processes = Processes(tmp)
    try:
        yield start_stack(tmp, processes)
    finally:
        processes.stop_all()
