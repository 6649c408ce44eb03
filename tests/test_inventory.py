"""Stock of one SKU: reservations, payment, the payment window, member quota and set-aside units, all against
the conservation law sold + reserved + available == initial + replenished."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.engine import Engine, at
from simulator.model.inventory import (
    DECLINED,
    EXPIRED,
    GENERAL,
    LIMIT,
    MEMBER,
    PAID,
    PENDING,
    SOLD_OUT,
    TOP,
    Order,
    Stock,
)
from simulator.scenario import Sku

WINDOW = 60.0
HORIZON = 300.0


def make_stock(units: int = 3, per_user_limit: int = 1, quota: int = 0, guaranteed: int = 0) -> Stock:
    sku = Sku(stock=units, per_user_limit=per_user_limit, payment_window=WINDOW)
    return Stock(Engine(), "phone", sku, HORIZON, quota, guaranteed)


def conserved(stock: Stock) -> bool:
    """The conservation law, and the units on sale are exactly those in the three buckets."""
    return (
        stock.sold + stock.reserved + stock.available == stock.initial + stock.replenished
        and sum(stock.buckets) == stock.available
    )


def run_to(stock: Stock, t: float) -> None:
    stock.env.run_until(t)


def test_reservation_takes_one_unit_and_conservation_holds_at_every_step():
    stock = make_stock(units=3)
    orders: dict[str, Order] = {}
    steps_seen: list[tuple[float, int, int, int]] = []  # (time, sold, reserved, available) after each step
    seconds_seen: dict[float, tuple[int, int, int]] = {}  # the same inside every second

    def reserve(who: int, name: str) -> Callable:
        return lambda _: orders.__setitem__(name, stock.reserve(who, 1700.0))

    steps = [
        (0.0, reserve(1, "a")),  # 1 reserved, 2 left
        (1.0, reserve(2, "b")),  # 2 reserved, 1 left
        (2.0, lambda _: stock.pay(orders["a"], True)),  # a sold
        (5.0, lambda _: stock.add(2)),  # 2 more units: 3 left
        (10.0, reserve(3, "c")),  # 2 left
        (20.0, lambda _: stock.pay(orders["c"], False)),  # declined: still reserved
    ]
    for t, action in steps:
        at(stock.env, t, action)
        at(stock.env, t, lambda _: steps_seen.append((stock.env.now, stock.sold, stock.reserved, stock.available)))

    def check(_: object) -> None:
        seconds_seen[stock.env.now] = (stock.sold, stock.reserved, stock.available)
        if not conserved(stock):
            pytest.fail(f"not conserved at {stock.env.now}")

    for t in range(int(HORIZON)):  # and inside every second, the expiries at 61 (b) and 70 (c) among them
        at(stock.env, t + 0.5, check)
    run_to(stock, HORIZON)
    assert steps_seen == [(0, 0, 1, 2), (1, 0, 2, 1), (2, 1, 1, 1), (5, 1, 1, 3), (10, 1, 2, 2), (20, 1, 2, 2)]
    assert len(seconds_seen) == HORIZON
    assert seconds_seen[60.5] == (1, 2, 2) and seconds_seen[61.5] == (1, 1, 3)  # b's window ends at 1 + 60
    assert seconds_seen[69.5] == (1, 1, 3) and seconds_seen[70.5] == (1, 0, 4)  # c's at 10 + 60
    assert (stock.sold, stock.reserved, stock.available, stock.replenished) == (1, 0, 4, 2)
    assert (stock.expired, stock.declined) == (2, 1) and conserved(stock)


def test_expired_reservation_returns_unit_at_the_end_of_the_payment_window():
    stock = make_stock(units=1)
    orders = []
    at(stock.env, 10.0, lambda _: orders.append(stock.reserve(1, 1700.0)))
    run_to(stock, 70.0)  # the window closes at 10 + 60: not yet run
    (order,) = orders
    assert order.state == PENDING and stock.available == 0 and not stock.in_stock()
    run_to(stock, 70.001)
    assert order.state == EXPIRED and (stock.available, stock.reserved, stock.expired) == (1, 0, 1)
    assert stock.s_expired[70] == 1 and stock.in_stock()
    assert stock.pay(order, True) == EXPIRED and stock.sold == 0  # too late: nothing is sold
    again = stock.reserve(1, 1700.0)  # the same shopper may order again
    assert isinstance(again, Order) and again is not order and stock.reserved == 1


def test_payment_inside_the_window_sells_the_unit_once():
    stock = make_stock(units=2)
    order = stock.reserve(1, 1700.0)
    results = []
    at(stock.env, 59.5, lambda _: results.append(stock.pay(order, True)))
    at(stock.env, 59.75, lambda _: results.append(stock.pay(order, True)))  # paid twice: charged once
    run_to(stock, HORIZON)
    assert results == [PAID, PAID] and order.state == PAID
    assert (stock.sold, stock.reserved, stock.available, stock.expired) == (1, 0, 1, 0)  # nothing came back at 60
    assert stock.revenue == 1700.0 and stock.s_paid[59] == 1 and conserved(stock)


def test_declined_payment_keeps_the_reservation_and_may_be_paid_again():
    stock = make_stock(units=1)
    order = stock.reserve(1, 1700.0)
    assert stock.pay(order, False) == DECLINED
    assert order.state == PENDING and (stock.declined, stock.reserved, stock.sold) == (1, 1, 0)
    assert stock.pay(order, True) == PAID and (stock.reserved, stock.sold) == (0, 1)
    assert stock.all_sold_at == 0.0  # the only unit sold


def test_order_creation_is_idempotent_per_shopper():
    stock = make_stock(units=3)
    first = stock.reserve(7, 1700.0)
    retried = stock.reserve(7, 1700.0)  # a retry after a timed-out attempt finds its order
    assert retried is first
    assert (stock.reserved, stock.available, stock.s_orders[0]) == (1, 2, 1)


@pytest.mark.parametrize("limit", [1, 2])
def test_a_shopper_never_holds_more_than_the_per_user_limit(limit):
    stock = make_stock(units=5, per_user_limit=limit)
    results = []
    for _ in range(limit + 1):
        order = stock.reserve(7, 1700.0)
        results.append(order if isinstance(order, str) else stock.pay(order, True))
    assert results == [PAID] * limit + [LIMIT]
    assert stock.sold == limit and stock.available == 5 - limit


def test_the_last_unit_sells_out_and_the_next_shopper_is_told_so():
    stock = make_stock(units=1)
    at(stock.env, 3.0, lambda _: stock.reserve(1, 1700.0))
    answers = []
    at(stock.env, 4.5, lambda _: answers.append(stock.reserve(2, 1700.0)))
    run_to(stock, 5.0)
    assert answers == [SOLD_OUT]
    assert (stock.sold_out_at, stock.refused_at) == (3.0, 4.5) and stock.reserved == 1


def test_member_quota_is_for_members_only_until_released():
    stock = make_stock(units=5, quota=2, guaranteed=1)
    assert stock.buckets == [2, 2, 1]
    assert isinstance(stock.reserve(1, 1.0, GENERAL), Order)
    assert isinstance(stock.reserve(2, 1.0, GENERAL), Order)
    # three units left, none of them on general sale
    assert stock.available == 3 and stock.reserve(3, 1.0, GENERAL) == SOLD_OUT
    assert not stock.in_stock(GENERAL) and stock.in_stock(MEMBER) and stock.in_stock(TOP)
    member = stock.reserve(4, 1.0, MEMBER)
    assert isinstance(member, Order) and member.bucket == MEMBER and stock.buckets == [0, 1, 1]
    stock.release(MEMBER)  # the quota's hold ends: its unit goes on general sale
    assert stock.buckets == [1, 0, 1] and stock.in_stock(GENERAL)
    guest = stock.reserve(3, 1.0, GENERAL)
    assert isinstance(guest, Order) and guest.bucket == GENERAL
    assert stock.taken[GENERAL][GENERAL] == 3 and stock.taken[MEMBER] == [0, 1, 0] and conserved(stock)


def test_expired_quota_unit_returns_to_the_quota_unless_it_was_released():
    kept = make_stock(units=4, quota=2)
    kept.reserve(1, 1.0, MEMBER)
    run_to(kept, WINDOW + 1)
    assert kept.buckets == [2, 2, 0]  # back to the members

    released = make_stock(units=4, quota=2)
    released.reserve(1, 1.0, MEMBER)
    released.release(MEMBER)
    run_to(released, WINDOW + 1)
    assert released.buckets == [4, 0, 0]  # back on general sale
    assert released.peak_out == [0, 1, 0] and released.out == [0, 0, 0]


def test_units_set_aside_go_to_the_top_tier_only():
    stock = make_stock(units=4, quota=1, guaranteed=2)
    assert stock.buckets == [1, 1, 2]

    def bucket_or_why(holder: int, tier: int) -> int | str:
        order = stock.reserve(holder, 1.0, tier)
        return order.bucket if isinstance(order, Order) else order

    # members take the quota, then general sale, then are told sold out with two units still set aside
    assert [bucket_or_why(k, MEMBER) for k in range(3)] == [MEMBER, GENERAL, SOLD_OUT]
    assert stock.available == 2 and stock.refused_at == 0.0
    # the top tier takes the set-aside units; the third finds nothing anywhere
    assert [bucket_or_why(k, TOP) for k in range(3, 6)] == [TOP, TOP, SOLD_OUT]
    assert stock.taken[TOP] == [0, 0, 2] and stock.sold_out_at == 0.0 and conserved(stock)


def test_presale_holds_return_their_units_when_their_balance_window_closes_unless_paid():
    stock = make_stock(units=5)
    paid, unpaid, late = stock.hold(3, 500.0, until=120.0)
    assert [o.holder for o in (paid, unpaid, late)] == [-1, -2, -3]
    assert (stock.reserved, stock.available) == (3, 2) and stock.peak_out[0] == 3
    assert stock.pay(paid, True) == PAID
    run_to(stock, 119.0)
    assert unpaid.state == late.state == PENDING  # not the ordinary 60 s payment window
    run_to(stock, 121.0)
    assert (paid.state, unpaid.state, late.state) == (PAID, EXPIRED, EXPIRED)
    assert (stock.reserved, stock.available, stock.sold) == (0, 4, 1) and conserved(stock)
