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

from simulator.model import simulate_once
from simulator.scenario import Scenario
from simulator.summary import latency_windows, summarise, timeseries


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
    def timeseries(self) -> tuple[list[str], list[list[float]]]:
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
) -> RunResult:
    """Run the scenario's replications (defaults from the scenario), `jobs` at a time."""
    seed = scenario.seed if seed is None else seed
    children = seeds(seed, replications or scenario.replications)
    if jobs <= 1 or len(children) == 1:
        results = []
        for child in children:
            results.append(simulate_once(scenario, child))
            if progress:
                progress()
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(children))) as pool:
            futures = [pool.submit(simulate_once, scenario, child) for child in children]
            results = []
            for future in futures:
                results.append(future.result())
                if progress:
                    progress()
    return RunResult(scenario, seed, results)
