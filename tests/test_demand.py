"""Arrival curves: the drawn arrivals follow the curve, and the curve's rate integrates to its counts."""

import numpy as np

from simulator import load_scenario
from simulator.model.demand import curves

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"


def test_rate_integrates_to_expected_arrivals():
    curve = curves(load_scenario(THURSDAY))[0]
    t = np.linspace(0, curve.horizon, 2_000_001)
    integral = np.trapezoid(curve.rate(t), t)
    assert abs(integral - curve.expected_between(0, curve.horizon)) / integral < 1e-3


def test_drawn_arrivals_match_the_curve_per_window():
    curve = curves(load_scenario(THURSDAY))[0]
    rng = np.random.default_rng(3)
    edges = [0, 600, 880, 900, 901, 903, 910, 960, 1200, 2700]
    counts = [len(curve.sample(rng, a, b)) for a, b in zip(edges, edges[1:])]
    for (a, b), n in zip(zip(edges, edges[1:]), counts):
        expected = curve.expected_between(a, b)
        assert abs(n - expected) <= 5 * np.sqrt(expected) + 1, (a, b, n, expected)
    assert counts[3] > counts[0]  # the first second after the open outweighs the first ten minutes


def test_arrivals_within_a_window_are_sorted_and_inside_it():
    curve = curves(load_scenario(THURSDAY))[0]
    times = curve.sample(np.random.default_rng(1), 895.0, 905.0)
    assert len(times) > 1000
    assert np.all(np.diff(times) >= 0) and times.min() >= 895.0 and times.max() < 905.0
