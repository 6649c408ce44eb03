"""One replication: the world built, its features wired in, the shoppers started, run to the horizon."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator

import numpy as np
from simpy import Event

from simulator.engine.calendar import collector_paused
from simulator.engine.streams import streams
from simulator.model.contact_centre import run as run_support
from simulator.model.demand import curves, draw_shoppers, drawn_demand
from simulator.model.inventory import PAID
from simulator.model.red_packets import participants
from simulator.model.shopper import Habits, shopper
from simulator.model.world import World
from simulator.scenario.promotion import Scenario

SAMPLE_PRIORITY = -1
"""Per-second samples are taken before any other event of that instant: level[k] is the state after [0, k)."""


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


def _arrivals(
    world: World,
    scenario: Scenario,
    streams: Callable[[str], np.random.Generator],
    habits: list[Habits],
    behaviours: list,
) -> Iterator[tuple[float, Generator]]:
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
