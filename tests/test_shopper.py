"""The shopper journey step by step on a tiny shop: one worker per pool, constant service times that are exact in
binary (125 ms, 250 ms, 500 ms), a 1 s think time, no jitter. Each test starts a few shoppers by hand with the
intentions it needs and checks the exact instants of their requests and the one outcome each visit ends in."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pytest

from simulator.engine import Failure, streams
from simulator.model.inventory import Order
from simulator.model.outcomes import OUTCOMES
from simulator.model.replication import build
from simulator.model.shopper import Habits, shopper
from simulator.model.world import World
from tests.conftest import load_text

TINY = """
name: tiny
clock: {start: "00:00", horizon: 10m}
seed: 1
audience:
  size: 10
  behaviour:
    think_time: 1s
    pay_delay: 4s
    patience: 10m
    retry: {max_retries: 3, backoff: 1s, multiplier: 2, max_backoff: 30s, jitter: 0}
    sold_out: {keep_trying: 0, refresh_every: 5s, keep_trying_for: 5m}
sales:
  - {name: flash, open: "+0s", sku: phone, price: 2000, discount: 300}
system:
  pools:
    web: {workers: 1}
    order: {workers: 1}
  endpoints:
    product_page: {pool: web, service: 125ms, timeout: 1s}
    buy: {pool: web, service: 125ms, timeout: 1s}
    create_order: {pool: order, service: 250ms, timeout: 1s}
    pay: {pool: order, service: 500ms, timeout: 1s}
inventory:
  skus:
    phone: {stock: 1, payment_window: 1m}
"""

HORIZON = 600.0
BOUGHT_AT_ZERO = [(0, 0.0, "product_page"), (0, 1.125, "buy"), (0, 2.25, "create_order"), (0, 6.5, "pay")]
"""A shopper arriving at 0 who buys and pays, on an idle shop: the page 0 -> 0.125, think 1 s, buy 1.125 -> 1.25,
think 1 s, order 2.25 -> 2.5, pay delay 4 s, pay 6.5 -> 7."""


def answer_name(value: object) -> str:
    if isinstance(value, Failure):
        return value.name
    return "order" if isinstance(value, Order) else str(value)


class Shop:
    """A world built from the tiny scenario, which traces who sends what when, each answer, and each outcome."""

    def __init__(self, tmp_path, *overrides: str):
        scenario = load_text(tmp_path, TINY, *overrides)
        rng = streams(np.random.SeedSequence(1))
        self.habits = [
            Habits(scenario.audience.behaviour_of(s), lambda purpose, s=s: rng(f"{purpose}:{s}"))
            for s in scenario.audience.segments
        ]
        self.world = world = build(scenario, rng, self.habits)
        self.env = world.env
        self.current = -1  # the shopper whose generator runs now
        self.sent: list[tuple[int, float, str]] = []
        self.answers: list[tuple[int, float, str, str]] = []
        self.ended: list[tuple[int, float, str]] = []
        for endpoint in world.endpoints.values():
            endpoint.call = self._traced_call(endpoint.name, endpoint.call)

        def finish(outcome: str, ticket=None) -> None:
            self.ended.append((self.current, self.env.now, outcome))
            World.finish(world, outcome, ticket)

        world.finish = finish

    def _traced_call(self, step: str, call):
        def traced(effect, key=0):
            me = self.current
            self.sent.append((me, self.env.now, step))
            request = call(effect, key)
            if request.callbacks is None:  # rejected: answered at once
                self.answers.append((me, self.env.now, step, answer_name(request._value)))
            else:
                request.callbacks.append(lambda r: self.answers.append((me, self.env.now, step, answer_name(r._value))))
            return request

        return traced

    def _visit(self, me: int, visit: Generator) -> Generator:
        """The shopper's generator, marking whose turn it is each time it runs (the engine drives it as is)."""
        value = None
        while True:
            self.current = me
            try:
                nxt = visit.send(value)
            except StopIteration:
                return
            value = yield nxt

    def arrive(
        self,
        t: float,
        me: int,
        buys: bool = True,
        pays: bool = True,
        accepted: bool = True,
        keeps_trying: bool = False,
        patience: float = HORIZON,
        segment: int = 0,
    ) -> None:
        intent = (buys, pays, accepted, keeps_trying, patience, 0.5)
        visit = shopper(self.world, me, 0, segment, self.habits[segment], intent)
        self.env.start([(t, self._visit(me, visit))])

    def run(self) -> None:
        self.env.run_until(HORIZON)

    def stats(self, step: str):
        return self.world.endpoints[step].stats

    @property
    def stock(self):
        return self.world.stocks["phone"]


