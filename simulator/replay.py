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
import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from simulator.demand import Shoppers, curves, draw_shoppers
from simulator.model import streams
from simulator.scenario import Arrivals, Behaviour, BehaviourOverride, Scenario, load_scenario
from simulator.shopper import Habits

B = TypeVar("B", Behaviour, BehaviourOverride)


def replayed(scenario: Scenario, scale: float = 1.0, speedup: float = 1.0) -> Scenario:
    """The scenario with `scale` of its audience and its shopper-side clock `speedup` times faster."""
    if not (0 < scale <= 1):
        raise ValueError(f"scale {scale:g}: use a fraction of the audience in (0, 1], e.g. 0.01")
    if not (math.isfinite(speedup) and speedup >= 1):
        raise ValueError(f"speedup {speedup:g}: use a number >= 1, e.g. 10")
    k = 1.0 / speedup
    audience = scenario.audience
    segments = {
        name: seg.model_copy(update={"behaviour": _behaviour(seg.behaviour, k)})
        for name, seg in audience.segments.items()
    }
    return scenario.model_copy(update={
        "clock": scenario.clock.model_copy(update={"horizon": scenario.clock.horizon * k}),
        "audience": audience.model_copy(update={
            "size": max(1, round(audience.size * scale)),
            "segments": segments,
            "arrivals": _arrivals(audience.arrivals, k),
            "behaviour": _behaviour(audience.behaviour, k),
        }),
        "sales": [
            sale.model_copy(update={"open": sale.open * k,
                                    "arrivals": sale.arrivals and _arrivals(sale.arrivals, k)})
            for sale in scenario.sales
        ],
        "inventory": scenario.inventory.model_copy(update={"skus": {
            name: sku.model_copy(update={"payment_window": sku.payment_window * k,
                                         "stock": max(1, round(sku.stock * scale))})
            for name, sku in scenario.inventory.skus.items()
        }}),
    })


def _arrivals(a: Arrivals, k: float) -> Arrivals:
    return a.model_copy(update={"build_up": a.build_up * k, "surge_time": a.surge_time * k, "decay": a.decay * k})


def _behaviour(b: B, k: float) -> B:
    update: dict = {name: getattr(b, name).scaled(k) for name in ("think_time", "pay_delay", "patience")
                    if getattr(b, name) is not None}
    if b.retry is not None:
        update["retry"] = b.retry.model_copy(update={"backoff": b.retry.backoff * k,
                                                     "max_backoff": b.retry.max_backoff * k})
    if b.sold_out is not None:
        update["sold_out"] = b.sold_out.model_copy(update={"refresh_every": b.sold_out.refresh_every * k,
                                                           "keep_trying_for": b.sold_out.keep_trying_for * k})
    return b.model_copy(update=update)


@dataclass
class Replay:
    """One process's view of the replayed scenario: who arrives when, and which shoppers are its own."""

    scenario: Scenario
    shoppers: Shoppers
    habits: list[Habits]
    run_time: float
    share: tuple[int, int] = (0, 1)
    """(index, count): this process walks shoppers index, index + count, ... (Locust workers)."""
    taken: int = 0
    started: float = 0.0
    """perf_counter at the test start in this process: time 0 of the scenario's replayed clock."""

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


def load_replay(path: str, scale: float, speedup: float, run_time: float | None, max_users: float | None = None,
                overrides: tuple[str, ...] = ()) -> Replay:
    """Draw the replay of a scenario file: every shopper within the run time, checked against the user cap.

    Raises ValueError with a plain message when the replay would start more users than allowed.
    """
    scenario = replayed(load_scenario(path, overrides), scale, speedup)
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
    habits = [Habits(b, lambda purpose, s=s: rng(f"loadtest:{purpose}:{s}")) for s, b in zip(segments, behaviours)]
    return Replay(scenario, shoppers, habits, horizon)
