"""Replications: one SeedSequence child each, run in parallel processes or on a cluster, results in
replication order.

The result is identical wherever replications run (one process, `jobs` processes, the workers of a Dask
cluster): each replication depends only on the scenario and its own seed child, and replications are
combined in their own order.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from simulator.analysis.summary import latency_windows, summarise, timeseries
from simulator.model import Shoppers, simulate_once
from simulator.scenario import Scenario


@dataclass
class RunResult:
    """A scenario's replications and what they add up to."""

    scenario: Scenario
    seed: int
    replications: list[dict]

    @cached_property
    def summary(self) -> dict[str, Any]:
        return summarise(self.scenario, self.seed, self.replications)

    @cached_property
    def timeseries(self) -> tuple[list[str], np.ndarray]:
        return timeseries(self.replications)

    @cached_property
    def latency(self) -> list[dict[str, Any]]:
        return latency_windows(self.replications)


def seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent seed child per replication."""
    return np.random.SeedSequence(seed).spawn(replications)


class Interrupted(Exception):
    """The run was stopped (Ctrl-C, SIGTERM) before every replication finished; `finished` holds those that
    did, per scenario, in replication order (the first k of each)."""

    def __init__(self, finished: dict[str, RunResult]):
        super().__init__("interrupted")
        self.finished = finished


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
    shoppers: Shoppers | None = None,
    cluster: str | None = None,
) -> RunResult:
    """Run the scenario's replications (defaults from the scenario), `jobs` at a time, or on the Dask cluster
    whose scheduler is at `cluster`; with `shoppers`, every replication is visited by those (their arrival
    times and intentions) instead of drawing its own."""
    return simulate_all({scenario.name: scenario}, seed, replications, jobs, progress, shoppers, cluster)[scenario.name]


def simulate_all(
    scenarios: dict[str, Scenario],
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
    shoppers: Shoppers | None = None,
    cluster: str | None = None,
) -> dict[str, RunResult]:
    """Run several scenarios on the same seed children (common random numbers), all their replications
    sharing the `jobs` processes or the cluster's workers; the seed and replications default to the first
    scenario's."""
    first = next(iter(scenarios.values()))
    seed = first.seed if seed is None else seed
    children = seeds(seed, replications or first.replications)
    tasks = [(name, child) for name in scenarios for child in children]
    results: dict[str, list[dict]] = {name: [] for name in scenarios}
    try:
        with executor(jobs, cluster, len(tasks)) as pool:
            if pool is None:
                for name, child in tasks:
                    results[name].append(simulate_once(scenarios[name], child, shoppers))
                    if progress:
                        progress()
            else:
                futures = [
                    (name, pool.submit(simulate_once, scenarios[name], child, shoppers)) for name, child in tasks
                ]
                for name, future in futures:
                    results[name].append(future.result())
                    if progress:
                        progress()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the command line makes it one): what finished, in order
        raise Interrupted({name: RunResult(scenarios[name], seed, reps) for name, reps in results.items()}) from None
    return {name: RunResult(scenarios[name], seed, reps) for name, reps in results.items()}


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a cluster's scheduler to answer."""


class ClusterProblem(Exception):
    """A cluster that cannot be used: Dask distributed missing, or no scheduler at the address."""


@contextmanager
def executor(jobs: int, cluster: str | None, tasks: int) -> Iterator[Executor | None]:
    """Where replications run: on the Dask cluster at `cluster`, else in `jobs` processes, else (None) here.

    Dask distributed rather than Ray: it is pure Python from PyPI on every platform flashsim runs on, its
    scheduler and workers start with one command each (`dask scheduler`, `dask worker ADDRESS`), and its
    client is a concurrent.futures Executor, so a cluster takes the place of the process pool unchanged.
    """
    if cluster is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ClusterProblem(
                "--cluster needs Dask distributed: pip install -e '.[cluster]' (here and on every worker)"
            ) from None
        try:
            client = Client(cluster, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as exc:
            raise ClusterProblem(f"--cluster {cluster}: no Dask scheduler answered there ({exc})") from None
        with client:
            yield client.get_executor()
    elif jobs <= 1 or tasks == 1:
        yield None
    else:
        pool = ProcessPoolExecutor(max_workers=min(jobs, tasks), initializer=_worker_ignores_interrupts)
        try:
            yield pool
        except BaseException:  # interrupted, or a replication failed: stop the workers now, not after their runs
            for process in list(pool._processes.values()):  # the executor offers no public way to stop them
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _worker_ignores_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the workers leave it to the parent, which stops them with
    SIGTERM, whose default (end at once) they take back from the handler the command line gave the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
