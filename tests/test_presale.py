"""Presale: deposit days aggregated vs order by order, held units, the balance rush, forfeits."""

import numpy as np
import pytest

from simulator.analysis.summary import stat
from simulator.model.presale import deposit_days, deposit_events
from simulator.model.replication import simulate_once
from tests.conftest import load_text

DOUBLE11 = """
name: presale
clock: {start: "2026-11-10 23:30", horizon: 3h}
seed: 5
audience: {size: 20k, behaviour: {patience: 30m, funnel: {buy: 1, pay: 1, pay_success: 1}}}
sales:
  - {name: phone, open: "2026-11-11 00:00", sku: phone, price: 3000}
system:
  pools:
    web: {workers: 100, queue_limit: 1000}
    order: {workers: 20, queue_limit: 200}
    payment: {workers: 40, queue_limit: 400}
  endpoints:
    product_page: {pool: web, service: "exp(20ms)", timeout: 3s}
    buy: {pool: web, service: "exp(10ms)", timeout: 3s}
    create_order: {pool: order, service: "exp(30ms)", timeout: 5s}
    pay: {pool: payment, service: "exp(200ms)", timeout: 10s}
inventory:
  skus:
    phone: {stock: 8000, payment_window: 10m}
presale:
  sale: phone
  units: 5000
  deposits_open: "2026-10-20 00:00"
  deposits_close: "2026-11-10 23:30"
  expected_deposits: 6000
  deposit: 100
  deposit_counts_as: 300
  deposit_pay: 0.8
  balance_open: "2026-11-11 00:00"
  balance_window: 1h
  conversion: 0.85
"""


def load(tmp_path, *overrides: str):
    return load_text(tmp_path, DOUBLE11, *overrides)


def test_aggregated_deposit_days_give_the_totals_of_a_per_order_run(tmp_path):
    # units never run out: the totals are the demand's
    presale = load(tmp_path, "presale.units=100k", "inventory.skus.phone.stock=100k").presale
    daily = [deposit_days(presale, np.random.default_rng([1, i])) for i in range(40)]
    events = [deposit_events(presale, np.random.default_rng([2, i])) for i in range(40)]
    for figure in ("orders", "holders", "closed"):
        a, b = stat([getattr(x, figure) for x in daily]), stat([getattr(x, figure) for x in events])
        assert a["ci95"][0] <= b["mean"] <= a["ci95"][1] or b["ci95"][0] <= a["mean"] <= b["ci95"][1], figure
    assert stat([x.holders for x in daily])["mean"] == pytest.approx(6000 * 0.8, rel=0.01)
    assert len(daily[0].per_day) == 22  # 20 Oct 00:00 to 10 Nov 23:30: 22 days, the last one short


def test_scarce_presale_units_cap_the_holders_both_ways(tmp_path):
    presale = load(tmp_path, "presale.units=3000").presale
    for book in (deposit_days(presale, np.random.default_rng(3)), deposit_events(presale, np.random.default_rng(3))):
        assert book.holders == 3000 and book.turned_away > 1000


@pytest.mark.parametrize("seed", [1, 2])
def test_holders_who_pay_get_their_unit_and_forfeits_return_exactly_theirs(tmp_path, seed):
    rep = simulate_once(load(tmp_path), np.random.SeedSequence(seed))
    p, stock = rep["presale"], rep["stock"]["phone"]
    holders = p["holders"]
    assert 4500 < holders <= 5000
    # every holder who came within the window paid: none is ever told "sold out" (a pool with room to spare)
    assert p["balance_paid"] + p["too_late"] == p["came_to_pay"] and p["gave_up"] == 0
    assert p["too_late"] < 0.1 * p["came_to_pay"]  # the tail of the arrival curve, after the window
    assert p["forfeited"] == holders - p["balance_paid"]
    levels = stock["series"]
    assert levels["available"][0] == 8000 - holders and levels["reserved"][0] == holders  # set aside at the start
    closes = 30 * 60 + 3600  # the balance window closes at 01:00
    assert p["returned_units"] == p["forfeited"]  # exactly their units go back on sale
    assert stock["series"]["expired"][closes] >= p["forfeited"]  # at the close
    units = [levels["sold"][s] + levels["reserved"][s] + levels["available"][s] for s in range(len(levels["sold"]))]
    assert set(units) == {8000}
    assert p["deposits"] == holders * 100 and p["forfeited_deposits"] == p["forfeited"] * 100


def test_balance_is_the_price_less_the_inflated_deposit(tmp_path):
    rep = simulate_once(load(tmp_path, "audience.size=1"), np.random.SeedSequence(1))
    p, stock = rep["presale"], rep["stock"]["phone"]
    balance_revenue = stock["revenue"] - 0  # one shopper at most buys at the spot price
    assert balance_revenue == pytest.approx(p["balance_paid"] * (3000 - 300), abs=3000)
