"""Member privileges (quota, guaranteed units, early access, member price) and the contingency playbook."""

import numpy as np
import pytest

from simulator.model.inventory import GENERAL, MEMBER, TOP
from simulator.model.replication import simulate_once
from tests.conftest import load_text

SHOP = """
name: members
clock: {start: "19:00", horizon: 90m}
seed: 1
audience:
  size: 20k
  segments:
    guest: {share: 0.6}
    member: {share: 0.3}
    platinum: {share: 0.1}
  arrivals: {build_up: 5m, build_up_share: 0.1, surge_share: 0.7, surge_time: 3s, decay: 2m}
  behaviour:
    think_time: 1s
    pay_delay: 10s
    funnel: {buy: 1, pay: 1, pay_success: 1}
    sold_out: {keep_trying: 0.5, refresh_every: 5s, keep_trying_for: 5m}
sales:
  - name: flash
    open: "20:00"
    sku: phone
    price: 2000
    discount: 300
system:
  pools:
    web: {workers: 200, queue_limit: 2000}
    order: {workers: 30, queue_limit: 300}
  endpoints:
    product_page: {pool: web, service: "exp(30ms)", timeout: 3s}
    buy: {pool: web, service: "exp(20ms)", timeout: 3s}
    create_order: {pool: order, service: "exp(40ms)", timeout: 5s}
    pay: {pool: order, service: "exp(100ms)", timeout: 5s}
inventory:
  skus:
    phone: {stock: 500, payment_window: 5m}
    other: {stock: 200, payment_window: 5m}
"""


def run(tmp_path, *overrides: str, seed: int = 1) -> dict:
    return simulate_once(load_text(tmp_path, SHOP, *overrides), np.random.SeedSequence(seed))


def conserved(stock: dict) -> bool:
    return stock["sold"] + stock["reserved"] + stock["available"] == stock["initial"] + stock["replenished"]


# -- members -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_member_quota_and_guaranteed_units_are_never_sold_to_others(tmp_path, seed):
    rep = run(
        tmp_path,
        "sales[0].members={segments: [member, platinum], quota: 30%, guaranteed: {segment: platinum, units: 50}}",
        seed=seed,
    )
    stock = rep["stock"]["phone"]
    taken = stock["taken"]  # taken[bucket][tier]
    assert taken[MEMBER][GENERAL] == 0  # the quota: members only
    assert taken[TOP][GENERAL] == taken[TOP][MEMBER] == 0  # set aside: the top tier only
    assert sum(taken[MEMBER]) >= 150 and sum(taken[TOP]) >= 50  # and they were wanted: all 150 + 50 went
    assert sum(taken[GENERAL]) > 0
    assert stock["sold"] == 500 and conserved(stock)


@pytest.mark.slow
def test_early_access_lets_members_buy_out_the_stock_before_the_open(tmp_path):
    rep = run(
        tmp_path,
        "sales[0].members={segments: [member, platinum], early_access: 1h, discount: 10%}",
        "inventory.skus.phone.stock=300",
    )
    stock = rep["stock"]["phone"]
    assert stock["sold_out_at"] < 3600  # before 20:00
    assert sum(row[GENERAL] for row in stock["taken"]) == 0  # no guest ever held a unit
    assert stock["sold"] == 300
    assert stock["revenue"] == pytest.approx(300 * 1700 * 0.9)  # member price: 10% off the sale price


@pytest.mark.slow
def test_without_privileges_everyone_buys_general_stock_at_the_sale_price(tmp_path):
    stock = run(tmp_path)["stock"]["phone"]
    assert stock["taken"][GENERAL][GENERAL] == sum(map(sum, stock["taken"])) > 500  # expired units resold
    assert stock["revenue"] == pytest.approx(stock["sold"] * 1700)


@pytest.mark.slow
def test_kept_units_go_on_general_sale_after_their_hold(tmp_path):
    held = run(
        tmp_path,
        "sales[0].members={segments: [platinum], quota: 90%, quota_hold_for: 2m}",
        "audience.segments={guest: {share: 0.98}, platinum: {share: 0.02}}",
        "clock.horizon=2h",
    )
    stock = held["stock"]["phone"]
    assert stock["taken"][GENERAL][GENERAL] > 50 + 50  # 50 general units, then the 450 released at 20:02
    assert stock["sold_out_at"] > 3720
    assert stock["kept"] == [0, 0]


