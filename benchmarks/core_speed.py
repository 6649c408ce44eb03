"""How steady is this machine's CPU? A fixed computation timed on every core at once, every 50 ms.

    python benchmarks/core_speed.py            # 12 s on every core
    python benchmarks/core_speed.py --seconds 30

A load test measures a server's response times and a calibration its CPU per request; both take the
machine's speed as given. On a shared virtual machine a core's speed can change from one second to the
next (another tenant on the same physical core, the host's frequency), and near saturation a queue
multiplies that change. Prints, per core, the computation's CPU time at its fastest and slowest, the ratio,
and the share of samples more than 25% slower than the fastest: the noise floor below which a
validation on this machine cannot judge response times. Linux only (CPU affinity).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

WORK = 200_000
"""Loop iterations of the fixed computation (10-45 ms of CPU on the development machine, as it varied)."""


def sample(core: int, seconds: float, out: multiprocessing.Queue) -> None:
    """CPU milliseconds of the fixed computation, every 50 ms for `seconds`, on one core."""
    os.sched_setaffinity(0, {core})
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        began, total = time.process_time(), 0
        for i in range(WORK):
            total += i * i
        times.append((time.process_time() - began) * 1000)
        time.sleep(0.05)
    out.put((core, times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    out: multiprocessing.Queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=sample, args=(core, args.seconds, out)) for core in cores]
    for w in workers:
        w.start()
    results = dict(out.get() for _ in workers)
    for w in workers:
        w.join()
    for core in cores:
        times = sorted(results[core])
        fastest, slowest = times[0], times[-1]
        slow = sum(t > 1.25 * fastest for t in times) / len(times)
        print(
            f"core {core}: {len(times)} samples, fastest {fastest:.1f} ms, slowest {slowest:.1f} ms "
            f"(x{slowest / fastest:.2f}), {slow:.0%} of samples over 25% slower than the fastest"
        )


if __name__ == "__main__":
    main()
