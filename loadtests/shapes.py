"""The scenario's arrivals as a Locust load shape: an open workload, one Locust user per shopper.

A flash sale is an open workload: shoppers arrive on the curve whether or not earlier ones are
done. So the replay draws every shopper's arrival time (and intentions) up front from the scenario's
arrival curve, as the model does, and the shape keeps Locust's user count at the number of shoppers
due `LEAD` seconds ahead. Each new user takes the next shopper of its process, sleeps until that
shopper's arrival and walks one journey; finished users stay idle so the count only grows, and a
Locust user is never reused for a second shopper.
"""

from __future__ import annotations

import math

from locust import LoadTestShape

from simulator.model import Replay

LEAD = 2.0
"""Seconds ahead of its arrival a shopper's user is spawned, so spawning never makes it late."""


class ScenarioShape(LoadTestShape):
    """Users spawned at the scenario's arrival rate, LEAD seconds ahead of each shopper's arrival."""

    use_common_options = True  # --run-time bounds the replay
    replay: Replay | None = None
    """Set by the locustfile when Locust starts (the shape runs on the master or the local runner)."""

    def tick(self) -> tuple[int, float] | None:
        replay = self.replay
        t = self.get_run_time()
        if replay is None or t > replay.run_time:
            return None
        due = replay.due(t + LEAD)
        behind = due - self.get_current_user_count()  # a surge can make a whole second's users due at once
        upcoming = replay.due(t + LEAD + 1.0) - due
        return due, float(max(1, math.ceil(2 * behind), math.ceil(1.5 * upcoming)))
