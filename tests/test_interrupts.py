"""A run stopped by SIGTERM or Ctrl-C: it stops at once, its worker processes with it, keeps the replications
that finished (marked INCOMPLETE) and exits 128 + the signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # parallel runs stopped mid-way: the slow tier

THURSDAY = str(ROOT / "scenarios" / "xiaomi-thursday-flash.yaml")


def start(out: Path) -> subprocess.Popen:
    """40 replications of about 3 s each, two at a time: a minute, long enough to stop in the middle."""
    args = ["run", THURSDAY, "--set", "audience.size=60k", "-r", "40", "-j", "2", "--no-figures", "--out", str(out)]
    return subprocess.Popen([sys.executable, "-m", "simulator", *args], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_parallel_run_stops_its_workers_and_keeps_what_finished(tmp_path, stop, code):
    out = tmp_path / "run"
    run = start(out)
    time.sleep(8)
    workers = psutil.Process(run.pid).children(recursive=True)
    assert len(workers) >= 2  # the two replications running
    stopped = time.monotonic()
    if stop == signal.SIGINT:
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole process group
    else:
        run.send_signal(signal.SIGTERM)  # an operator or a supervisor: the command alone
    _, errors = run.communicate(timeout=30)
    assert run.returncode == code, errors
    assert time.monotonic() - stopped < 5  # promptly, not after the replications running
    assert f"stopped by {stop.name}" in errors and "Traceback" not in errors
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []  # no orphan left running
    summary = json.loads((out / "summary.json").read_text())
    assert 1 <= summary["replications"] < 40  # the replications that finished, as a run of that many
    assert "stopped by" in (out / "INCOMPLETE").read_text()
