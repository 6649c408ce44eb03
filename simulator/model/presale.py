"""Presale: deposits taken over days before the simulated day, then the balance-payment rush on it.

The deposit window can last weeks, so it is not simulated second by second: each day's deposit
orders are drawn at once (Poisson around the day's share), a binomial share of them pay, and paid
deposits take presale units until none are left. `deposit_events` runs the same days order by order
(each holding its unit through its payment window) and is the check that the daily aggregation
gives the same totals. On the day, every holder's unit is held for them until the balance window
closes; a share of holders come, in a surge after the balance opens, to pay the balance (a request
to the pay endpoint); units of those who do not pay in time return to sale, their deposits forfeit.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.engine import series
from simulator.model.demand import ArrivalCurve
from simulator.model.inventory import EXPIRED, GENERAL, PAID, Order, Stock
from simulator.model.shopper import GAVE_UP, Habits, call
from simulator.model.world import in_time_order
from simulator.scenario import Presale
from simulator.units import DAY

if TYPE_CHECKING:
    from simulator.model.world import World


@dataclass
class DepositBook:
    """What the deposit days left: how many hold a paid deposit, and what happened on the way."""

    orders: int = 0
    """Deposit orders placed."""
    holders: int = 0
    """Deposits paid while a unit was there: the holders the balance day serves."""
    closed: int = 0
    """Deposit orders closed unpaid (their unit went back)."""
    turned_away: int = 0
    """Orders refused: no presale unit left."""
    per_day: list[dict[str, int]] = field(default_factory=list)


def day_shares(presale: Presale) -> np.ndarray:
    """Each deposit day's share of the orders: the first and last days' own, the rest even."""
    days = max(1, math.ceil((presale.deposits_close - presale.deposits_open) / DAY - 1e-9))
    if days == 1:
        return np.ones(1)
    middle = (1 - presale.first_day_share - presale.last_day_share) / (days - 2) if days > 2 else 0.0
    shares = np.full(days, middle)
    shares[0], shares[-1] = presale.first_day_share, presale.last_day_share
    return shares / shares.sum()


def deposit_days(presale: Presale, rng: np.random.Generator) -> DepositBook:
    """The deposit window a day at a time (no per-order events): weeks cost microseconds.

    Unpaid orders hold their unit for a payment window of minutes, negligible against a day, so a
    day's paid deposits take units while any are left and the rest of its payers are turned away.
    """
    book, left = DepositBook(), presale.units
    for share in day_shares(presale):
        orders = int(rng.poisson(presale.expected_deposits * share))
        paid = int(rng.binomial(orders, presale.deposit_pay))
        kept = min(paid, left)
        left -= kept
        book.orders += orders
        book.holders += kept
        book.closed += orders - paid
        book.turned_away += paid - kept
        book.per_day.append({"orders": orders, "holders": kept})
    return book


def deposit_events(presale: Presale, rng: np.random.Generator) -> DepositBook:
    """The same days order by order: each order takes a unit at once and holds it through its payment
    window; paid, it keeps it; unpaid, the unit goes back when the window closes."""
    book, left = DepositBook(), presale.units
    events: list[tuple[float, int, bool]] = []  # (time, kind 0 = unit back / 1 = order, paid)
    for day, share in enumerate(day_shares(presale)):
        orders = int(rng.poisson(presale.expected_deposits * share))
        start = presale.deposits_open + day * DAY
        end = min(start + DAY, presale.deposits_close)
        for t, paid in zip(start + (end - start) * rng.random(orders), rng.random(orders) < presale.deposit_pay):
            heapq.heappush(events, (float(t), 1, bool(paid)))
        book.per_day.append({"orders": orders})
    while events:
        t, kind, paid = heapq.heappop(events)
        if kind == 0:
            left += 1
            continue
        book.orders += 1
        if left == 0:
            book.turned_away += paid  # an unpaid one would have closed anyway
            book.closed += not paid
            continue
        left -= 1
        if paid:
            book.holders += 1
        else:
            book.closed += 1
            heapq.heappush(events, (t + presale.deposit_payment_window, 0, False))
    return book


class BalanceDay:
    """The holders' units, held until the balance window closes, and the rush of those who pay."""

    def __init__(
        self,
        presale: Presale,
        stock: Stock,
        price: float,
        rng: Callable[[str], np.random.Generator],
        horizon: float,
    ):
        self.presale = presale
        self.stock = stock
        self.book = deposit_days(presale, rng("presale:deposits"))
        self.closes = presale.balance_open + presale.balance_window
        balance = price - presale.credit
        self.orders = stock.hold(self.book.holders, balance, self.closes)
        draw = rng("presale:balance")
        self.comes = draw.random(len(self.orders)) < presale.conversion
        curve = ArrivalCurve(presale.arrivals, presale.balance_open, 1.0, horizon)
        self.times = curve.draw(draw, len(self.orders))
        self.paid = self.gave_up = self.late = 0
        self.s_paid = series(horizon)

    def payers(self, world: World, habits: Habits, patience: np.ndarray) -> Iterator[tuple[float, Generator]]:
        """The holders who come to pay, in the order they come: their arrival times and processes."""
        coming = np.flatnonzero(self.comes)
        return in_time_order(
            self.times[coming],
            lambda k: self._pay(world, self.orders[coming[k]], habits, float(patience[coming[k]])),
        )

    def _pay(self, world: World, order: Order, habits: Habits, patience: float) -> Generator[Any, Any, None]:
        checkout = world.checkout
        settle = (
            partial(self.stock.pay, order, True) if checkout is None else partial(checkout.add_on, self.stock, order)
        )
        result = yield from call(world, "pay", settle, habits, world.env.now + patience, self.stock.key)
        if result == PAID:
            self.paid += 1
            self.s_paid[int(world.env.now)] += 1
        elif result is GAVE_UP:
            self.gave_up += 1
        else:
            self.late += 1  # the window had closed: the unit went back on sale

    def snapshot(self) -> dict[str, Any]:
        book, p = self.book, self.presale
        forfeited = book.holders - self.paid
        return {
            "deposit_orders": book.orders,
            "holders": book.holders,
            "closed_unpaid": book.closed,
            "turned_away": book.turned_away,
            "came_to_pay": int(self.comes.sum()),
            "balance_paid": self.paid,
            "gave_up": self.gave_up,
            "too_late": self.late,
            "forfeited": forfeited,
            "returned_units": sum(order.state == EXPIRED for order in self.orders),
            "deposits": book.holders * p.deposit,
            "forfeited_deposits": forfeited * p.deposit,
            "series": {"paid": self.s_paid},
        }


def install(world: World, config: Presale, rng: Callable[[str], np.random.Generator], habits: Habits) -> BalanceDay:
    """The balance day: the holders' units held from the start, the payers started beside the shoppers."""
    scenario = world.scenario
    i = next(i for i, sale in enumerate(scenario.sales) if sale.name == config.sale)
    # at the sale's price with its tiered discount (the holders buy at the day's price), the deposit taken off
    balance = BalanceDay(config, world.stock_of[i], world.prices[i][GENERAL], rng, scenario.clock.horizon)
    first = scenario.audience.behaviour_of(next(iter(scenario.audience.segments)))
    patience = first.patience.sample(rng("presale:patience"), len(balance.orders))
    world.late.append(balance.payers(world, habits, patience))
    world.sections["presale"] = balance.snapshot
    return balance
