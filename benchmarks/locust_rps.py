"""Load generation: requests/s of the shipped locustfile against a bare FastHttpUser, same run, same shop.

    python benchmarks/locust_rps.py [--seconds 20] [--users 50]

Starts the reference shop on 127.0.0.1 (no added service, one server process), then runs Locust
headless twice for the same time with the same number of users, each looping on the stock check
(`GET /products/phone/stock`) as fast as it can: first a bare FastHttpUser, then the shipped
locustfile's shoppers (the sale is sold out and every shopper keeps refreshing without pause, so
each makes the same request in a loop through the journey's code). The ratio is the shipped
shopper's cost per request against Locust's own; the bare run's requests/s is also the shop's
requests/s per server process when the shop, not Locust, is the bottleneck. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = """
from locust import FastHttpUser, constant, task

class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def stock(self):
        with self.client.get("/products/phone/stock", name="buy", catch_response=True) as r:
            if r.status_code in (200, 409):
                r.success()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_shop(port: int, store: Path, stock: int) -> subprocess.Popen:
    shop = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadtests.target",
            "--port",
            str(port),
            "--store",
            f"sqlite:///{store}",
            "--fresh",
            "--stock",
            str(stock),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return shop
        except OSError:
            time.sleep(0.1)
    shop.kill()
    raise SystemExit("the reference shop did not start")


def locust(args: list[str], out: Path) -> tuple[float, float]:
    """Run Locust headless: (requests/s, requests per CPU-second of Locust itself)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the shop is still running: not counted
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "--headless",
            "--only-summary",
            "--loglevel",
            "ERROR",
            "--csv",
            str(out),
            *args,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(f"{out}_stats.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    requests = float(row["Request Count"])
    return requests / float(args[args.index("--run-time") + 1].rstrip("s")), requests / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=50)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = free_port()
        shop = start_shop(port, tmp / "shop.sqlite", stock=0)  # sold out: every shopper refreshes
        host = f"http://127.0.0.1:{port}"
        try:
            bare_file = tmp / "bare.py"
            bare_file.write_text(BARE)
            common = ["--host", host, "--run-time", f"{opts.seconds}s"]
            bare = locust(["-f", str(bare_file), "-u", str(opts.users), "-r", str(opts.users), *common], tmp / "bare")
            every_shopper_at_once = [  # all arrive in the first second, then refresh the sold-out stock check
                f"audience.size={opts.users}",
                "audience.arrivals={build_up: 1s, build_up_share: 0, surge_share: 1, surge_time: 100ms}",
                "sales.0.open=+1s",
                "sales.0.sku=phone",
                f"audience.behaviour.sold_out={{keep_trying: 1, refresh_every: 1us, keep_trying_for: {opts.seconds}m}}",
                "audience.behaviour.think_time=0s",
                "audience.behaviour.patience=1h",
            ]
            shipped = locust(
                [
                    "-f",
                    "loadtests/locustfile.py",
                    "--scenario",
                    "scenarios/reference-shop.yaml",
                    "--scale",
                    "1",
                    "--speedup",
                    "1",
                    "--max-shoppers",
                    str(3 * opts.users),
                    *(a for setting in every_shopper_at_once for a in ("--flashsim-set", setting)),
                    *common,
                ],
                tmp / "shipped",
            )
        finally:
            shop.terminate()
            shop.wait()
    print(
        f"bare FastHttpUser, {opts.users} users, {opts.seconds} s: {bare[0]:,.0f} requests/s, "
        f"{bare[1]:,.0f} per Locust CPU-second (the shop: one process, {os.cpu_count()} cores shared with Locust)"
    )
    print(
        f"shipped locustfile, {opts.users} shoppers refreshing: {shipped[0]:,.0f} requests/s, "
        f"{shipped[1]:,.0f} per Locust CPU-second"
    )
    print(
        f"ratio shipped / bare: {shipped[0] / bare[0]:.2f} in requests/s (goal >= 0.9), "
        f"{shipped[1] / bare[1]:.2f} per CPU-second"
    )


if __name__ == "__main__":
    main()
