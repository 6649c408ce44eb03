"""Run the scenario's load test: Locust headless on the shipped locustfile, and read what it wrote.

Locust runs in its own process (it patches the standard library with gevent), with its own
master/worker mode for `workers` > 1. Everything lands in one directory: Locust's CSV statistics
and history (locust_*.csv), its HTML report, and the locustfile's requests.csv, arrivals.csv and
outcomes.json, plus loadtest.json saying how the run was made (what `validate` replays).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from simulator.model import load_replay

LOCUSTFILE = Path(importlib.util.find_spec("loadtests").origin).parent / "locustfile.py"  # type: ignore[arg-type, union-attr]
"""Run by path in Locust's own process: the simulator never imports the load-test package."""
META = "loadtest.json"
PARTS = "parts"


@dataclass(frozen=True)
class LoadTestRun:
    """How one load test is run: what `loadtest.json` records."""

    scenario: str
    host: str
    scale: float
    speedup: float
    run_time: float
    workers: int = 1
    max_users: int | None = None
    overrides: tuple[str, ...] = ()
    overlays: tuple[str, ...] = ()
    """Overlay files applied before the overrides: the API mapping of a target (its `loadtest` section)."""

    def check(self) -> None:
        """Raise ValueError naming the option that cannot be used."""
        url = urlsplit(self.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"--host {self.host!r}: give the target's base URL, e.g. http://127.0.0.1:8000")
        if not 0 < self.run_time <= 24 * 3600:
            raise ValueError(f"--run-time {self.run_time:g} s: use a duration between 1s and 24h")
        if self.workers < 1:
            raise ValueError(f"--workers {self.workers}: use 1 or more")

    def command(self, out: Path) -> list[str]:
        """The locust command line for this run, writing into `out`."""
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            self.host,
            "--run-time",
            f"{int(round(self.run_time))}s",
            "--stop-timeout",
            "5",
            "--only-summary",
            "--csv",
            str(out / "locust"),
            "--csv-full-history",
            "--html",
            str(out / "report.html"),
            "--scenario",
            self.scenario,
            "--scale",
            repr(self.scale),
            "--speedup",
            repr(self.speedup),
            "--flashsim-out",
            str(out),
            "--flashsim-workers",
            str(self.workers),
            "--loglevel",
            "WARNING",
        ]
        if self.max_users is not None:
            cmd += ["--max-shoppers", str(self.max_users)]
        for assignment in self.overrides:
            cmd += ["--flashsim-set", assignment]
        for overlay in self.overlays:
            cmd += ["--flashsim-overlay", overlay]
        if self.workers > 1:
            cmd += ["--processes", str(self.workers)]
        return cmd


def check_users(test: LoadTestRun) -> int:
    """Shoppers the run would start; ValueError when over the cap, before Locust starts."""
    replay = load_replay(
        test.scenario, test.scale, test.speedup, test.run_time, test.max_users, test.overrides, test.overlays
    )
    return len(replay.shoppers.time)