def test_shopper_who_buys_and_pays_sends_one_request_per_step_and_ends_bought(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0)
    shop.run()
    assert shop.sent == BOUGHT_AT_ZERO
    assert [(t, step, a) for _, t, step, a in shop.answers] == [
        (0.125, "product_page", "True"),
        (1.25, "buy", "True"),  # in stock
        (2.5, "create_order", "order"),
        (7.0, "pay", "paid"),
    ]
    assert shop.ended == [(0, 7.0, "bought")]
    assert (shop.stock.sold, shop.stock.revenue, shop.stock.s_orders[2]) == (1, 1700.0, 1)
    shoppers = shop.world.shoppers
    assert (sum(shoppers.s_arrivals), shoppers.in_system, shoppers.s_outcomes["bought"][7]) == (1, 0, 1)
    assert [shop.stats(step).retries for step in ("product_page", "buy", "create_order", "pay")] == [0, 0, 0, 0]


def test_shopper_who_does_not_press_buy_leaves_the_funnel_after_the_product_page(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0, buys=False)
    shop.run()
    assert shop.sent == [(0, 0.0, "product_page")]
    assert shop.ended == [(0, 0.125, "left_funnel")]
    assert sum(shop.stats("buy").s_requests) == 0 and shop.stock.reserved == 0


def test_shopper_who_finds_the_last_unit_held_ends_sold_out_without_ordering(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0)  # holds the only unit from 2.5
    shop.arrive(3.0, 1)  # page 3 -> 3.125, think 1 s, buy 4.125 -> 4.25: out of stock
    shop.run()
    assert [s for s in shop.sent if s[0] == 1] == [(1, 3.0, "product_page"), (1, 4.125, "buy")]
    assert (1, 4.25, "buy", "False") in shop.answers
    assert shop.ended == [(1, 4.25, "sold_out"), (0, 7.0, "bought")]


def test_shopper_who_does_not_pay_leaves_and_the_order_expires_after_its_window(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0, pays=False)
    shop.run()
    assert shop.sent == BOUGHT_AT_ZERO[:3]
    assert shop.ended == [(0, 2.5, "left_funnel")]
    assert (shop.stock.expired, shop.stock.available, shop.stock.s_expired[62]) == (1, 1, 1)  # 2.5 + 60 s


def test_declined_payment_leaves_the_funnel_holding_an_order_that_expires(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0, accepted=False)
    shop.run()
    assert shop.sent == BOUGHT_AT_ZERO
    assert shop.answers[-1] == (0, 7.0, "pay", "declined")
    assert shop.ended == [(0, 7.0, "left_funnel")]
    assert (shop.stock.declined, shop.stock.sold, shop.stock.expired) == (1, 0, 1)


def test_timed_out_step_is_retried_with_doubling_backoff_until_the_retries_run_out(tmp_path):
    shop = Shop(tmp_path, "system.endpoints.product_page.service=2s")  # always past the 1 s timeout
    shop.arrive(0.0, 0)
    shop.run()
    # attempt at 0, times out at 1; backoff 1 s -> 2, out at 3; 2 s -> 5, out at 6; 4 s -> 10, out at 11
    assert [t for _, t, _ in shop.sent] == [0.0, 2.0, 5.0, 10.0]
    assert [(t, a) for _, t, _, a in shop.answers] == [
        (1.0, "timed out"),
        (3.0, "timed out"),
        (6.0, "timed out"),
        (11.0, "timed out"),
    ]
    assert shop.ended == [(0, 11.0, "gave_up")]
    page = shop.stats("product_page")
    assert (page.retries, page.timed_out, page.wasted) == (3, 4, 4)  # the worker finished every one for nobody
    assert [page.s_retries[s] for s in (2, 5, 10)] == [1, 1, 1]


