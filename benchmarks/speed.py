"""Speed and memory: simulated requests per wall-second, against an idiomatic SimPy M/M/c, same run.

    python benchmarks/speed.py            # steady state, reference, Thursday flash, memory
    python benchmarks/speed.py --quick    # smaller loads, for a quick look

Prints figures and ratios; README records them. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time

import simpy

from simulator import load_scenario, simulate


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


def requests_of(summary: dict) -> float:
    return sum(e["requests"]["mean"] for e in summary["endpoints"].values())


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def peak_memory_mb(size: str) -> float:
    """Peak RSS of one Thursday flash replication at an audience size, in a fresh process."""
    code = (
        "import resource; from simulator import load_scenario, simulate; "
        f"simulate(load_scenario('scenarios/xiaomi-thursday-flash.yaml', ['audience.size={size}'])); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    hours = 0.5 if args.quick else 2.0
    lam, c = 10.0, 12

    steady = load_scenario("scenarios/steady-state.yaml", [f"audience.size={int(lam * hours * 3600)}",
                                                           f"clock.horizon={hours}h"])
    ours, t_ours = timed(lambda: simulate(steady).summary)
    ref, t_ref = timed(lambda: reference_mmc(lam, 1.0, c, hours * 3600))
    per_ours, per_ref = t_ours / requests_of(ours), t_ref / ref
    print(f"steady state M/M/{c}, rho {lam / c:.2f}: {requests_of(ours):,.0f} requests in {t_ours:.2f} s = "
          f"{1 / per_ours:,.0f} requests/s")
    print(f"idiomatic SimPy M/M/{c}, same load:  {ref:,} customers in {t_ref:.2f} s = {1 / per_ref:,.0f} customers/s")
    print(f"ratio (flashsim per request vs SimPy per customer): {per_ref / per_ours:.2f}x")

    size = "50k" if args.quick else "300k"
    flash = load_scenario("scenarios/xiaomi-thursday-flash.yaml", [f"audience.size={size}"])
    summary, t_flash = timed(lambda: simulate(flash).summary)
    print(f"Thursday flash, {size} shoppers, one replication: {requests_of(summary):,.0f} requests in "
          f"{t_flash:.1f} s = {requests_of(summary) / t_flash:,.0f} requests/s")

    small, large = ("25k", "100k") if args.quick else ("100k", "400k")
    m_small, m_large = peak_memory_mb(small), peak_memory_mb(large)
    print(f"peak memory, Thursday flash: {m_small:.0f} MB at {small} shoppers, {m_large:.0f} MB at {large} "
          f"(ratio {m_large / m_small:.2f} for 4x the shoppers)")
    print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak")


if __name__ == "__main__":
    main()
