"""Compare on a local Dask cluster of 2 workers against --jobs 1: wall time, speed-up, identical results.

    python benchmarks/cluster.py                        # Thursday flash at 50k shoppers, 3 plans, 2 replications
    python benchmarks/cluster.py --set audience.size=300k -r 1

Starts the cluster as `dask scheduler` and two `dask worker`s would (one process and one thread each),
runs the same comparison there and in this process, and checks that every summary is the same.
Not a test: timings depend on the machine (here 2 shared cores, so 2x is the ceiling).
"""

from __future__ import annotations

import argparse
import time

from distributed import LocalCluster

from simulator.analysis import load_plans, run_plans

SCENARIO = "scenarios/xiaomi-thursday-flash.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("-r", "--replications", type=int, default=2)
    parser.add_argument("--plan", dest="plans", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    overrides = args.overrides or ["audience.size=50k"]
    plans = args.plans or ["waiting-room", "more-servers", "backup-cluster"]
    scenarios = load_plans(SCENARIO, plans, overrides)
    runs = len(scenarios) * args.replications
    print(f"{SCENARIO} {' '.join(overrides)}: baseline and {len(plans)} plan(s), {args.replications} replication(s)")

    started = time.perf_counter()
    here = run_plans(scenarios, replications=args.replications, jobs=1)
    alone = time.perf_counter() - started
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        started = time.perf_counter()
        there = run_plans(scenarios, replications=args.replications, cluster=cluster.scheduler_address)
        clustered = time.perf_counter() - started
    same = all(there.results[name].summary == here.results[name].summary for name in scenarios)
    print(f"--jobs 1:               {runs} runs in {alone:.1f} s")
    print(f"local cluster, 2 workers: {runs} runs in {clustered:.1f} s: {alone / clustered:.2f}x")
    print(f"summaries identical: {same}")


if __name__ == "__main__":
    main()
