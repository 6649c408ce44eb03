"""One replication: the scenario's components wired into one SimPy Environment and run to the horizon."""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable, Generator, Iterator

import numpy as np
from simpy import Event

from simulator.contingency import Playbook, Substitution
from simulator.demand import curves, draw_shoppers, drawn_demand
from simulator.distributions import Distribution, sampler
from simulator.engine import Engine, collector_paused
from simulator.inventory import GENERAL, MEMBER, PAID, TOP, Order, Stock
from simulator.metrics import ShopperStats
from simulator.presale import BalanceDay
from simulator.red_packets import Rain, participants
from simulator.scenario import Scenario
from simulator.servers import Endpoint, Pool
from simulator.shopper import Habits, shopper
from simulator.support import run as run_support
from simulator.timers import at
from simulator.units import format_clock
from simulator.waiting_room import Room, Ticket

SAMPLE_PRIORITY = -1
"""Per-second samples are taken before any other event of that instant: level[k] is the state after [0, k)."""


def streams(seed: np.random.SeedSequence) -> Callable[[str], np.random.Generator]:
    """Named random streams: one per component and purpose, stable when other purposes are added."""

    def stream(name: str) -> np.random.Generator:
        child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, zlib.crc32(name.encode())))
        return np.random.default_rng(child)

    return stream


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
            step: Endpoint(step, self.pools[ep.pool], sampler(ep.service, rng(f"service:{step}")), ep.timeout,
                           horizon)
            for step, ep in scenario.system.endpoints.items()
        }
        self.calls = dict(self.endpoints)
        """The steps that are requests right now (a simplified checkout skips some)."""
        self.stocks = {name: Stock(env, name, sku, horizon, *_kept(scenario, name))
                       for name, sku in scenario.inventory.skus.items()}
        self.stock_of = [self.stocks[sale.sku] for sale in scenario.sales]
        segments = list(scenario.audience.segments)
        self.tiers = [[_tier(sale, segment) for segment in segments] for sale in scenario.sales]
        """tiers[sale][segment]: GENERAL, MEMBER or TOP."""
        self.opens = [[sale.open - (sale.members.early_access if tier and sale.members else 0.0)
                       for tier in (GENERAL, MEMBER, TOP)] for sale in scenario.sales]
        self.prices = [[sale.sale_price * (1 - (sale.members.discount if tier and sale.members else 0.0))
                        for tier in (GENERAL, MEMBER, TOP)] for sale in scenario.sales]
        self.checks = [[functools.partial(self.stock_of[i].in_stock, tier) for tier in (GENERAL, MEMBER, TOP)]
                       for i in range(len(scenario.sales))]
        self.shoppers = ShopperStats(horizon)
        self.unanswered_orders: list[Order] = []
        self.room = (Room(env, scenario.waiting_room, rng, {t for opens in self.opens for t in opens}, horizon)
                     if scenario.waiting_room is not None else None)
        self.divert = 0.0
        """Share of arriving shoppers steered to other channels."""
        self.substitutes: dict[str, Substitution] = {}
        self.rains = {name: Rain(name, rain, rng, horizon) for name, rain in scenario.red_packets.items()}
        self.balance = None
        if scenario.presale is not None:
            i = next(i for i, sale in enumerate(scenario.sales) if sale.name == scenario.presale.sale)
            self.balance = BalanceDay(self, scenario.presale, self.stock_of[i], scenario.sales[i].sale_price, rng,
                                      horizon)
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
        return sum(r.config.coupon_lift * min(1.0, len(r.won) / self.audience)
                   for r in self.rains.values() if r.end <= now)

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


