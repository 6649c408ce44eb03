"""Speed and memory: simulated requests per wall-second, against an idiomatic SimPy M/M/c, same run.

    python benchmarks/speed.py            # steady state, reference, Thursday flash, memory
    python benchmarks/speed.py --quick    # smaller loads, for a quick look

Prints figures and ratios; README records them. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time

import numpy as np
import simpy

from simulator import load_scenario, simulate
from simulator.distributions import Distribution, sampler
from simulator.engine import Endpoint, Engine, Pool


def reference_mmc(lam: float, mu: float, c: int, horizon: float, seed: int = 1) -> int:
    """The textbook SimPy M/M/c: one process per customer, simpy.Resource, waits recorded in a list."""
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    rnd = random.Random(seed)
    waits: list[float] = []

    def customer():
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rnd.expovariate(mu))

    def source():
        while True:
            yield env.timeout(rnd.expovariate(lam))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    return len(waits)


def core_mmc(lam: float, mu: float, c: int, horizon: float, seed: int = 1) -> int:
    """flashsim's queueing core alone on the same M/M/c: the engine and a pool, one request per customer,
    no journey around it. Splits the model's cost between its core and the shopper journey."""
    env = Engine()
    pool = Pool(env, "web", c, None, False, horizon)
    endpoint = Endpoint(
        "page", pool, sampler(Distribution("exp", (1 / mu,)), np.random.default_rng(seed)), None, horizon
    )
    gaps = np.random.default_rng(seed + 1).exponential(1 / lam, int(lam * horizon * 1.1) + 100)

    def customer():
        yield endpoint.call(None)

    env.start((t, customer()) for t in np.cumsum(gaps).tolist() if t < horizon)
    env.run_until(horizon)
    return sum(endpoint.stats.s_requests)


def requests_of(summary: dict) -> float:
    return sum(e["requests"]["mean"] for e in summary["endpoints"].values())


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def rounds_of(rounds: int, *fns) -> list[list[tuple]]:
    """Each round's (result, time) of every function, the functions taking turns within a round: a busy
    spell on a shared machine then slows the runs of one round alike."""
    return [[timed(fn) for fn in fns] for _ in range(rounds)]


def peak_memory_mb(rate: float) -> float:
    """Peak Python heap (tracemalloc) of one hour of the steady state at `rate` shoppers/s, workers scaled.

    Memory should follow the horizon (per-second series) and the shoppers in the system at once, not
    the number of shoppers: 4x the rate on 4x the workers must cost about the same.
    """
    overrides = [f"audience.size={int(rate * 3600)}", "clock.horizon=1h", f"system.pools.web.workers={int(1.2 * rate)}"]
    code = (
        "import tracemalloc; from simulator import load_scenario, simulate; "
        f"s = load_scenario('scenarios/steady-state.yaml', {overrides!r}); tracemalloc.start(); "
        "simulate(s, replications=1); print(tracemalloc.get_traced_memory()[1])"
    )  # a fresh process each (ru_maxrss would carry this process's peak across exec)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=9, help="steady-state rounds (each side once per round)")
    args = parser.parse_args()
    hours = 0.5 if args.quick else 2.0
    lam, c = 10.0, 12

    steady = load_scenario(
        "scenarios/steady-state.yaml", [f"audience.size={int(lam * hours * 3600)}", f"clock.horizon={hours}h"]
    )
    runs = rounds_of(
        args.rounds,
        lambda: simulate(steady, replications=1).summary,
        lambda: reference_mmc(lam, 1.0, c, hours * 3600),
        lambda: core_mmc(lam, 1.0, c, hours * 3600),
    )
    (ours, t_ours), (ref, t_ref), (core, t_core) = (min(side, key=lambda run: run[1]) for side in zip(*runs))
    per_ours, per_ref = t_ours / requests_of(ours), t_ref / ref
    paired = sorted((t_r / n_r) / (t_o / requests_of(o)) for (o, t_o), (n_r, t_r), _ in runs)
    print(
        f"steady state M/M/{c}, rho {lam / c:.2f}: {requests_of(ours):,.0f} requests in {t_ours:.2f} s = "
        f"{1 / per_ours:,.0f} requests/s"
    )
    print(f"idiomatic SimPy M/M/{c}, same load:  {ref:,} customers in {t_ref:.2f} s = {1 / per_ref:,.0f} customers/s")
    print(
        f"ratio (flashsim per request vs SimPy per customer): {per_ref / per_ours:.2f}x, each side's best of "
        f"{args.rounds}; round by round {paired[0]:.2f}x to {paired[-1]:.2f}x, "
        f"median {statistics.median(paired):.2f}x"
    )
    print(
        f"flashsim's queueing core alone, same load: {core:,} requests in {t_core:.2f} s = {core / t_core:,.0f} "
        f"requests/s, {per_ref / (t_core / core):.2f}x the reference"
    )

    size = "50k" if args.quick else "300k"
    flash = load_scenario("scenarios/xiaomi-thursday-flash.yaml", [f"audience.size={size}"])
    summary, t_flash = timed(lambda: simulate(flash).summary)
    print(
        f"Thursday flash, {size} shoppers, one replication: {requests_of(summary):,.0f} requests in "
        f"{t_flash:.1f} s = {requests_of(summary) / t_flash:,.0f} requests/s"
    )

    m_low, m_high = peak_memory_mb(10), peak_memory_mb(40)
    print(
        f"peak heap, steady state for 1 h: {m_low:.1f} MB at 36,000 shoppers, {m_high:.1f} MB at 144,000 "
        f"(ratio {m_high / m_low:.2f} for 4x the shoppers)"
    )


if __name__ == "__main__":
    main()
