"""Sizing cost: model runs and wall time to size the Thursday flash sale's pools and support agents.

    python benchmarks/sizing.py                       # full scale (300k shoppers): about 6 minutes here
    python benchmarks/sizing.py --set audience.size=100k -j 2

Prints, per sizing, the runs it took, the runs per pool and the wall time. Goal: at most 12 model
runs per pool. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from simulator import load_scenario
from simulator.analysis import size

SCENARIO = "scenarios/xiaomi-thursday-flash.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("-r", "--replications", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO, args.overrides)
    print(
        f"{SCENARIO} {' '.join(args.overrides)}: {scenario.audience.size:,} shoppers, "
        f"{args.replications} replication(s), {args.jobs} job(s)"
    )
    for what in ("servers", "agents"):
        started = time.perf_counter()
        found = size(scenario, what, replications=args.replications, jobs=args.jobs)
        seconds = time.perf_counter() - started
        runs = Counter(run.what.split(":")[0] for run in found.runs)
        for variant, count in runs.items():
            pools = len(next(run.config for run in found.runs if run.what.startswith(variant)))
            print(
                f"  {what:8s} {variant:40s} {count:3d} runs  {count / pools:5.1f} per "
                f"{'pool' if what == 'servers' else 'interval x team'}"
            )
        for row in found.rows:
            print(
                f"    {row['variant'] or row['what']:40s} {row['item']:8s} {row['current']:>6} -> {row['sized']:>6}"
                f"  (theory start {row['warm_start']})  {row['cost']:,.1f} {row['cost_unit']}"
            )
        for problem in found.unmet:
            print(f"    not met: {problem}")
        print(f"  {what}: {len(found.runs)} runs in {seconds:.1f} s")


if __name__ == "__main__":
    main()
