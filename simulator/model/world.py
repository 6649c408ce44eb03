"""One replication: the scenario's components wired into one SimPy Environment and run to the horizon."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine.calendar import Engine, at
from simulator.engine.pools import Endpoint, Pool
from simulator.model.contingency import Playbook, Substitution
from simulator.model.inventory import GENERAL, MEMBER, TOP, Order, Stock
from simulator.model.outcomes import ShopperStats
from simulator.model.presale import BalanceDay
from simulator.model.red_packets import Rain
from simulator.model.waiting_room import Room, Ticket
from simulator.scenario.promotion import Scenario
from simulator.units import format_clock


class World:
    """Everything a shopper can reach during one replication."""

    def __init__(self, scenario: Scenario, rng: Callable[[str], np.random.Generator]):
        self.env = env = Engine()
        self.scenario = scenario
        horizon = scenario.clock.horizon
        self.pools = {
            name: Pool(env, name, p.workers, p.queue_limit, p.shed_expired, horizon)
            for name, p in scenario.system.pools.items()
        }
        self.endpoints = {
            step: Endpoint(step, self.pools[ep.pool], sampler(ep.service, rng(f"service:{step}")), ep.timeout, horizon)
            for step, ep in scenario.system.endpoints.items()
        }
        self.calls = dict(self.endpoints)
        """The steps that are requests right now (a simplified checkout skips some)."""
        self.stocks = {
            name: Stock(env, name, sku, horizon, *_kept(scenario, name))
            for name, sku in scenario.inventory.skus.items()
        }
        self.stock_of = [self.stocks[sale.sku] for sale in scenario.sales]
        segments = list(scenario.audience.segments)
        self.tiers = [[_tier(sale, segment) for segment in segments] for sale in scenario.sales]
        """tiers[sale][segment]: GENERAL, MEMBER or TOP."""
        self.opens = [
            [
                sale.open - (sale.members.early_access if tier and sale.members else 0.0)
                for tier in (GENERAL, MEMBER, TOP)
            ]
            for sale in scenario.sales
        ]
        self.prices = [
            [
                sale.sale_price * (1 - (sale.members.discount if tier and sale.members else 0.0))
                for tier in (GENERAL, MEMBER, TOP)
            ]
            for sale in scenario.sales
        ]
        self.checks = [
            [functools.partial(self.stock_of[i].in_stock, tier) for tier in (GENERAL, MEMBER, TOP)]
            for i in range(len(scenario.sales))
        ]
        self.shoppers = ShopperStats(horizon)
        self.unanswered_orders: list[Order] = []
        self.room = (
            Room(env, scenario.waiting_room, rng, {t for opens in self.opens for t in opens}, horizon)
            if scenario.waiting_room is not None
            else None
        )
        self.divert = 0.0
        """Share of arriving shoppers steered to other channels."""
        self.substitutes: dict[str, Substitution] = {}
        self.rains = {name: Rain(name, rain, rng, horizon) for name, rain in scenario.red_packets.items()}
        self.balance = None
        if scenario.presale is not None:
            i = next(i for i, sale in enumerate(scenario.sales) if sale.name == scenario.presale.sale)
            self.balance = BalanceDay(
                self, scenario.presale, self.stock_of[i], scenario.sales[i].sale_price, rng, horizon
            )
        self.audience = scenario.audience.size
        self.coupon_draw = sampler(Distribution("uniform", (0.0, 1.0)), rng("coupons"))
        self.playbook = Playbook(self, scenario.contingency, rng)
        self._release_kept(scenario)

    def finish(self, outcome: str, ticket: Ticket | None = None) -> None:
        """The shopper in hand leaves with this outcome, and their place in the shop if the room let them in."""
        shoppers = self.shoppers
        shoppers.in_system -= 1
        shoppers.s_outcomes[outcome][int(self.env._now)] += 1
        if ticket is not None:
            self.room.leave(ticket)

    def coupon_chance(self) -> float:
        """Chance that a shopper who would not press buy now does: they hold a packet from an earlier rain."""
        now = self.env._now
        return sum(
            r.config.coupon_lift * min(1.0, len(r.won) / self.audience) for r in self.rains.values() if r.end <= now
        )

    def clock(self, t: float) -> str:
        return format_clock(self.scenario.clock.start_time, t)

    def degrade(self, skip: list[str], service: dict[str, float]) -> None:
        """Simplified checkout: skipped steps stop being requests; others cost `factor` times their service."""
        for step in skip:
            self.calls.pop(step, None)
        for step, factor in service.items():  # relative to the endpoint's own cost, however often it fires
            endpoint = self.endpoints[step]
            endpoint.service = functools.partial(_scaled, endpoint.base_service, factor)

    def _release_kept(self, scenario: Scenario) -> None:
        """Member quota and set-aside units still unsold after their hold go on general sale."""
        for i, sale in enumerate(scenario.sales):
            m = sale.members
            if m is None:
                continue
            stock, member_open = self.stock_of[i], self.opens[i][MEMBER]
            for bucket, hold in ((MEMBER, m.quota_hold_for), (TOP, m.guaranteed.hold_for if m.guaranteed else None)):
                if hold is not None:
                    at(self.env, member_open + hold, lambda _, s=stock, b=bucket: s.release(b))


def _scaled(service: Callable[[], float], factor: float) -> float:
    return service() * factor


def _tier(sale, segment: str) -> int:
    m = sale.members
    if m is None or segment not in m.segments:
        return GENERAL
    return TOP if m.guaranteed is not None and m.guaranteed.segment == segment else MEMBER


def kept_share(scenario: Scenario, sku: str) -> tuple[float, int]:
    """The member quota (a share of the SKU's units) and the units set aside for the top tier."""
    for sale in scenario.sales:
        if sale.sku == sku and sale.members is not None:
            m = sale.members
            return m.quota, (m.guaranteed.units if m.guaranteed else 0)
    return 0.0, 0


def _kept(scenario: Scenario, sku: str) -> tuple[int, int]:
    """Units of a SKU kept for members (quota) and set aside for the top tier."""
    quota, guaranteed = kept_share(scenario, sku)
    return round(quota * scenario.inventory.skus[sku].stock), guaranteed
