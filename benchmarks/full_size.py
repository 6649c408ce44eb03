"""A big promotion grown towards its real size: wall time and peak memory of one replication.

    python benchmarks/full_size.py                                   # Double 11 at 1/10 of its size (2M shoppers)
    python benchmarks/full_size.py --scale 100                       # its real size, 20M shoppers
    python benchmarks/full_size.py scenarios/618.yaml --scale 10

Each run is a fresh process, so its peak resident memory is its own. Prints figures; not a test.
Goal (issue 17): Double 11 at its real size in at most 10 minutes, under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
from simulator import load_scenario
from simulator.analysis.replications import seeds
from simulator.model import simulate_once
scenario = load_scenario(sys.argv[1], scale=float(sys.argv[2]))
started = time.perf_counter()
rep = simulate_once(scenario, seeds(scenario.seed, 1)[0])
seconds = time.perf_counter() - started
requests = sum(e["requests"] for e in rep["endpoints"].values())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"shoppers": scenario.audience.size, "requests": requests, "seconds": seconds, "peak_mb": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/double11.yaml")
    parser.add_argument("--scale", type=float, default=10.0, help="grow the scenario K times (--scale of flashsim)")
    args = parser.parse_args()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, args.scenario, str(args.scale)], capture_output=True, text=True, check=True
    )
    run = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{args.scenario} x{args.scale:g}: {run['shoppers']:,} shoppers, {run['requests']:,} requests in "
        f"{run['seconds']:.0f} s ({run['requests'] / run['seconds']:,.0f} requests/s), "
        f"peak resident {run['peak_mb']:,.0f} MB"
    )


if __name__ == "__main__":
    main()
