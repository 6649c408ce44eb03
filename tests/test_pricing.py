"""Tiered discounts and coupons: exact prices, conserved coupon money, the claim limit and stacking rule held
under retries and lost answers, and presale add-ons."""

import numpy as np
import pytest

from simulator.model.replication import simulate_once
from tests.conftest import load_text
from tests.test_presale import DOUBLE11

SHOP = """
name: coupons
clock: {start: "19:58", horizon: 15m}
seed: 5
audience:
  size: 4k
  behaviour: {patience: 10m, funnel: {buy: 1, pay: 1, pay_success: 1}}
sales:
  - {name: a, open: "20:00", sku: a, price: 2999, audience_share: 0.25}
  - {name: b, open: "20:00", sku: b, price: 3000, audience_share: 0.25}
  - {name: c, open: "20:00", sku: c, price: 5500, audience_share: 0.25}
  - {name: d, open: "20:00", sku: d, price: 8000, discount: 100, audience_share: 0.25}
system:
  pools:
    web: {workers: 200, queue_limit: 2000}
    coupons: {workers: 20, queue_limit: 2000}
  endpoints:
    product_page: {pool: web, service: "exp(20ms)", timeout: 3s}
    buy: {pool: web, service: "exp(10ms)", timeout: 3s}
    create_order: {pool: web, service: "exp(30ms)", timeout: 5s}
    pay: {pool: web, service: "exp(50ms)", timeout: 10s}
    claim: {pool: coupons, service: "exp(20ms)", timeout: 3s}
inventory:
  skus:
    a: {stock: 100k}
    b: {stock: 100k}
    c: {stock: 100k}
    d: {stock: 100k}
pricing:
  tiers:
    steps: [{spend: 3000, off: 300}, {spend: 5000, off: 700}, {spend: 8000, off: 2000}]
"""


def run(tmp_path, *overrides: str, text: str = SHOP, seed: int = 1) -> dict:
    return simulate_once(load_text(tmp_path, text, *overrides), np.random.SeedSequence(seed))


def conserved(rep: dict) -> None:
    """Money: list price less every discount is what was paid, and what the stock took in; each coupon's
    budget is what it gave plus what is left, never below 0 at any second."""
    p = rep["pricing"]
    assert p["gross"] - sum(p["discounts"].values()) == pytest.approx(p["net"], abs=1e-6)
    assert p["orders"] == sum(p["stacked"])
    for c in p["coupons"].values():
        assert c["given"] + c["left"] == pytest.approx(c["budget"]) and c["left"] >= 0
        assert c["discount"] <= c["given"] + 1e-9
    for name, coupon in rep["pricing"]["coupons"].items():
        given = np.cumsum(coupon["series"]["given"])
        face = coupon["given"] / max(given[-1], 1)
        assert (coupon["budget"] - face * given >= -1e-6).all(), name


def test_each_order_pays_the_price_less_the_largest_step_it_reaches(tmp_path):
    rep = run(tmp_path)
    conserved(rep)
    expected = {"a": 2999, "b": 3000 - 300, "c": 5500 - 700, "d": 7900 - 700}  # d: 7900 after its discount
    for sku, price in expected.items():
        assert rep["pricing"]["paid_at"][sku] == [(price, rep["stock"][sku]["sold"])]
    sold = {sku: rep["stock"][sku]["sold"] for sku in expected}
    assert rep["pricing"]["discounts"]["tiers"] == pytest.approx(300 * sold["b"] + 700 * (sold["c"] + sold["d"]))
    assert rep["pricing"]["net"] == pytest.approx(sum(s["revenue"] for s in rep["stock"].values()))
    assert sum(sold.values()) == rep["pricing"]["orders"] == rep["shoppers"]["outcomes"]["bought"] > 3000


COUPONS = (
    "pricing.coupons={small: {off: 20, budget: 1M, claimers: 1},"
    " mid: {off: 50, min_spend: 3000, budget: 1M, claimers: 1},"
    " big: {off: 200, min_spend: 5000, budget: 1M, claimers: 1}}"
)


