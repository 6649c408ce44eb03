"""How shoppers fare: arrivals and the one outcome each visit ends in, per second."""

from __future__ import annotations

from simulator.engine import series

OUTCOMES = ("bought", "sold_out", "gave_up", "left_funnel", "abandoned_queue", "diverted")
"""How a shopper's visit ends; a shopper still in the journey at the horizon has none yet."""


class ShopperStats:
    """Arrivals and outcomes of shoppers, per second (totals are the series' sums) and in the system now.

    Counted where a shopper arrives and where `World.finish` ends a visit (hot path: no call of its own).
    """

    def __init__(self, horizon: float):
        self.in_system = 0
        self.s_arrivals = series(horizon)
        self.s_in_system = series(horizon)
        self.s_outcomes = {o: series(horizon) for o in OUTCOMES}

    def snapshot(self) -> dict:
        return {
            "arrivals": sum(self.s_arrivals),
            "in_system": self.in_system,
            "outcomes": {o: sum(s) for o, s in self.s_outcomes.items()},
            "series": {"arrivals": self.s_arrivals, "in_system": self.s_in_system, **self.s_outcomes},
        }
