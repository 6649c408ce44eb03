"""Live-stream drops: each sends its share of the viewers present, arriving with exponential delays of its
mean; viewers are read in straight lines between the times given; they grow with --scale and a load test's
share; bad streams are named at their line."""

from __future__ import annotations

import math

import numpy as np

from simulator import simulate
from simulator.model import curves
from simulator.model.demand import Burst
from simulator.scenario.scaling import grown, scaled
from tests.conftest import load_text

STEADY = "scenarios/steady-state.yaml"
STREAM = """
  - name: drop
    open: "+0s"
    sku: item
    price: 1
    audience_share: 0
live_streams:
  evening:
    viewers: {"00:10": 0, "00:20": 100k, "00:40": 100k, "00:50": 0}
    drops:
      - {at: "00:15", sale: drop, share: 10%, within: 10s}   # 50k present: 5,000 expected
      - {at: "00:30", sale: drop, share: 4%, within: 20s}    # 100k present: 4,000 expected
"""


def streamed(tmp_path, *overrides: str):
    """The steady state with a nearly empty sale of its own and an evening stream dropping an item twice."""
    text = open(STEADY, encoding="utf-8").read().replace("    price: 1\n", "    price: 1\n" + STREAM, 1)
    return load_text(tmp_path, text, "audience.size=100", "clock.horizon=1h", *overrides)


def test_a_drop_sends_its_share_of_the_viewers_present_within_seconds(tmp_path):
    scenario = streamed(tmp_path)
    assert scenario.live_streams["evening"].viewers_at(15 * 60) == 50_000  # half-way up the first line
    for rep in simulate(scenario, replications=2, jobs=2).replications:
        arrivals = np.asarray(rep["shoppers"]["series"]["arrivals"])
        for at, expected, mean in ((900, 5000, 10), (1800, 4000, 20)):
            burst = arrivals[at : at + 10 * mean].sum()  # the base sale adds about one shopper a minute
            assert abs(burst - expected) < 4 * math.sqrt(expected) + 5, (at, burst)
            first = arrivals[at : at + mean].sum()  # within one mean delay: 1 - 1/e of them (exponential)
            assert abs(first / burst - (1 - math.exp(-1))) < 0.03, (at, first / burst)


def test_viewers_grow_with_the_promotion_and_shrink_with_a_load_tests_share(tmp_path):
    scenario = streamed(tmp_path)
    bigger_one = grown(scenario, 3)
    bigger = bigger_one.live_streams["evening"]
    assert list(bigger.viewers.values()) == [0, 300_000, 300_000, 0]
    expected = [
        sum(c.expected_between(0, 3600) for c in curves(s) if isinstance(c, Burst)) for s in (scenario, bigger_one)
    ]
    assert math.isclose(expected[1], 3 * expected[0]) and math.isclose(expected[0], 9000)
    fast = scaled(scenario, scale=0.01, speedup=10)  # a load test's hundredth, ten times faster
    burst = next(c for c in curves(fast) if isinstance(c, Burst))
    assert (burst.parts[0].start, burst.parts[0].scale) == (90, 1.0) and math.isclose(burst.parts[0].expected, 50)