def test_an_order_stacks_its_largest_usable_coupons_up_to_the_rule(tmp_path):
    rep = run(tmp_path, COUPONS, "pricing.stack=2")
    conserved(rep)
    p, sold = rep["pricing"], {sku: rep["stock"][sku]["sold"] for sku in "abcd"}
    # thresholds are met after the tiers: a (2999) and b (2700) reach only small, c (4800) small and mid, d (7200)
    # all three, of which it stacks the two largest
    assert p["stacked"] == [0, sold["a"] + sold["b"], sold["c"] + sold["d"]]
    assert p["discounts"]["coupons"] == 20 * (sold["a"] + sold["b"]) + 70 * sold["c"] + 250 * sold["d"]
    assert p["coupons"]["small"]["redeemed"] == sold["a"] + sold["b"] + sold["c"]
    assert p["coupons"]["mid"]["redeemed"] == sold["c"] + sold["d"] and p["coupons"]["big"]["redeemed"] == sold["d"]
    assert p["paid_at"]["c"] == [(4800 - 70, sold["c"])] and p["paid_at"]["d"] == [(7200 - 250, sold["d"])]


def test_the_daily_claim_limit_refuses_exactly_the_claims_past_it(tmp_path):
    # shoppers claim what is usable at their price: a and b small, c small and mid, d all three
    free = run(tmp_path, COUPONS)["pricing"]["coupons"]
    rep = run(tmp_path, COUPONS, "pricing.claims_per_day=2")
    conserved(rep)
    c = rep["pricing"]["coupons"]
    assert c["small"]["claims"] == free["small"]["claims"] > 3000 and c["mid"]["claims"] == free["mid"]["claims"]
    # every d shopper is refused the third, and only that one: the same shoppers on the same seed
    assert c["big"]["claims"] == 0 and c["big"]["refused_limit"] == free["big"]["claims"] > 500
    assert c["big"]["given"] == 0 and c["big"]["left"] == c["big"]["budget"]


def test_a_budget_gives_exactly_what_it_holds_then_refuses(tmp_path):
    rep = run(tmp_path, "pricing.coupons={small: {off: 20, budget: 10k, claimers: 1}}")
    conserved(rep)
    small = rep["pricing"]["coupons"]["small"]
    assert small["claims"] == 500 and small["given"] == 10_000 and small["left"] == 0  # 10k / 20, no more
    asked = small["claims"] + small["refused_budget"]  # every buyer asked once, and some still in the shop
    assert rep["pricing"]["orders"] <= asked <= rep["shoppers"]["arrivals"] and small["spent_at"] is not None
    assert small["redeemed"] == 500 and small["discount"] == 10_000  # every holder bought


def test_retried_claims_after_lost_answers_take_no_coupon_twice(tmp_path):
    # a claim served after its client timed out: the retry must find the coupon, not take another
    rep = run(
        tmp_path,
        "pricing.coupons={small: {off: 20, budget: 1M, claimers: 1}}",
        "pricing.claims_per_day=1",
        "system.pools.coupons.workers=2",
        "system.endpoints.claim.timeout=300ms",
    )
    conserved(rep)
    claim, small = rep["endpoints"]["claim"], rep["pricing"]["coupons"]["small"]
    assert claim["timed_out"] > 1000 and claim["retries"] > 1000  # answers were lost and claims retried
    assert small["refused_limit"] == 0  # a retry found its coupon: never counted against the limit of 1
    assert small["claims"] == small["given"] / 20 <= rep["shoppers"]["arrivals"]
    assert small["redeemed"] <= small["claims"]


def test_presale_holders_get_add_ons_while_the_budget_lasts(tmp_path):
    plain = run(tmp_path, text=DOUBLE11, seed=3)
    added = run(tmp_path, "pricing={coupons: {add-on: {off: 200, budget: 100k, presale: true}}}", text=DOUBLE11, seed=3)
    conserved(added)
    paid = added["presale"]["balance_paid"]
    assert paid == plain["presale"]["balance_paid"] > 500  # the same holders pay (common random numbers)
    add_on = added["pricing"]["coupons"]["add-on"]
    assert add_on["claims"] == add_on["redeemed"] == 500 and add_on["left"] == 0  # 100k / 200
    assert add_on["discount"] == 100_000
    assert added["stock"]["phone"]["revenue"] == pytest.approx(plain["stock"]["phone"]["revenue"] - 100_000)


def test_presale_balances_are_at_the_tiered_price(tmp_path):
    plain = run(tmp_path, text=DOUBLE11, seed=3)
    tiered = run(tmp_path, "pricing={tiers: {steps: [{spend: 3000, off: 300}]}}", text=DOUBLE11, seed=3)
    assert tiered["presale"]["balance_paid"] == plain["presale"]["balance_paid"]
    # every balance 300 less, and every spot order too
    sold, balances = tiered["stock"]["phone"]["sold"], tiered["presale"]["balance_paid"]
    assert sold == plain["stock"]["phone"]["sold"]
    assert tiered["stock"]["phone"]["revenue"] == pytest.approx(plain["stock"]["phone"]["revenue"] - 300 * sold)
    assert balances > 0
