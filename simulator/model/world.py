"""The core of one replication: the shop a shopper can reach, and the hooks its features plug into.

The core knows pools, endpoints, stock, member tiers and shoppers; it knows no feature by name. A
feature (waiting room, red-packet rains, presale, the contingency playbook...) is built beside the
world and plugs in through the hooks below; `replication.build` wires them, in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simulator.distributions import Distribution, Draw, sampler
from simulator.engine import Cores, Endpoint, Engine, Holdable, Pool, SharedCore, Stages, at
from simulator.model.inventory import GENERAL, MEMBER, TOP, Order, Stock
from simulator.model.outcomes import ShopperStats
from simulator.scenario import EndpointSpec, PoolSpec, Sale, Scenario
from simulator.units import format_clock


class Place(Protocol):
    """A shopper's place in queued entry: which stock and tier it queues for (a substitute may change them)."""

    stock: Stock
    tier: int


class Gate(Protocol):
    """Queued entry in front of the journey (a virtual waiting room is one)."""

    enabled: bool

    def ticket(self, open_at: float, stock: Stock, tier: int) -> Place: ...

    def enter(self, place: Any) -> Generator[Any, Any, str | None]:
        """Wait to be let in: None once in, else the outcome of leaving."""
        ...

    def rest(self, place: Any, seconds: float) -> Generator[Any, Any, str | None]:
        """Pause inside for `seconds`: None, or the outcome of losing the place."""
        ...

    def leave(self, place: Any) -> None: ...


class Checkout(Protocol):
    """Coupons at the checkout: claimed before buying, taken off the order, redeemed when it is paid."""

    offers: list[list[Any]]
    """Per sale, the coupons its shoppers may claim (none: no claim step)."""

    def claims(
        self, world: World, me: int, sale: int, price: float, habits: Any, give_up_at: float
    ) -> Generator[Any, Any, Any]:
        """Claim the coupons wanted that are usable at `price`: a process whose result is GAVE_UP if they give up."""
        ...

    def best(self, me: int, sale: int, tier: int, price: float) -> tuple[float, Any]:
        """The price an order is made at, and the deal to settle it by."""
        ...

    def pay(self, stock: Stock, order: Order, accepted: bool, deal: Any) -> str:
        """Settle an order and redeem its coupons."""
        ...

    def add_on(self, stock: Stock, order: Order) -> str:
        """Settle a presale balance, its add-on coupons taken off first."""
        ...