def test_shopper_gives_up_when_patience_runs_out_before_the_next_retry(tmp_path):
    shop = Shop(tmp_path, "system.endpoints.product_page.service=2s")
    shop.arrive(0.0, 0, patience=6.0)
    shop.run()
    # attempts at 0, 2, 5; after the third times out at 6 the next would be at 6 + 4 = 10, past 0 + 6
    assert [t for _, t, _ in shop.sent] == [0.0, 2.0, 5.0]
    assert shop.ended == [(0, 6.0, "gave_up")]
    assert shop.stats("product_page").retries == 2


def test_rejected_request_is_retried_after_the_backoff_and_then_served(tmp_path):
    shop = Shop(tmp_path, "system.pools.web.queue_limit=0")
    shop.arrive(0.0, 0, buys=False)  # takes the only web worker 0 -> 0.125
    shop.arrive(0.0, 1, buys=False)  # no room to wait: rejected at 0, retried at 0 + 1 s
    shop.run()
    assert shop.answers == [
        (1, 0.0, "product_page", "rejected"),
        (0, 0.125, "product_page", "True"),
        (1, 1.125, "product_page", "True"),
    ]
    assert shop.sent == [(0, 0.0, "product_page"), (1, 0.0, "product_page"), (1, 1.0, "product_page")]
    assert shop.ended == [(0, 0.125, "left_funnel"), (1, 1.125, "left_funnel")]
    page = shop.stats("product_page")
    assert (page.rejected, page.retries, sum(page.s_requests)) == (1, 1, 3)


def test_sold_out_shopper_who_keeps_refreshing_buys_the_unit_an_unpaid_order_returns(tmp_path):
    shop = Shop(tmp_path)
    shop.arrive(0.0, 0, pays=False)  # holds the unit from 2.5 and never pays: it returns at 62.5
    shop.arrive(3.0, 1, keeps_trying=True)
    shop.run()
    buys = [(t, a) for me, t, step, a in shop.answers if me == 1 and step == "buy"]
    assert len(buys) >= 2 and all(a == "False" for t, a in buys if t < 62.5)
    assert buys[-1][1] == "True" and buys[-1][0] > 62.5  # a refresh after the expiry finds it
    (ended,) = [e for e in shop.ended if e[0] == 1]
    # the last buy is answered, think 1 s, order 250 ms, pay delay 4 s, pay 500 ms
    assert ended == (1, pytest.approx(buys[-1][0] + 1 + 0.25 + 4 + 0.5), "bought")
    assert (shop.stock.expired, shop.stock.sold) == (1, 1)


def test_every_shopper_ends_in_exactly_one_outcome(tmp_path):
    shop = Shop(tmp_path, "inventory.skus.phone.stock=2", "system.pools.web.queue_limit=0")
    arrivals = [
        (0.0, {}),  # orders at 2.5, pays: bought
        (0.25, {"buys": False}),  # left_funnel after the page
        (0.5, {"pays": False}),  # orders the second unit at 3.0, never pays: it returns at 63.0
        (0.75, {"accepted": False}),  # buy says in stock at 2.0, but the order at 3.25 finds both units held
        (1.375, {"keeps_trying": True}),  # sold out at 3.875, refreshes until the unit returned at 63.0 is hers
        (1.375, {"patience": 0.5}),  # rejected (4 has the web worker); the 1 s backoff is past her patience
        (3.0, {}),  # buy at 4.125 -> 4.25: sold out
        (3.25, {"buys": False}),
    ]
    for me, (t, intent) in enumerate(arrivals):
        shop.arrive(t, me, **intent)
    shop.run()
    assert sorted(me for me, _, _ in shop.ended) == list(range(len(arrivals)))  # each once, none twice
    assert {me: outcome for me, _, outcome in shop.ended} == {
        0: "bought",
        1: "left_funnel",
        2: "left_funnel",
        3: "sold_out",
        4: "bought",
        5: "gave_up",
        6: "sold_out",
        7: "left_funnel",
    }
    assert (5, 1.375, "gave_up") in shop.ended
    shoppers = shop.world.shoppers
    totals = {o: sum(shoppers.s_outcomes[o]) for o in OUTCOMES}
    assert totals == {"bought": 2, "sold_out": 2, "gave_up": 1, "left_funnel": 3, "abandoned_queue": 0, "diverted": 0}
    assert sum(shoppers.s_arrivals) == len(arrivals) and shoppers.in_system == 0
    assert (shop.stock.sold, shop.stock.expired, shop.stock.reserved) == (2, 1, 0)


