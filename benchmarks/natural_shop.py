"""The model against the reference shop as it naturally runs (no slots, no added service): load tests at
several levels, a calibration on one, and `flashsim validate` of every level with it.

    python benchmarks/natural_shop.py                        # SQLite, one process, four levels
    python benchmarks/natural_shop.py --workers 2
    python benchmarks/natural_shop.py --scales 0.001 0.002 0.003 --repeat 3   # each level 3 times, and as one
    python benchmarks/natural_shop.py --store redis://127.0.0.1:6379/0
    python benchmarks/natural_shop.py --hold buy=5ms --page-items 0 --scales 0.0025 0.0035 0.005 0.008 \
        --calibrate-on 0.005 --plain      # a hot row, calibrated from the answers alone (a throughput plateau)

Each level is a real Locust run against a real server process on 127.0.0.1 replaying the Thursday flash sale
from 30 s before the open, 3x faster, at a share of its audience (the level's scale). Its load is reported as
the peak offered load: the CPU the requests sent in the busiest second ask for, by the calibration's demands,
over the processes' cores. On Linux the shop runs on core 0 and Locust on core 1 (taskset), so that the load
generator never queues the shop's requests behind its own work: with --workers 2 the shop's two processes
share core 0 (more processes than cores, which calibrate reads from their CPU clocks). Prints each level's
validation table and a summary; the calibration's level is marked, the others are predictions at loads it
never saw. With --hold, the shop's stock check (or another endpoint) holds its store that long (a hot row);
with --plain, calibrate reads the answers alone, as for a target that sends no phases, and the load is
reported against the lock it finds. Not a test: the figures go to README and docs/model.md.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "xiaomi-thursday-flash.yaml"
WINDOW = "clock.start=19:59:30"
"""The replay starts 30 s before the open: the surge, the sell-out and the minutes after it."""


def pinned(core: str) -> list[str]:
    """A command prefix running on the given cores, where taskset exists."""
    return ["taskset", "-c", core] if shutil.which("taskset") else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flashsim(*args: str, core: str = "1") -> subprocess.CompletedProcess:
    command = [*pinned(core), sys.executable, "-m", "simulator", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def judged(scenario: str, sources: list[Path], overlay: Path) -> tuple[str, str]:
    """`flashsim validate` of these load tests (one replay) with the overlay: its output, and PASS, FAIL or
    'no verdict'."""
    every = [a for d in sources for a in ("--from", str(d))]
    out = flashsim("validate", scenario, *every, "--overlay", str(overlay)).stdout
    verdict = re.search(r"judged: .*: (PASS|FAIL)", out)
    return out, verdict.group(1) if verdict else "no verdict"


def load_test(work: Path, scale: float, args: argparse.Namespace, k: int = 0) -> Path:
    """The k-th run of a level: a fresh shop selling the scaled stock, the scaled load test against it; its
    directory."""
    port = free_port()
    name = f"{scale}" if k == 0 else f"{scale}-{k + 1}"
    store = f"sqlite:///{work}/shop-{name}.sqlite" if args.store.startswith("sqlite") else args.store
    shop = subprocess.Popen(
        [*pinned("0"), sys.executable, "-m", "loadtests.target", "--port", str(port), "--fresh", "--store", store,
         "--workers", str(args.workers), "--page-items", str(args.page_items), "--scenario", str(SCENARIO),
         *(a for hold in args.hold for a in ("--hold", hold)),
         "--scale", str(scale), "--speedup", str(args.speedup), "--set", WINDOW],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(4)
        out = work / f"level-{name}"
        run = flashsim("loadtest", str(SCENARIO), "--host", f"http://127.0.0.1:{port}", "--scale", str(scale),
                       "--speedup", str(args.speedup), "--run-time", f"{args.seconds}s", "--set", WINDOW,
                       "--out", str(out))  # fmt: skip
        if run.returncode != 0:
            raise SystemExit(f"load test at scale {scale} failed: {run.stderr[-2000:]}")
        return out / "loadtest"
    finally:
        shop.terminate()
        shop.wait(timeout=30)


def demands(overlay: Path) -> dict[str, float]:
    """Each endpoint's seconds per request on the bottleneck, from the calibration's overlay: its CPU demand, or
    its hold on the lock a plain calibration found."""
    text = overlay.read_text()
    found = re.findall(r"system\.endpoints\.(\w+)\.cpu: 'gamma\(([\d.]+)(us|ms|s), ", text)
    found = found or re.findall(r"system\.endpoints\.(\w+)\.hold: '([\d.]+)(us|ms|s)'", text)
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    return {step: float(value) * unit[u] for step, value, u in found}


def peak_load(directory: Path, cpu: dict[str, float], processes: int) -> float:
    """The work the requests sent in the busiest second ask of the bottleneck, over its units (the processes'
    cores, or one lock: processes 1)."""
    asked: defaultdict[int, float] = defaultdict(float)
    with open(directory / "requests.csv", newline="") as f:
        for row in csv.DictReader(f):
            asked[int(float(row["sent_s"]))] += cpu.get(row["step"], 0.0)
    return max(asked.values()) / processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.001, 0.002, 0.003, 0.006])
    parser.add_argument("--calibrate-on", type=float, default=0.002, help="The level (scale) calibrated on.")
    parser.add_argument("--speedup", type=float, default=3.0)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="Server processes of the shop.")
    parser.add_argument("--page-items", type=int, default=2000, help="Items the product page renders.")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--hold", action="append", default=[], help="ENDPOINT=DIST: the shop's --hold (a hot row).")
    parser.add_argument("--plain", action="store_true", help="Calibrate from the answers alone (no --structure).")
    parser.add_argument(
        "--repeat", type=int, default=1, help="Runs of each level, validated one by one and as one (--from repeated)."
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="natural-shop-"))
    runs = {scale: [load_test(work, scale, args, k) for k in range(args.repeat)] for scale in args.scales}
    levels = {scale: directories[0] for scale, directories in runs.items()}
    overlay = work / "calibration.yaml"
    structure = [] if args.plain else ["--structure"]
    calibrated = flashsim("calibrate", *structure, "--from", str(levels[args.calibrate_on]), "--out", str(overlay))
    print(f"calibrated on scale {args.calibrate_on} ({args.workers} process(es), {args.store}):\n{calibrated.stdout}")
    cpu = demands(overlay)
    shared = re.search(r"system\.pools\.\w+\.cores: (\d+)", overlay.read_text())
    units = 1 if args.plain else int(shared.group(1)) if shared else args.workers
    summary = []
    for scale, directory in levels.items():
        seen = "the calibration's run" if scale == args.calibrate_on else "a load the calibration never saw"
        load = peak_load(directory, cpu, units)
        print(f"== scale {scale}: peak offered load {load:.0%} of the {'lock' if args.plain else 'CPU'}; {seen}")
        for run in runs[scale]:
            out, verdict = judged(str(SCENARIO), [run], overlay)
            print(out)
            summary.append(f"scale {scale}: peak {load:.0%}, {verdict}")
        if args.repeat > 1:
            out, verdict = judged(str(SCENARIO), runs[scale], overlay)
            print(f"== scale {scale}: its {args.repeat} runs as one\n{out}")
            summary.append(f"scale {scale}, {args.repeat} runs as one: {verdict}")
    print("\n".join(summary))
    print(f"(load tests and overlay kept in {work})")


if __name__ == "__main__":
    main()
