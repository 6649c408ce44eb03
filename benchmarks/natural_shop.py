"""The model against the reference shop as it naturally runs (no slots, no added service): load tests at
several levels, a calibration on the first, and `flashsim validate` of every level with it.

    python benchmarks/natural_shop.py                       # SQLite, one process, scales 0.01 and 0.004
    python benchmarks/natural_shop.py --workers 2 --scales 0.01 0.004 0.006
    python benchmarks/natural_shop.py --store redis://127.0.0.1:6379/0

Each level is a real Locust run of 60 s against a real server process on 127.0.0.1 (a few minutes in all).
Prints each level's validation table; the first level is the calibration's, the others are predictions at
loads it never saw. Not a test: the figures go to docs/model.md.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "xiaomi-thursday-flash.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flashsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, cwd=ROOT)


def load_test(work: Path, scale: float, speedup: float, store: str, workers: int, seconds: int) -> Path:
    """One level: a fresh shop selling the scaled stock, the scaled load test against it; its directory."""
    port = free_port()
    if store.startswith("sqlite"):
        store = f"sqlite:///{work}/shop-{scale}.sqlite"
    shop = subprocess.Popen(
        [sys.executable, "-m", "loadtests.target", "--port", str(port), "--fresh", "--store", store,
         "--workers", str(workers), "--scenario", str(SCENARIO), "--scale", str(scale), "--speedup", str(speedup)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        time.sleep(4)
        out = work / f"level-{scale}"
        run = flashsim("loadtest", str(SCENARIO), "--host", f"http://127.0.0.1:{port}", "--scale", str(scale),
                       "--speedup", str(speedup), "--run-time", f"{seconds}s", "--out", str(out))  # fmt: skip
        if run.returncode != 0:
            raise SystemExit(f"load test at scale {scale} failed: {run.stderr[-2000:]}")
        return out / "loadtest"
    finally:
        shop.terminate()
        shop.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.004])
    parser.add_argument("--speedup", type=float, default=30.0)
    parser.add_argument("--store", default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="Server processes of the shop.")
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="natural-shop-"))
    levels = [load_test(work, s, args.speedup, args.store, args.workers, args.seconds) for s in args.scales]
    overlay = work / "calibration.yaml"
    calibrated = flashsim("calibrate", "--structure", "--from", str(levels[0]), "--out", str(overlay))
    print(f"calibrated on scale {args.scales[0]} ({args.workers} process(es), {args.store}):\n{calibrated.stdout}")
    for scale, directory in zip(args.scales, levels):
        seen = "the calibration's run" if directory == levels[0] else "a load the calibration never saw"
        print(f"== scale {scale}: {seen}")
        print(flashsim("validate", str(SCENARIO), "--from", str(directory), "--overlay", str(overlay)).stdout)
    print(f"(load tests and overlay kept in {work})")


if __name__ == "__main__":
    main()