MEMBERS = (
    "inventory.skus.phone.stock=2",
    "audience.segments={guest: {share: 0.5}, member: {share: 0.5}}",
    "sales[0].members={segments: [member], quota: 50%, discount: 10%}",  # one of the two units kept for members
)


def test_guest_is_refused_the_member_unit_that_a_member_then_buys_at_the_member_price(tmp_path):
    shop = Shop(tmp_path, *MEMBERS)
    shop.arrive(0.0, 0)  # guest: the general unit, ordered at 2.5
    shop.arrive(3.0, 1)  # guest: buy 4.125 -> 4.25 says sold out, though a unit is left
    shop.arrive(10.0, 2, segment=1)  # member: page 10 -> 10.125, buy 11.125 -> 11.25, order 12.25 -> 12.5, pay at 17
    shop.run()
    assert shop.ended == [(1, 4.25, "sold_out"), (0, 7.0, "bought"), (2, 17.0, "bought")]
    assert shop.stock.taken == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]  # taken[bucket][tier]
    assert shop.stock.revenue == 1700.0 + 1700.0 * 0.9 and shop.stock.sold_out_at == 12.5


@pytest.mark.xfail(
    strict=True,
    reason="Stock.refused_at is set only when create_order finds no unit (Stock.reserve), not when the buy step's "
    "stock check (Stock.in_stock) tells a shopper sold out; while member units remain sold_out_at is None too, "
    "so a replication that turned guests away reads as never out of stock (sizing's stock-out check)",
)
def test_guest_told_sold_out_at_the_stock_check_is_counted_as_refused(tmp_path):
    shop = Shop(tmp_path, *MEMBERS)
    shop.arrive(0.0, 0)
    shop.arrive(3.0, 1)  # told sold out at 4.25; the member unit is never bought
    shop.run()
    assert shop.ended == [(1, 4.25, "sold_out"), (0, 7.0, "bought")]
    assert shop.stock.sold_out_at is None  # one unit is still kept for members
    assert shop.stock.refused_at == 4.25


def test_shopper_asks_for_the_waiting_room_token_first_where_the_system_maps_one(tmp_path):
    shop = Shop(tmp_path, "system.endpoints.token={pool: web, service: 500ms, timeout: 1s}")
    shop.arrive(0.0, 0)
    shop.run()
    # the token 0 -> 0.5, then the journey of BOUGHT_AT_ZERO half a second later
    assert shop.sent == [(0, 0.0, "token")] + [(0, t + 0.5, step) for _, t, step in BOUGHT_AT_ZERO]
    assert shop.ended == [(0, 7.5, "bought")]


def test_shopper_who_never_gets_a_token_gives_up_before_the_product_page(tmp_path):
    shop = Shop(tmp_path, "system.endpoints.token={pool: web, service: 2s, timeout: 1s}")
    shop.arrive(0.0, 0, patience=4.5)
    shop.run()
    # times out at 1 s, retried at 2 s, times out at 3 s: the next retry, at 5 s, would pass the patience
    assert [step for _, _, step in shop.sent] == ["token", "token"]
    assert shop.ended == [(0, pytest.approx(3.0), "gave_up")]