def run(test: LoadTestRun, out: Path) -> int:
    """Run Locust to completion (or Ctrl-C, which stops it cleanly); its exit code."""
    out.mkdir(parents=True, exist_ok=True)
    (out / META).write_text(json.dumps(test.__dict__, indent=2, default=list) + "\n")
    with open(out / "locust.log", "w") as log:
        # Its own session: Ctrl-C (or SIGTERM) reaches flashsim only, which passes Locust the SIGINT it stops
        # cleanly on (stop the users, write the statistics, quit its workers).
        process = subprocess.Popen(
            test.command(out),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        previous = signal.signal(signal.SIGTERM, _interrupt)
        samples: list[tuple[float, float]] = []
        try:
            code = _watch(process, samples)
        except KeyboardInterrupt:
            code = _stop(process)
        finally:
            signal.signal(signal.SIGTERM, previous)
            _write_generator_cpu(out, samples)
    expected = test.workers + 1 if test.workers > 1 else 1  # the master's part and each worker's
    deadline = time.monotonic() + 15
    while len(list((out / PARTS).glob("*.json"))) < expected and time.monotonic() < deadline:
        time.sleep(0.1)  # forked workers may still be saving theirs as the master exits
    if (out / PARTS).exists():
        collect(out)
    return code


GENERATOR_CPU = "generator_cpu.csv"
SAMPLE_EVERY = 0.5
"""Seconds between samples of the load generator's CPU."""
SATURATED = 0.9
"""Share of a core above which a Locust process is taken as saturated: its users then wait for it."""


def _watch(process: subprocess.Popen, samples: list[tuple[float, float]]) -> int:
    """Wait for Locust, sampling the CPU of its busiest process (a Locust process is one core at most);
    its exit code."""
    began = time.monotonic()
    try:
        root = psutil.Process(process.pid)
    except psutil.Error:
        return process.wait()
    known = {root.pid: root}  # the same objects each time: a process's first cpu_percent() covers no interval
    while True:
        try:
            return process.wait(timeout=SAMPLE_EVERY)
        except subprocess.TimeoutExpired:
            pass
        try:
            for child in root.children(recursive=True):
                known.setdefault(child.pid, child)
            busiest = max(p.cpu_percent() for p in known.values() if p.is_running()) / 100
        except psutil.Error:
            continue  # a process ended between listing and reading: the next sample has it right
        samples.append((round(time.monotonic() - began, 2), round(busiest, 3)))


def _write_generator_cpu(out: Path, samples: list[tuple[float, float]]) -> None:
    with open(out / GENERATOR_CPU, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["elapsed_s", "busiest_process_cpu"])
        w.writerows(samples[1:])  # the first reading of a process covers no interval


def saturated_seconds(directory: Path) -> float | None:
    """Seconds the load generator's busiest process ran at SATURATED or more of a core (None: not sampled).
    While it is saturated, measured times include the generator's own queueing, not the target's alone."""
    path = directory / GENERATOR_CPU
    if not path.exists():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return SAMPLE_EVERY * sum(float(r["busiest_process_cpu"]) >= SATURATED for r in rows)


def _stop(process: subprocess.Popen) -> int:
    """Interrupt Locust (again if a first interrupt lands where Locust swallows it), then kill it."""
    for _ in range(3):
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    return process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a load test as Ctrl-C does


def read_meta(directory: Path) -> LoadTestRun:
    """How the load test in `directory` was run."""
    data = json.loads((directory / META).read_text())
    data["overrides"] = tuple(data.get("overrides", ()))
    data["overlays"] = tuple(data.get("overlays", ()))
    return LoadTestRun(**data)


def locust_stats(directory: Path) -> dict[str, dict[str, float | None]]:
    """Locust's final statistics per request name (journey step), from locust_stats.csv."""
    rows = {}
    with open(directory / "locust_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
            }
    return rows


def collect(out: Path) -> None:
    """Merge the processes' parts into requests.csv, arrivals.csv and outcomes.json (with the order ids
    the target gave and the mapping problems met)."""
    rows: list[list[Any]]
    arrivals: Counter[int]
    outcomes: Counter[str]
    schedule: dict[str, Any]
    rows, arrivals, outcomes, dropped, schedule = [], Counter(), Counter(), 0, {"scheduled": [], "expected": []}
    orders: list[str] = []
    problems: list[str] = []
    for path in sorted((out / PARTS).glob("*.json")):
        part = json.loads(path.read_text())
        rows += part["rows"]
        arrivals.update({int(k): v for k, v in part["arrivals"].items()})
        outcomes.update(part["outcomes"])
        dropped += part["dropped"]
        orders += part.get("orders", [])
        problems += part.get("problems", [])
        if "scheduled" in part:
            schedule = part
    with open(out / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        phases = ["store_ms", "store_wait_ms", "db_ms", "process", "process_cpu_ms", "pace_ms"]  # where sent
        w.writerow(["step", "sent_s", "client_ms", "server_wait_ms", "server_ms", "status", *phases])
        w.writerows(sorted(rows, key=lambda r: r[1]))  # type: ignore[index]  # mypy types r from writerows, not rows
    with open(out / "arrivals.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["second", "arrivals", "scheduled", "expected"])
        for s, (n, e) in enumerate(zip(schedule["scheduled"], schedule["expected"])):
            w.writerow([s, arrivals.get(s, 0), n, round(e, 3)])
    seen = {"outcomes": dict(outcomes), "requests_not_recorded": dropped, "mapping_problems": problems}
    (out / "outcomes.json").write_text(json.dumps({**seen, "orders": orders}, indent=2) + "\n")


def mapping_problems(directory: Path) -> list[str]:
    """The mapping errors a load test met (a field to save missing from an answer), from outcomes.json."""
    path = directory / "outcomes.json"
    return json.loads(path.read_text()).get("mapping_problems", []) if path.exists() else []


def _number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)
