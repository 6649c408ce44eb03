"""Sizing cost: model runs and wall time to size the Thursday flash sale's pools and support agents,
as `flashsim size scenarios/xiaomi-thursday-flash.yaml` does (its verification run aside).

    python benchmarks/sizing.py                       # full scale (300k shoppers), all cores: about 15 minutes here
    python benchmarks/sizing.py --scale 0.1 -j 1

Prints the runs each search took, the runs per pool and the wall time. Goals: at most 12 model runs per
pool; the whole sizing in at most 120 s on 2 cores. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from simulator import load_scenario
from simulator.analysis import size
from simulator.cli import CORES

SCENARIO = "scenarios/xiaomi-thursday-flash.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("-j", "--jobs", type=int, default=CORES)
    parser.add_argument("-r", "--replications", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO, args.overrides, scale=args.scale)
    print(
        f"{scenario.name} {' '.join(args.overrides)}: {scenario.audience.size:,} shoppers, "
        f"{args.replications} replication(s), {args.jobs} job(s)"
    )
    started = time.perf_counter()
    found = size(scenario, "all", replications=args.replications, jobs=args.jobs)
    seconds = time.perf_counter() - started
    runs = Counter(run.what.split(":")[0] for run in found.runs)
    for search, count in runs.items():
        knobs = len(next(run.config for run in found.runs if run.what.startswith(search)))
        print(f"  {search:40s} {count:3d} runs  {count / knobs:5.1f} per knob")
    for row in found.rows:
        print(
            f"    {row['variant'] or row['what']:40s} {row['item']:14s} {row['current']!s:>6} -> {row['sized']!s:>6}"
            f"  (theory start {row['warm_start']})"
        )
    for problem in found.unmet:
        print(f"    not met: {problem}")
    print(f"all: {len(found.runs)} runs in {seconds:.1f} s")


if __name__ == "__main__":
    main()