# -- contingency -------------------------------------------------------------------------------

OVERLOAD = ("system.pools.web.workers=20", "audience.size=60k")


@pytest.mark.slow
def test_scale_out_never_takes_effect_before_its_lag(tmp_path):
    rep = run(
        tmp_path,
        *OVERLOAD,
        "contingency={more: {when: {error_rate: {pool: web, above: 5%, window: 10s}}, "
        "after: 20s, do: {scale_out: {pool: web, add: 100, lag: 90s}}}}",
    )
    (firing,) = rep["contingency"]
    assert firing["effective_at"] == pytest.approx(firing["fired_at"] + 20 + 90)
    workers = rep["pools"]["web"]["series"]["workers"]
    first = next(s for s, w in enumerate(workers) if w != 20)  # the level at s is the state before s
    assert first == int(np.floor(firing["effective_at"])) + 1 and workers[first] == 120
    assert rep["pools"]["web"]["peak_workers"] == 120
    # worker-hours: 20 until the scale-out, 120 after
    expected = (20 * firing["effective_at"] + 120 * (5400 - firing["effective_at"])) / 3600
    assert rep["pools"]["web"]["worker_seconds"] / 3600 == pytest.approx(expected)


def test_repeating_scale_out_stops_at_its_cap(tmp_path):
    rep = run(
        tmp_path,
        *OVERLOAD,
        "system.endpoints.product_page.service=exp(2s)",
        "contingency={more: {when: {queue: {pool: web, above: 10, window: 5s}}, "
        "after: 0s, do: {scale_out: {pool: web, add: 10, lag: 30s, max: 45}}, "
        "repeat: true, cooldown: 10s}}",
    )
    assert len(rep["contingency"]) == 3 and rep["pools"]["web"]["peak_workers"] == 45
    times = [f["fired_at"] for f in rep["contingency"]]
    assert all(b - a >= 40 for a, b in zip(times, times[1:]))  # lag 30 s + cooldown 10 s apart


@pytest.mark.slow
def test_scheduled_failover_and_simplified_checkout(tmp_path):
    rep = run(
        tmp_path,
        *OVERLOAD,
        'contingency={backup: {when: {at: "19:50"}, after: 0s, do: {failover: {pool: web, workers: 400, '
        'lag: 60s}}}, lite: {when: {at: "20:00:05"}, after: 0s, do: {degrade: {skip: [product_page, buy]}}}}',
    )
    assert [f["effective_at"] for f in rep["contingency"]] == [3060, 3605]
    workers = rep["pools"]["web"]["series"]["workers"]
    assert workers[3060] == 20 and workers[3061] == 400
    for step in ("product_page", "buy"):  # no longer requests, once retries already under way are done
        assert sum(rep["endpoints"][step]["series"]["requests"][3605 + 60 :]) == 0
    assert sum(rep["endpoints"]["create_order"]["series"]["requests"][3606:]) > 0


@pytest.mark.slow
def test_divert_steers_its_share_of_arrivals(tmp_path):
    rep = run(tmp_path, 'contingency={away: {when: {at: "19:00"}, after: 0s, do: {divert: {share: 25%}}}}')
    shoppers = rep["shoppers"]
    share = shoppers["outcomes"]["diverted"] / shoppers["arrivals"]
    assert abs(share - 0.25) < 4 * (0.25 * 0.75 / shoppers["arrivals"]) ** 0.5


@pytest.mark.slow
def test_stock_response_transfers_units_after_the_lead_and_offers_substitutes(tmp_path):
    rep = run(
        tmp_path,
        "contingency={"
        "transfer: {when: {stock: {sku: phone, below_share: 30%}}, after: 10s, "
        "           do: {transfer: {sku: phone, units: 100, lead: 5m}}}, "
        "substitute: {when: {stock: {sku: phone, below: 1}}, after: 0s, "
        "             do: {substitute: {sku: phone, to: other, price: 1500, share: 50%}}}}",
    )
    phone, other = rep["stock"]["phone"], rep["stock"]["other"]
    transfer = next(f for f in rep["contingency"] if f["rule"] == "transfer")
    assert transfer["effective_at"] == pytest.approx(transfer["fired_at"] + 310)
    assert phone["replenished"] == 100 and phone["sold"] == 600 and conserved(phone)
    levels = phone["series"]
    units = [sum(levels[k][s] for k in ("sold", "reserved", "available")) for s in range(len(levels["sold"]))]
    added = int(np.floor(transfer["effective_at"])) + 1  # the level at s is the state before s
    assert set(units[:added]) == {500} and set(units[added:]) == {600}
    assert other["sold"] > 0 and other["revenue"] == pytest.approx(other["sold"] * 1500) and conserved(other)
    assert phone["restock_reservations"] > 0
    outcomes = rep["shoppers"]["outcomes"]
    assert sum(outcomes.values()) + rep["shoppers"]["in_system"] == rep["shoppers"]["arrivals"]


