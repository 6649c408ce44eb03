"""Red-packet rains: the budget is never overspent, caps hold, taps follow participants x rate."""

import numpy as np
import pytest

from simulator.model.replication import simulate_once
from tests.conftest import load_text

RAIN = """
name: rain
clock: {start: "09:55", horizon: 10m}
seed: 3
audience: {size: 10k}
sales:
  - {name: s, open: "10:00", sku: x, price: 100}
system:
  pools:
    web: {workers: 50, queue_limit: 500}
    grab: {workers: 20, queue_limit: 2000}
  endpoints:
    product_page: {pool: web, service: "exp(20ms)", timeout: 3s}
    grab: {pool: grab, service: "exp(5ms)", timeout: 2s}
inventory:
  skus:
    x: {stock: 100}
red_packets:
  morning: {start: "10:00", duration: 1m, participants: 20%, tap_rate: 3/s, budget: 5000, amount: "lognormal(5, 1)",
            per_user_cap: 2, win: 0.3}
"""


def run(tmp_path, *overrides: str, seed: int = 1) -> dict:
    return simulate_once(load_text(tmp_path, RAIN, *overrides), np.random.SeedSequence(seed))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_budget_is_never_overspent_and_caps_hold(tmp_path, seed):
    rep = run(tmp_path, seed=seed)
    rain = rep["red_packets"]["morning"]
    spent = np.cumsum(rain["series"]["spent"])
    assert spent[-1] == pytest.approx(rain["spent"]) and rain["spent"] <= 5000 + 1e-6
    assert (spent <= 5000 + 1e-6).all()
    assert rain["spent"] == pytest.approx(5000)  # this crowd empties it
    assert rain["winners"] <= rain["packets"] <= 2 * rain["winners"]  # nobody past the cap of 2
    assert rain["taps"] == rep["endpoints"]["grab"]["requests"]


def test_taps_per_second_are_participants_times_rate_while_the_pool_lasts(tmp_path):
    rep = run(
        tmp_path,
        "red_packets.morning.budget=1M",
        "red_packets.morning.per_user_cap=1000",
        "system.pools.grab.workers=100",
    )
    taps = rep["endpoints"]["grab"]["series"]["requests"]
    start, joined, end = 300, 305, 360  # joining over the first 5 s; then everyone taps
    assert rep["red_packets"]["morning"]["participants"] == 2000
    assert taps[joined:end] == [2000 * 3] * (end - joined)  # exactly: each taps on a fixed 1/3 s grid
    assert sum(taps[:start]) == 0 and sum(taps[end:]) == 0
    assert rep["red_packets"]["morning"]["exhausted_at"] is None


def test_taps_stop_when_the_pool_is_spent(tmp_path):
    rep = run(tmp_path, "red_packets.morning.budget=200", "red_packets.morning.per_user_cap=1000")
    rain = rep["red_packets"]["morning"]
    gone = int(rain["exhausted_at"])
    assert rain["spent"] == pytest.approx(200)
    assert sum(rep["endpoints"]["grab"]["series"]["requests"][gone + 2 :]) == 0  # the app stops tapping


def test_coupons_won_raise_later_buying(tmp_path):
    base = (
        "clock.horizon=30m",
        "sales[0].open=10:05",
        "audience.behaviour.funnel.buy=0.5",
        "inventory.skus.x.stock=100k",
        "audience.arrivals={shape: flat}",
    )  # every shopper after the rain
    plain = run(tmp_path, *base, seed=9)
    lifted = run(tmp_path, *base, "red_packets.morning.coupon_lift=0.5", seed=9)
    winners, arrivals = lifted["red_packets"]["morning"]["winners"], lifted["shoppers"]["arrivals"]
    assert arrivals == plain["shoppers"]["arrivals"]  # the same crowd (common random numbers)
    # a shopper holds a packet with chance winners/10k; half of those who would not press buy now do
    expected = arrivals * 0.5 * 0.5 * winners / 10_000
    converted = plain["shoppers"]["outcomes"]["left_funnel"] - lifted["shoppers"]["outcomes"]["left_funnel"]
    assert 0.75 * expected < converted < 1.1 * expected, (converted, expected)  # less the few who do not pay
