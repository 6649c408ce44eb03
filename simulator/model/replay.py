"""The scenario as a load test replays it: a share of the audience, on a faster clock.

A load test rarely sends the whole audience at a real system, or waits 45 minutes: it sends
`scale` of the shoppers for `scale` of the stock (so it sells out as the real sale would), with
every shopper-side time (arrival curve, think times, patience, backoff, refreshes, payment window,
horizon) divided by `speedup`. Server-side times (service,
client timeout) stay as they are: they belong to the system under test. The load test and the
model both run this same scenario, which is what lets `validate` compare them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from simulator.engine import streams
from simulator.model.demand import Shoppers, curves, draw_shoppers
from simulator.model.shopper import Habits
from simulator.scenario import Scenario, load_scenario, scaled


@dataclass
class Replay:
    """One process's view of the scaled scenario: who arrives when, and which shoppers are its own."""

    scenario: Scenario
    shoppers: Shoppers
    habits: list[Habits]
    run_time: float
    share: tuple[int, int] = (0, 1)
    """(index, count): this process walks shoppers index, index + count, ... (Locust workers)."""
    taken: int = 0
    started: float = 0.0
    """perf_counter at the test start in this process: time 0 of the scenario's scaled clock."""

    def take(self) -> int | None:
        """The next shopper of this process, or None when all are taken."""
        index, count = self.share
        me = index + self.taken * count
        if me >= len(self.shoppers.time):
            return None
        self.taken += 1
        return me

    def due(self, t: float) -> int:
        """Shoppers arriving before replay time t."""
        return bisect.bisect_left(self.shoppers.time, t)


def load_replay(
    path: str,
    scale: float,
    speedup: float,
    run_time: float | None,
    max_users: float | None = None,
    overrides: tuple[str, ...] = (),
    overlays: tuple[str, ...] = (),
) -> Replay:
    """Draw the replay of a scenario file: every shopper within the run time, checked against the user cap.

    Raises ValueError with a plain message when the replay would start more users than allowed.
    """
    scenario = scaled(load_scenario(path, overrides, overlays=overlays), scale, speedup)
    horizon = scenario.clock.horizon if run_time is None else min(run_time, scenario.clock.horizon)
    rng = streams(np.random.SeedSequence(scenario.seed))
    segments = list(scenario.audience.segments)
    behaviours = [scenario.audience.behaviour_of(s) for s in segments]
    shoppers = draw_shoppers(rng("loadtest:arrivals"), scenario, curves(scenario), 0.0, horizon, behaviours)
    cap = scenario.loadtest.max_users if max_users is None else max_users
    if len(shoppers.time) > cap:
        raise ValueError(
            f"{path}: the replay would start {len(shoppers.time):,} shoppers (Locust users) in {horizon:g} s; "
            f"the cap is {cap:,}: lower --scale or --run-time, or raise --max-users"
        )
    # mypy cannot type a lambda binding a loop variable by a default argument (mypy#15459)
    habits = [Habits(b, lambda purpose, s=s: rng(f"loadtest:{purpose}:{s}")) for s, b in zip(segments, behaviours)]  # type: ignore[misc]
    return Replay(scenario, shoppers, habits, horizon)