@dataclass
class Substitution:
    """What sold-out shoppers of one SKU are offered instead: a substitute, or a restock reservation."""

    stock: Stock | None
    price: float
    share: float
    restock_share: float
    draw: Draw


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
        skus = list(scenario.inventory.skus)
        self.locks = {
            name: [Holdable(env, f"{name}[{sku}]", 1) for sku in skus] if lock.per_sku else [Holdable(env, name, 1)]
            for name, lock in scenario.system.locks.items()
        }
        """Each lock's units: one, or one per SKU in the inventory's order (a request's key picks it)."""
        self.connections = {name: Holdable(env, name, c.size) for name, c in scenario.system.connections.items()}
        for name, p in scenario.system.pools.items():
            if p.processes is not None:
                fifo = p.cpu_order == "fifo"
                shared = Cores(p.cores) if p.cores is not None and p.cores < p.processes else None
                self.pools[name].cores = [
                    SharedCore(env, f"{name}:{k}", fifo, p.cpu_wake, shared) for k in range(p.processes)
                ]
        for step, ep in scenario.system.endpoints.items():
            if ep.staged:
                self.endpoints[step].stages = self._stages(step, ep, rng)
        self.calls = dict(self.endpoints)
        """The steps that are requests right now (a simplified checkout skips some)."""
        self.visits = {step: ep.requests for step, ep in scenario.system.endpoints.items() if ep.requests > 1}
        """Steps sent as several requests in a row: how many."""
        self.stocks = {
            name: Stock(env, name, sku, horizon, *_kept(scenario, name), key=key)
            for key, (name, sku) in enumerate(scenario.inventory.skus.items())
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
        self.lift_draw = sampler(Distribution("uniform", (0.0, 1.0)), rng("coupons"))

        # -- hooks: what features set or add to (the core reads them, never a feature by name) --
        self.gate: Gate | None = None
        """Queued entry every arriving shopper passes while it is enabled."""
        self.checkout: Checkout | None = None
        """Coupons: claimed by shoppers who mean to buy, taken off their orders (prices already hold the tiers)."""
        self.buy_lift: Callable[[], float] | None = None
        """Chance that a shopper who would not press buy does after all (a coupon won earlier, say)."""
        self.divert = 0.0
        """Share of arriving shoppers steered to other channels."""
        self.substitutes: dict[str, Substitution] = {}
        """Per SKU, what its sold-out shoppers are offered instead."""
        self.each_second: list[Callable[[int], None]] = []
        """Observers called at every whole second, after the core's own samples, in the order added."""
        self.late: list[Iterator[tuple[float, Generator]]] = []
        """Streams of (start time, process), each in time order, that begin beside the shoppers' (rain tappers,
        presale payers): `in_time_order` makes one."""
        self.sections: dict[str, Callable[[], Any]] = {}
        """Parts of the result read at the horizon, by key; a part that reads None is left out."""

    def finish(self, outcome: str, ticket: Place | None = None) -> None:
        """The shopper in hand leaves with this outcome, and their place in the shop if the gate let them in."""
        shoppers = self.shoppers
        shoppers.in_system -= 1
        shoppers.s_outcomes[outcome][int(self.env._now)] += 1  # hot path: _now, not the property
        if ticket is not None:
            self.gate.leave(ticket)  # type: ignore[union-attr]  # a ticket is only ever handed out by the gate

    def _stages(self, step: str, ep: EndpointSpec, rng: Callable[[str], np.random.Generator]) -> Stages:
        """What a request of this endpoint holds besides its worker, with a random stream per part."""

        def draw(part: str, dist: Distribution | None) -> Draw | None:
            return sampler(dist, rng(f"{part}:{step}")) if dist is not None else None

        cache, pool = ep.cache, self.scenario.system.pools[ep.pool]
        return Stages(
            cpu=self._paced(draw("cpu", ep.cpu), pool),
            connection=self.connections[ep.connection] if ep.connection is not None else None,
            locks=self.locks[ep.lock] if ep.lock is not None else None,
            hold=draw("hold", ep.hold),
            db=draw("db", ep.db),
            cpu_held=self._paced(draw("cpu_held", ep.cpu_held), pool),
            cache_hit=cache.hit if cache is not None else 0.0,
            cache_service=draw("cache", cache.service) if cache is not None else None,
            cache_draw=draw("cache:hit", Distribution("uniform", (0.0, 1.0))) if cache is not None else None,
        )

    def _paced(self, cpu: Draw | None, pool: PoolSpec) -> Draw | None:
        """The CPU demand drawn, scaled by the cores' pace in the second it is drawn, where the pool gives one."""
        if cpu is None or pool.cpu_pace is None or pool.cpu_reference is None:
            return cpu
        env, slower = self.env, [pace / pool.cpu_reference for pace in pool.cpu_pace]
        last = len(slower) - 1
        return lambda: cpu() * slower[min(int(env._now), last)]

    def resources(self) -> dict[str, Any] | None:
        """Locks, connection pools and CPU cores at the horizon, or None when the system has none."""
        horizon = self.scenario.clock.horizon
        cores = {name: [c.snapshot(horizon) for c in p.cores] for name, p in self.pools.items() if p.cores}
        if not (self.locks or self.connections or cores):
            return None
        return {
            "locks": {lock.name: lock.snapshot(horizon) for locks in self.locks.values() for lock in locks},
            "connections": {name: pool.snapshot(horizon) for name, pool in self.connections.items()},
            "cores": cores,
        }

    def clock(self, t: float) -> str:
        """The wall-clock label of simulated time t."""
        return format_clock(self.scenario.clock.start_time, t)

    def degrade(self, skip: list[str], service: dict[str, float]) -> None:
        """Simplified checkout: skipped steps stop being requests; others cost `factor` times their service."""
        for step in skip:
            self.calls.pop(step, None)
        for step, factor in service.items():  # relative to the endpoint's own cost, however often it fires
            self.endpoints[step].scale(degraded=factor)

    def release_kept(self) -> None:
        """From the end of their holds, member quota and set-aside units still unsold go on general sale."""
        for i, sale in enumerate(self.scenario.sales):
            m = sale.members
            if m is None:
                continue
            stock, member_open = self.stock_of[i], self.opens[i][MEMBER]
            for bucket, hold in ((MEMBER, m.quota_hold_for), (TOP, m.guaranteed.hold_for if m.guaranteed else None)):
                if hold is not None:
                    at(self.env, member_open + hold, lambda _, s=stock, b=bucket: s.release(b))


def _tier(sale: Sale, segment: str) -> int:
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


CHUNK = 4096
"""Indices of a late stream turned into Python ints at a time."""


def in_time_order(times: np.ndarray, make: Callable[[int], Generator]) -> Iterator[tuple[float, Generator]]:
    """A late stream: (times[i], make(i)) in time order, ties in index order (as a stable sort gives), each
    process made only as the engine reads it, so a million rain participants never wait in memory at once
    (nor their order as Python ints: it is read a chunk at a time)."""
    order = np.argsort(times, kind="stable")
    for start in range(0, len(order), CHUNK):
        for i in order[start : start + CHUNK].tolist():
            yield float(times[i]), make(i)
