"""The warehouse: exact ship times on a constant rate, orders conserved every second, shifts over midnight,
and the New Year day's promise kept with its +50% staff and broken without."""

from __future__ import annotations

import numpy as np

from simulator import load_scenario, simulate
from simulator.analysis import sizing
from simulator.model import fulfilment
from simulator.model.fulfilment import ship, shipped_per_second, staff_per_second

NEW_YEAR = "scenarios/new-year-flash.yaml"


def test_a_thousand_orders_at_one_a_second_ship_in_order_one_each_second():
    paid = np.zeros(2000, dtype=np.int64)
    paid[0] = 1000
    out = ship(paid, np.full(2000, 1.0), within=600)
    # order k ships at second k: those after k = 600 broke a 10-minute promise
    assert out["orders"] == out["shipped"] == 1000 and out["backlog_at_end"] == 0 and out["peak_backlog"] == 999
    assert out["breach_rate"] == 399 / 1000 and out["ship_mean_s"] == 999 / 2


def test_orders_in_are_shipped_plus_backlog_at_every_second_and_no_capacity_is_stored():
    rng = np.random.default_rng(5)
    paid = rng.poisson(rng.choice([0.0, 3.0], 20_000, p=[0.7, 0.3]))  # bursts and lulls
    rate = rng.choice([0.0, 0.5, 1.25], 20_000)  # shifts off, slow and fast
    shipped = shipped_per_second(paid, rate)
    backlog = np.cumsum(paid) - np.cumsum(shipped)
    assert (backlog >= 0).all() and (shipped >= 0).all()
    assert (np.cumsum(shipped) <= np.floor(np.cumsum(rate) + 1e-9)).all()  # never more work than was done
    # capacity is lost while nothing waits: after an idle second, shipping restarts from that second's work
    for s in np.flatnonzero((backlog[:-1] == 0) & (backlog[1:] > 0))[:50]:
        assert shipped[s + 1] <= int(rate[s + 1])
    out = ship(paid, rate, within=3600)
    hour_ends = np.minimum(np.arange(1, len(out["series"]["backlog"]) + 1) * 3600, len(paid)) - 1
    assert out["series"]["backlog"] == backlog[hour_ends].tolist()
    assert sum(out["series"]["paid"]) == paid.sum() and sum(out["series"]["shipped"]) == shipped.sum()


def test_shifts_repeat_daily_and_one_past_midnight_counts_on_both_sides():
    f = load_scenario(NEW_YEAR).fulfilment
    staff = staff_per_second(f, first=9.5 * 3600, seconds=2 * 86400)  # from 09:30 for two days
    assert staff[0] == 12 and staff[int(11 * 3600)] == 6 and staff[int(22.5 * 3600)] == 12  # 09:30, 20:30, 08:00
    assert staff.sum() / 3600 == 2 * (12 * 12 + 6 * 12)


def test_restock_reservations_join_the_queue_when_the_suppliers_units_arrive():
    scenario = load_scenario(NEW_YEAR, ("fulfilment.restock_lead=1h", "fulfilment.until=14h30m"))
    horizon = int(scenario.clock.horizon)  # 14h30m: followed to the horizon
    taken = [100.0, 100.5, 4000.2, horizon - 100.0]  # the last one's units come after the end: not followed
    result = {"stock": {"tv": {"series": {"paid": [0] * horizon}, "restock_times": taken}}}
    out = fulfilment.run(scenario, result)
    assert out["restock_orders"] == out["orders"] == 3
    assert out["series"]["paid"] == [0, 2, 1] + [0] * 12  # arriving 1 h after they were taken
    assert out["shipped"] == 3 and out["breach_rate"] == 0  # 12 staff at 25 an hour: one order every 12 s


def test_the_new_year_day_ships_every_order_it_paid_and_the_extra_staff_keep_the_promise():
    small = ("audience.size=20k",)
    usual = ("fulfilment.roster[0].staff=2", "fulfilment.roster[1].staff=1")
    run = simulate(load_scenario(NEW_YEAR, small), replications=1).replications[0]
    paid = sum(sum(stock["series"]["paid"]) for stock in run["stock"].values())
    restock = sum(stock["restock_reservations"] for stock in run["stock"].values())
    warehouse = run["fulfilment"]
    assert warehouse["restock_orders"] == restock > 0  # every unit owed arrives (24 h) before the end
    assert warehouse["orders"] == paid + restock == warehouse["shipped"] + warehouse["backlog_at_end"] > 0
    short = simulate(load_scenario(NEW_YEAR, small + usual), replications=1).replications[0]["fulfilment"]
    assert short["orders"] == warehouse["orders"]  # the sale is the same; only the warehouse differs
    assert short["breach_rate"] > warehouse["breach_rate"] and short["peak_backlog"] > warehouse["peak_backlog"]


def test_warehouse_sizing_finds_the_fewest_staff_that_keep_the_promise_on_fresh_replications():
    scenario = load_scenario(NEW_YEAR, ("audience.size=40k",))
    found = sizing.size(scenario, "warehouse", seed=3, replications=3, jobs=2)
    assert not found.unmet and found.scenario is not None
    sized = sum(row["sized"] for row in found.rows)
    runs = [(sum(run.config.values()), run.passed["roster"]) for run in found.runs]
    assert (sized, True) in runs and all(not ok for total, ok in runs if total < sized)  # none fewer passed
    fresh = simulate(found.scenario, seed=4, replications=3, jobs=2)  # out of sample
    checks = sizing.verify(found, fresh, "warehouse")
    assert len(checks) == 1 and checks[0]["met"], checks
