"""The harness itself: stopping a process stops its children too, even ones that ignore SIGTERM."""

from __future__ import annotations

import os
import sys

import pytest
from e2e_harness import Processes, wait_until

pytestmark = pytest.mark.e2e

# A parent that starts a child ignoring SIGTERM, writes the child's pid, then waits.
SCRIPT = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of the parent counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_stop_all_ends_every_process_group_including_stubborn_children(tmp_path):
    processes = Processes(tmp_path)
    pid_file = tmp_path / "child.pid"
    parent = processes.start(
        "parent", [sys.executable, "-c", SCRIPT, str(pid_file)], dict(os.environ)
    )
    child_pid = int(
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=20, what="child")
    )
    processes.stop_all()
    assert parent.popen.poll() is not None
    wait_until(lambda: not alive(child_pid), timeout=5, what="the child to be gone")
