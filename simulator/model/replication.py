"""One replication: the world built, its features wired in, the shoppers started, run to the horizon."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Generator, Iterator

import numpy as np
from simpy.core import EventPriority

from simulator.engine import collector_paused, every_second, streams
from simulator.model import (
    contact_centre,
    contingency,
    fulfilment,
    incidents,
    presale,
    pricing,
    red_packets,
    waiting_room,
)
from simulator.model.demand import Shoppers, curves, draw_shoppers, drawn_demand
from simulator.model.inventory import PAID
from simulator.model.shopper import Habits, shopper
from simulator.model.world import World
from simulator.scenario import Scenario

SAMPLE_PRIORITY = EventPriority(-1)
"""Per-second samples are taken before any other event of that instant: level[k] is the state after [0, k)."""


def build(scenario: Scenario, rng: Callable[[str], np.random.Generator], habits: list[Habits]) -> World:
    """The world with the scenario's features plugged in: the one place that knows them all.

    The order is part of the model: features that set timers at the same instant fire in the order
    they were built, so a new feature is added after the others.
    """
    world = World(scenario, rng)
    if scenario.waiting_room is not None:
        waiting_room.install(world, scenario.waiting_room, rng)
    if scenario.red_packets:
        red_packets.install(world, scenario.red_packets, rng)
    if scenario.pricing is not None:  # before the presale: the holders' balance is at the tiered price
        pricing.install(world, scenario.pricing, rng)
    if scenario.presale is not None:
        presale.install(world, scenario.presale, rng, habits[0])
    contingency.install(world, scenario.contingency, rng)
    world.release_kept()
    incidents.install(world, scenario.incidents, rng)
    return world


def simulate_once(scenario: Scenario, seed: np.random.SeedSequence, shoppers: Shoppers | None = None) -> dict:
    """Run one replication to the horizon; its results as plain data. With `shoppers`, those visit (a load
    test's own, to compare with it) rather than shoppers drawn from the audience."""
    rng = streams(seed)
    scenario = drawn_demand(scenario, rng("uncertainty"))
    segments = list(scenario.audience.segments)
    behaviours = [scenario.audience.behaviour_of(s) for s in segments]
    # mypy cannot type a lambda binding a loop variable by a default argument (mypy#15459)
    habits = [Habits(b, lambda purpose, s=s: rng(f"{purpose}:{s}")) for s, b in zip(segments, behaviours)]  # type: ignore[misc]
    world = build(scenario, rng, habits)
    env = world.env
    horizon = scenario.clock.horizon
    if shoppers is None:
        env.start(_arrivals(world, scenario, rng, habits, behaviours))
    else:
        env.start(_visits(world, shoppers, habits))
    for processes in world.late:
        env.start(processes)
    every_second(env, functools.partial(_sample, world), SAMPLE_PRIORITY)
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
    }
    if (resources := world.resources()) is not None:
        result["resources"] = resources
    for key, read in world.sections.items():
        if (section := read()) is not None:
            result[key] = section
    if scenario.support is not None:  # the contact centre answers the contacts the run's outcomes raise
        result["support"] = contact_centre.run(scenario, result, rng)
    if scenario.fulfilment is not None:  # the warehouse ships the orders the run's shoppers paid
        result["fulfilment"] = fulfilment.run(scenario, result)
    return result


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
        yield from _visits(world, batch, habits, me)
        me += len(batch.time)
        if expected < BATCH / 2 and span < 60:
            span *= 2
        start = end


def _visits(world: World, batch: Shoppers, habits: list[Habits], first: int = 0) -> Iterator[tuple[float, Generator]]:
    """Each shopper's arrival time and visit, numbered from `first`."""
    intents = zip(batch.buys, batch.pays, batch.accepted, batch.keeps_trying, batch.patience, batch.luck)
    for me, (t, sale, segment, intent) in enumerate(zip(batch.time, batch.sale, batch.segment, intents), first):
        yield t, shopper(world, me, sale, segment, habits[segment], intent)


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
    for observe in world.each_second:
        observe(second)
