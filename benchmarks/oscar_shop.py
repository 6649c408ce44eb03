"""The model against django-oscar (loadtests/oscar), a shop this project did not write: load tests at several
levels through the shipped mapping, an audit of Oscar's database after each, a calibration on one level, and
`flashsim validate` of every level with it.

    python benchmarks/oscar_shop.py                      # reference-shop's flat arrivals, 4 levels, 1 worker
    python benchmarks/oscar_shop.py --scales 0.1 0.2 --workers 2
    python benchmarks/oscar_shop.py --scenario scenarios/xiaomi-thursday-flash.yaml --speedup 3 \
        --set clock.start=19:59:30 --scales 0.001 --calibrate-on 0.001        # the flash sale: its oversell

Each level is a real Locust run (core 1) against gunicorn serving Oscar (core 0) on 127.0.0.1, from an empty
database stocked with the scaled scenario's SKUs. The offered load is the shoppers sent per second times the
calibrated service of a shopper's requests, over the workers. Not a test: the figures go to README.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from natural_shop import ROOT, flashsim, free_port, judged, pinned

MAPPING = ROOT / "loadtests" / "oscar" / "mapping.yaml"
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def load_test(work: Path, scale: float, args: argparse.Namespace) -> Path:
    """One level: a fresh Oscar selling the scaled stock, the load test against it, the audit; its directory."""
    port, url = free_port(), ""
    sets = [a for s in args.set for a in ("--set", s)]
    replay = ["--scenario", args.scenario, "--overlay", str(MAPPING), "--scale", str(scale), "--speedup",
              str(args.speedup), *sets, "--db", f"sqlite:///{work}/oscar.sqlite3"]  # fmt: skip
    shop = subprocess.Popen(
        [*pinned("0"), sys.executable, "-m", "loadtests.oscar", "serve", *replay, "--fresh", "--port", str(port),
         "--workers", str(args.workers)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # up, and its worker's first (slow) request served before the run
            try:
                urllib.request.urlopen(f"{url}/api/products/1/", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or shop.poll() is not None:
                    raise SystemExit("the Oscar target did not start") from None
                time.sleep(0.5)
        out = work / f"level-{scale}"
        run = flashsim("loadtest", args.scenario, "--overlay", str(MAPPING), "--host", url, "--scale", str(scale),
                       "--speedup", str(args.speedup), "--run-time", f"{args.seconds}s", *sets,
                       "--out", str(out))  # fmt: skip
        if run.returncode != 0:
            raise SystemExit(f"load test at scale {scale} failed: {run.stderr[-2000:]}")
        audit = subprocess.run([sys.executable, "-m", "loadtests.oscar", "audit", *replay, "--from",
                                str(out / "loadtest")], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        print(f"== scale {scale}: Oscar's database after the run\n{audit.stdout}")
        return out / "loadtest"
    finally:
        shop.terminate()
        shop.wait(timeout=30)


def shopper_work(overlay: Path) -> float:
    """Seconds of service a shopper's requests ask of the workers, by the calibration (each step once, with all
    its requests)."""
    text = overlay.read_text()
    found = re.findall(r"system\.endpoints\.(\w+)\.service: '\w+\(([\d.]+)(us|ms|s)", text)
    requests = {step: int(n) for step, n in re.findall(r"system\.endpoints\.(\w+)\.requests: (\d+)", text)}
    return sum(float(v) * UNIT[u] * requests.get(step, 1) for step, v, u in found)


def arrival_rate(directory: Path) -> float:
    """Shoppers per second over the seconds any arrived."""
    rows = (directory / "arrivals.csv").read_text().splitlines()[1:]
    counts = [int(r.split(",")[1]) for r in rows]
    busy = [c for c in counts if c > 0]
    return sum(busy) / max(1, len(busy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="scenarios/reference-shop.yaml")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.45])
    parser.add_argument("--calibrate-on", type=float, default=0.2, help="The level (scale) calibrated on.")
    parser.add_argument("--speedup", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn's sync workers.")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="As flashsim's --set.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oscar-shop-"))
    levels = {scale: load_test(work, scale, args) for scale in args.scales}
    overlay = work / "calibration.yaml"
    calibrated = flashsim("calibrate", "--from", str(levels[args.calibrate_on]), "--out", str(overlay))
    print(f"calibrated on scale {args.calibrate_on} ({args.workers} gunicorn worker(s)):\n{calibrated.stdout}")
    work_per_shopper = shopper_work(overlay)
    summary = []
    for scale, directory in levels.items():
        seen = "the calibration's run" if scale == args.calibrate_on else "a load the calibration never saw"
        load = arrival_rate(directory) * work_per_shopper / args.workers
        print(f"== scale {scale}: offered load {load:.0%} of the workers; {seen}")
        out, verdict = judged(args.scenario, [directory], overlay)
        print(out)
        summary.append(f"scale {scale}: offered {load:.0%}, {verdict}")
    print("\n".join(summary))
    print(f"(load tests and overlay kept in {work})")


if __name__ == "__main__":
    main()
