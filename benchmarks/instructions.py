"""Instructions executed per simulated request (valgrind's cachegrind): a speed figure a shared machine's noise
does not move, for judging a change to the hot path when wall time wanders by 20% from one hour to the next.

    python benchmarks/instructions.py              # the steady state of benchmarks/speed.py, 2 h (about 3 minutes)
    python benchmarks/instructions.py --hours 0.5  # a quicker look

Needs valgrind (`apt-get install valgrind`). Each side runs in a process of its own under cachegrind, less a
process that only imports the same modules; numpy's thread pool and Python's hash seed are pinned so that the
same code gives the same count. Prints figures and ratios; not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIDES = ("imports", "flashsim", "reference", "core")

CHILD = """
import sys
sys.path.insert(0, {here!r})
from speed import core_mmc, reference_mmc, requests_of
from simulator import load_scenario
from simulator import simulate
lam, c, hours = 10.0, 12, {hours!r}
steady = load_scenario("scenarios/steady-state.yaml", [f"audience.size={{int(lam * hours * 3600)}}",
                                                       f"clock.horizon={{hours}}h"])
side = {side!r}
if side == "flashsim":
    print(requests_of(simulate(steady, replications=1).summary))
elif side == "reference":
    print(reference_mmc(lam, 1.0, c, hours * 3600))
elif side == "core":
    print(core_mmc(lam, 1.0, c, hours * 3600))
else:
    print(0)
"""


def instructions(side: str, hours: float) -> tuple[int, float]:
    """Instructions executed by one side's process, and the requests (or customers) it simulated."""
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CHILD.format(here=str(HERE), hours=hours, side=side),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=HERE.parent,
    )
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if refs is None:
        raise RuntimeError(f"no instruction count in valgrind's output for {side}:\n{out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours of the steady state")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(SIDES, pool.map(lambda side: instructions(side, args.hours), SIDES)))
    base = counts["imports"][0]
    per = {side: (n - base) / done for side, (n, done) in counts.items() if side != "imports"}
    print(f"steady state M/M/12 for {args.hours:g} h, instructions less an import-only process:")
    print(f"  flashsim:          {per['flashsim']:,.0f} per request ({counts['flashsim'][1]:,.0f} requests)")
    print(f"  idiomatic SimPy:   {per['reference']:,.0f} per customer ({counts['reference'][1]:,.0f} customers)")
    print(f"  flashsim's core:   {per['core']:,.0f} per request ({counts['core'][1]:,.0f} requests)")
    print(
        f"ratio (flashsim per request vs SimPy per customer): {per['reference'] / per['flashsim']:.2f}x; "
        f"core alone {per['reference'] / per['core']:.2f}x"
    )


if __name__ == "__main__":
    main()
