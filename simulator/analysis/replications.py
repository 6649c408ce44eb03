"""Replications: one SeedSequence child each, run in parallel processes, results in replication order.

The result is identical whatever the number of processes: each replication depends only on the
scenario and its own seed child, and replications are combined in their own order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
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


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
    shoppers: Shoppers | None = None,
) -> RunResult:
    """Run the scenario's replications (defaults from the scenario), `jobs` at a time; with `shoppers`, every
    replication is visited by those (their arrival times and intentions) instead of drawing its own."""
    return simulate_all({scenario.name: scenario}, seed, replications, jobs, progress, shoppers)[scenario.name]


def simulate_all(
    scenarios: dict[str, Scenario],
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
    shoppers: Shoppers | None = None,
) -> dict[str, RunResult]:
    """Run several scenarios on the same seed children (common random numbers), all their replications
    sharing the `jobs` processes; the seed and replications default to the first scenario's."""
    first = next(iter(scenarios.values()))
    seed = first.seed if seed is None else seed
    children = seeds(seed, replications or first.replications)
    tasks = [(name, child) for name in scenarios for child in children]
    results: dict[str, list[dict]] = {name: [] for name in scenarios}
    if jobs <= 1 or len(tasks) == 1:
        for name, child in tasks:
            results[name].append(simulate_once(scenarios[name], child, shoppers))
            if progress:
                progress()
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
            futures = [(name, pool.submit(simulate_once, scenarios[name], child, shoppers)) for name, child in tasks]
            for name, future in futures:
                results[name].append(future.result())
                if progress:
                    progress()
    return {name: RunResult(scenarios[name], seed, reps) for name, reps in results.items()}