def test_switching_on_queued_entry_holds_later_arrivals(tmp_path):
    rep = run(
        tmp_path,
        *OVERLOAD,
        "waiting_room={enabled: false, admit_rate: 50/s}",
        "inventory.skus.phone.stock=50k",
        "contingency={door: {when: {error_rate: {pool: web, above: 10%, window: 5s}}, after: 15s, "
        "do: {waiting_room: true}}}",
    )
    (firing,) = rep["contingency"]
    admitted = rep["waiting_room"]["series"]["admitted"]
    assert sum(admitted[: int(firing["effective_at"])]) == 0 and rep["waiting_room"]["admitted"] > 0
    assert max(admitted) <= 51  # never faster than the rate (two may share a second boundary)


@pytest.mark.slow
@pytest.mark.parametrize(("bound", "fires"), [("300ms", True), ("1h", False)])
def test_p99_rule_fires_only_when_the_tail_passes_its_bound(tmp_path, bound, fires):
    rep = run(
        tmp_path,
        *OVERLOAD,
        f"contingency={{slow: {{when: {{p99: {{endpoint: product_page, above: {bound}, "
        "window: 10s}}, after: 0s, do: {divert: {share: 10%}}}}",
    )
    assert len(rep["contingency"]) == int(fires)
    if fires:
        assert "product_page p99 above 300ms" in rep["contingency"][0]["reason"]
        assert rep["shoppers"]["outcomes"]["diverted"] > 0


def test_shrinking_a_pool_never_reports_more_than_full_use(tmp_path):
    rep = run(
        tmp_path,
        "system.endpoints.create_order.service=exp(20s)",
        "system.endpoints.create_order.timeout=null",
        "system.pools.order.workers=200",
        "system.pools.order.queue_limit=null",
        'contingency={small: {when: {at: "20:01"}, after: 0s, do: {failover: {pool: order, workers: 5, lag: 0s}}}}',
    )
    pool = rep["pools"]["order"]
    assert pool["busy_area"] <= pool["worker_seconds"] + 1e-6
    assert pool["worker_seconds"] > 200 * 3660 + 5 * (5400 - 3660)  # those still busy at 20:01 count till done


@pytest.mark.slow
def test_a_late_scale_out_never_undoes_a_failover(tmp_path):
    rep = run(
        tmp_path,
        *OVERLOAD,
        'contingency={grow: {when: {at: "20:00"}, after: 0s, do: {scale_out: {pool: web, add: 10, max: 50, '
        'lag: 120s}}}, backup: {when: {at: "20:00:30"}, after: 0s, do: {failover: {pool: web, workers: 300, '
        "lag: 0s}}}}",
    )
    workers = rep["pools"]["web"]["series"]["workers"]
    assert workers[3600] == 20 and workers[3632] == 300 and workers[3800] == 300


def test_room_turns_guests_away_while_members_still_have_their_quota(tmp_path):
    rep = run(
        tmp_path,
        "sales[0].members={segments: [member, platinum], quota: 30%}",
        "waiting_room={admit_rate: 200/s, patience: 1h}",
    )
    stock, room = rep["stock"]["phone"], rep["waiting_room"]
    assert room["told_sold_out"] > 0
    assert sum(stock["taken"][MEMBER]) >= 150 and stock["taken"][MEMBER][GENERAL] == 0


def test_rule_at_a_fixed_time_cannot_repeat(tmp_path):
    from simulator.scenario.loader import ScenarioError

    with pytest.raises(ScenarioError, match="a rule at a fixed time fires once"):
        run(tmp_path, 'contingency={x: {when: {at: "19:10"}, repeat: true, do: {divert: {share: 10%}}}}')
    with pytest.raises(ScenarioError, match="at least 1 item"):
        run(tmp_path, "sales[0].members={segments: []}")
