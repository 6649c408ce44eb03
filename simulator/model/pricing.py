"""Tiered discounts and coupons: the price each order is made at, and where the coupon money went.

Tiers are fixed per sale and member tier, so they are folded into the world's prices once. Coupons are
claimed by shoppers who mean to buy, one request each to the `claim` endpoint; a claim is served
atomically: it is refused when the shopper has claimed the day's limit or the coupon's budget has less
than its face value left, and a retried claim finds the coupon its timed-out attempt got (claims are
idempotent, as order creation is). An order is made at the price less its largest usable coupons, up to
the stacking rule; the coupons are redeemed when it is paid. Add-on coupons go to presale holders as they
pay the balance. Budget = given + left at every instant, and left never goes below 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine import series
from simulator.model.inventory import GENERAL, MEMBER, PAID, PENDING, TOP, Order, Stock
from simulator.model.shopper import GAVE_UP, Habits, call
from simulator.scenario import Coupon, Pricing
from simulator.units import DAY

if TYPE_CHECKING:
    from simulator.model.world import World

LIMIT, EMPTY = "daily limit", "budget spent"
"""Why a claim is refused."""


class Kind:
    """One kind of coupon: its budget and what became of it."""

    def __init__(self, name: str, config: Coupon, sales: set[int], horizon: float):
        self.name = name
        self.off = config.off
        self.min_spend = config.min_spend
        self.claimers = config.claimers
        self.presale = config.presale
        self.budget = self.left = config.budget
        self.sales = sales
        self.claims = self.refused_limit = self.refused_budget = self.redeemed = 0
        self.given = self.discount = 0.0
        self.spent_at: float | None = None
        self.s_given = series(horizon)

    def take(self, now: float) -> bool:
        """Take one face value from the budget if enough is left."""
        if self.left < self.off:
            self.refused_budget += 1
            if self.spent_at is None:
                self.spent_at = now
            return False
        self.left -= self.off
        self.given += self.off
        self.s_given[int(now)] += 1
        return True

    def snapshot(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "given": self.given,
            "left": self.left,
            "claims": self.claims,
            "refused_limit": self.refused_limit,
            "refused_budget": self.refused_budget,
            "redeemed": self.redeemed,
            "discount": self.discount,
            "spent_at": self.spent_at,
            "series": {"given": self.s_given},
        }


class Deal:
    """What an order was made at: its sale and tier, and the coupons and money taken off by them."""

    __slots__ = ("sale", "tier", "used", "coupon_off")

    def __init__(self, sale: int, tier: int, used: list[Kind], coupon_off: float):
        self.sale = sale
        self.tier = tier
        self.used = used
        self.coupon_off = coupon_off


class Checkout:
    """The coupons of one replication, the shoppers' claims, and the money taken off the paid orders."""

    def __init__(self, world: World, config: Pricing, rng: Callable[[str], np.random.Generator]):
        scenario = world.scenario
        self.env = world.env
        self.config = config
        horizon = scenario.clock.horizon
        names = [sale.name for sale in scenario.sales]
        everyone = set(range(len(names)))
        self.kinds = [
            Kind(name, c, {names.index(s) for s in c.sales} if c.sales is not None else everyone, horizon)
            for name, c in config.coupons.items()
        ]
        self.offers = [[k for k in self.kinds if i in k.sales and k.claimers > 0] for i in range(len(names))]
        """offers[sale]: the kinds its shoppers may claim, in the order given."""
        self.add_ons = [k for k in self.kinds if k.presale]
        """The kinds given to presale holders as they pay the balance."""
        self.wants = sampler(Distribution("uniform", (0.0, 1.0)), rng("pricing:claims"))
        self.midnight = scenario.clock.start_time.second_of_day
        self.held: dict[int, list[Kind]] = {}
        self.claimed: Counter[tuple[int, int]] = Counter()  # (shopper, day) -> claims
        self.member_off, self.tier_off = _standing_offs(world, config)
        for i, prices in enumerate(world.prices):
            for tier in (GENERAL, MEMBER, TOP):
                prices[tier] -= self.tier_off[i][tier]
        self.orders = 0
        self.gross = self.net = self.off_member = self.off_tiers = self.off_coupons = 0.0
        self.stacked: Counter[int] = Counter()
        self.paid_at: dict[str, Counter[float]] = {name: Counter() for name in world.stocks}
        """Per SKU, how many orders were paid at each price."""

    def claims(
        self, world: World, me: int, sale: int, price: float, habits: Habits, give_up_at: float
    ) -> Generator[Any, Any, Any]:
        """A shopper who means to buy claims the coupons they want that are usable at their price, each a
        request; GAVE_UP if they give up."""
        for kind in self.offers[sale]:
            if price >= kind.min_spend and self.wants() < kind.claimers:
                if (yield from call(world, "claim", partial(self.claim, me, kind), habits, give_up_at)) is GAVE_UP:
                    return GAVE_UP
        return None

    def claim(self, me: int, kind: Kind) -> Kind | str:
        """Serve one claim, atomically: the coupon, or why not (LIMIT, EMPTY)."""
        held = self.held.setdefault(me, [])
        if kind in held:
            return kind  # a retry of a claim whose answer was lost
        now = self.env._now
        day = int((self.midnight + now) // DAY)
        limit = self.config.claims_per_day
        if limit is not None and self.claimed[me, day] >= limit:
            kind.refused_limit += 1
            return LIMIT
        if not kind.take(now):
            return EMPTY
        kind.claims += 1
        self.claimed[me, day] += 1
        held.append(kind)
        return kind

    def best(self, me: int, sale: int, tier: int, price: float) -> tuple[float, Deal]:
        """The price an order is made at: less the largest coupons usable on it, up to the stacking rule."""
        usable = [k for k in self.held.get(me, ()) if sale in k.sales and price >= k.min_spend]
        usable.sort(key=lambda k: -k.off)
        used = usable[: self.config.stack]
        off = min(sum(k.off for k in used), price)
        return price - off, Deal(sale, tier, used, off)

    def pay(self, stock: Stock, order: Order, accepted: bool, deal: Deal | None) -> str:
        """Settle an order (the pay request's effect); a first payment redeems its coupons."""
        pending = order.state == PENDING
        result = stock.pay(order, accepted)
        if pending and result == PAID:
            self._paid(order, deal)
        return result

    def add_on(self, stock: Stock, order: Order) -> str:
        """A presale holder's balance payment: their add-on coupons given and taken off first."""
        if order.state == PENDING:
            used = [k for k in self.add_ons if order.price >= k.min_spend]
            used.sort(key=lambda k: -k.off)
            used = [k for k in used[: self.config.stack] if k.take(self.env._now)]
            off = min(sum(k.off for k in used), order.price)
            order.price -= off
            for k in used:
                k.claims += 1
            self._paid(order, Deal(-1, GENERAL, used, off))  # the balance is its own list price
        return stock.pay(order, True)

    def _paid(self, order: Order, deal: Deal | None) -> None:
        self.orders += 1
        self.net += order.price
        self.paid_at[order.stock.name][round(order.price, 2)] += 1
        if deal is None:  # a substitute, at its own price: no discount
            self.gross += order.price
            self.stacked[0] += 1
            return
        member = self.member_off[deal.sale][deal.tier] if deal.sale >= 0 else 0.0
        tier = self.tier_off[deal.sale][deal.tier] if deal.sale >= 0 else 0.0
        self.gross += order.price + member + tier + deal.coupon_off
        self.off_member += member
        self.off_tiers += tier
        self.off_coupons += deal.coupon_off
        self.stacked[len(deal.used)] += 1
        left = deal.coupon_off
        for k in deal.used:  # the money taken off, largest coupon first (the last may be cut to the price)
            k.redeemed += 1
            k.discount += min(k.off, left)
            left -= min(k.off, left)

    def snapshot(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "gross": self.gross,
            "discounts": {"member": self.off_member, "tiers": self.off_tiers, "coupons": self.off_coupons},
            "net": self.net,
            "stacked": [self.stacked[k] for k in range(self.config.stack + 1)],
            "paid_at": {sku: sorted(prices.items()) for sku, prices in self.paid_at.items() if prices},
            "coupons": {k.name: k.snapshot() for k in self.kinds},
        }


def _standing_offs(world: World, config: Pricing) -> tuple[list[list[float]], list[list[float]]]:
    """Per sale and member tier: the member discount, and the tier step reached at the member price."""
    member_off, tier_off = [], []
    for sale, prices in zip(world.scenario.sales, world.prices):
        member_off.append([sale.sale_price - p for p in prices])
        applies = config.tiers is not None and (config.tiers.sales is None or sale.name in config.tiers.sales)
        tier_off.append([config.tiers.off(p) if applies else 0.0 for p in prices])  # type: ignore[union-attr]
    return member_off, tier_off


def install(world: World, config: Pricing, rng: Callable[[str], np.random.Generator]) -> Checkout:
    """Tiers folded into the prices; the coupons at the checkout."""
    checkout = Checkout(world, config, rng)
    world.checkout = checkout
    world.sections["pricing"] = checkout.snapshot
    return checkout