def simulate_once(scenario: Scenario, seed: np.random.SeedSequence) -> dict:
    """Run one replication to the horizon; its results as plain data."""
    rng = streams(seed)
    scenario = drawn_demand(scenario, rng("uncertainty"))
    world = World(scenario, rng)
    env = world.env
    horizon = scenario.clock.horizon
    segments = list(scenario.audience.segments)
    behaviours = [scenario.audience.behaviour_of(s) for s in segments]
    habits = [Habits(b, lambda purpose, s=s: rng(f"{purpose}:{s}")) for s, b in zip(segments, behaviours)]
    env.start(_arrivals(world, scenario, rng, habits, behaviours))
    late = [participants(world, rain, scenario.audience.size) for rain in world.rains.values()]
    if world.balance is not None:
        patience = behaviours[0].patience.sample(rng("presale:patience"), len(world.balance.orders))
        late.append(world.balance.payers(world, habits[0], patience))
    for processes in late:
        env.start(sorted(processes, key=lambda item: item[0]))
    _sample_every_second(world)
    with collector_paused():
        env.run_until(horizon)
    _sample(world, int(math.ceil(horizon)))
    result = {
        "horizon": horizon,
        "audience": scenario.audience.size,
        "shoppers": world.shoppers.snapshot(),
        "endpoints": {name: ep.stats.snapshot() for name, ep in world.endpoints.items()},
        "pools": {name: p.stats.snapshot(horizon, p.busy, p.in_pool()) for name, p in world.pools.items()},
        "pool_of": {name: ep.pool.name for name, ep in world.endpoints.items()},
        "stock": {name: stock.snapshot() for name, stock in world.stocks.items()},
        "charged_but_gave_up": sum(o.state == PAID for o in world.unanswered_orders),
        **({"waiting_room": world.room.snapshot()} if world.room is not None and world.room.enabled else {}),
        **({"red_packets": {name: r.snapshot() for name, r in world.rains.items()}} if world.rains else {}),
        **({"presale": world.balance.snapshot()} if world.balance is not None else {}),
        "contingency": world.playbook.log,
    }
    return result | ({"support": run_support(scenario, result, rng)} if scenario.support is not None else {})


BATCH = 2048
"""Arrivals drawn at a time: the batch's time span adapts so memory stays flat in the audience size."""


def _arrivals(world: World, scenario: Scenario, streams: Callable[[str], np.random.Generator],
              habits: list[Habits], behaviours: list) -> Iterator[tuple[float, Generator]]:
    """Each shopper's arrival time and visit, in time order, drawn a batch at a time as they are read."""
    rng, luck = streams("arrivals"), streams("luck")
    sale_curves = curves(scenario)
    horizon = scenario.clock.horizon
    me = 0
    start, span = 0.0, 1.0
    while start < horizon:
        end = min(start + span, horizon)
        expected = sum(c.expected_between(start, end) for c in sale_curves)
        if expected > 2 * BATCH and span > 1e-3:
            span /= 2
            continue
        batch = draw_shoppers(rng, scenario, sale_curves, start, end, behaviours, luck)
        intents = zip(batch.buys, batch.pays, batch.accepted, batch.keeps_trying, batch.patience, batch.luck)
        for t, sale, segment, intent in zip(batch.time, batch.sale, batch.segment, intents):
            yield t, shopper(world, me, sale, segment, habits[segment], intent)
            me += 1
        if expected < BATCH / 2 and span < 60:
            span *= 2
        start = end


def _sample(world: World, second: int) -> None:
    """Record every level series at a whole second."""
    world.shoppers.s_in_system[second] = world.shoppers.in_system
    for pool in world.pools.values():
        pool.stats.s_queue[second] = len(pool.queue)
        pool.stats.s_busy[second] = pool.busy
        pool.stats.s_workers[second] = pool.workers
    for endpoint in world.endpoints.values():
        endpoint.stats.s_in_flight[second] = endpoint.stats.in_flight
    for stock in world.stocks.values():
        stock.sample(second)
    if world.room is not None:
        world.room.sample(second)
        world.room.watch_stock(world.stock_of)
    if second < world.scenario.clock.horizon:
        world.playbook.check(second)


def _sample_every_second(world: World) -> None:
    """Take the samples at every whole second from now on, with one timer event requeued each second."""
    env = world.env
    tick = Event(env)
    tick._ok = True

    def take(_: Event | None = None) -> None:
        second = int(env._now)
        _sample(world, second)
        tick.callbacks = [take]
        env.push(second + 1.0, tick, SAMPLE_PRIORITY)

    take()
