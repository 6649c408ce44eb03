"""The shopper journey as a SimPy process: arrive, look, press buy, order one unit, pay, or leave.

Every step is a request to an endpoint; a failed request (rejected or timed out) is retried with
capped exponential backoff and jitter until the retries or the shopper's patience run out. These
retries are what multiply load in a real flash sale, so they are modelled, not assumed away.

A shopper yields either an event to wait for (a response) or a float: seconds to pause (think,
refresh, back off). Pauses are plain numbers because they are the commonest wait (hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.distributions import Distribution, Sampler
from simulator.inventory import PAID, Order
from simulator.scenario import Behaviour
from simulator.servers import Failure

if TYPE_CHECKING:
    from simulator.model import World

GAVE_UP = Failure("gave up")


class Habits:
    """One segment's behaviour made ready for the hot path: samplers and plain numbers."""

    def __init__(self, behaviour: Behaviour, rng: Callable[[str], np.random.Generator]):
        retry, sold_out = behaviour.retry, behaviour.sold_out
        self.think = Sampler(behaviour.think_time, rng("think"))
        self.pay_delay = Sampler(behaviour.pay_delay, rng("pay_delay"))
        self.jitter_draw = Sampler(Distribution("uniform", (0.0, 1.0)), rng("jitter"))
        self.refresh = Sampler(Distribution("exp", (sold_out.refresh_every,)), rng("refresh"))
        self.max_retries = retry.max_retries
        self.backoff = retry.backoff
        self.multiplier = retry.multiplier
        self.max_backoff = retry.max_backoff
        self.jitter = retry.jitter
        self.keep_trying_for = sold_out.keep_trying_for

    def pause(self, wait: float) -> float:
        """The pause before a retry whose backoff is `wait`: its jittered share drawn at random."""
        return wait * (1.0 - self.jitter + self.jitter * self.jitter_draw())

    def next_backoff(self, wait: float) -> float:
        return min(wait * self.multiplier, self.max_backoff)


def shopper(world: World, me: int, sale: int, habits: Habits, intent: tuple) -> Generator:
    """One shopper's visit to one sale, ending in exactly one outcome."""
    buys, pays, accepted, keeps_trying, patience = intent
    env = world.env
    world.shoppers.arrive(env._now)
    stock = world.stock_of[sale]
    opens = world.opens[sale]
    give_up_at = max(env._now, opens) + patience  # patience is for trying, which starts at the open
    refresh_until = None

    if (yield from call(world, "product_page", None, habits, give_up_at)) is GAVE_UP:
        return world.finish("gave_up")
    if not buys:
        return world.finish("left_funnel")
    if env._now < opens:  # early: wait on the page, then press buy with the crowd at the open
        yield opens - env._now + habits.think()
    else:
        yield habits.think()

    while True:  # until holding an order: check stock, order, and if sold out maybe keep refreshing
        answer = yield from call(world, "buy", stock.in_stock, habits, give_up_at)
        if answer is GAVE_UP:
            return world.finish("gave_up")
        if answer is True:
            yield habits.think()
            order = yield from call(world, "create_order", lambda: stock.reserve(me, world.price[sale]),
                                    habits, give_up_at)
            if order is GAVE_UP:
                return world.finish("gave_up")
            if isinstance(order, Order):
                break
        if not keeps_trying:
            return world.finish("sold_out")
        if refresh_until is None:
            refresh_until = env.now + habits.keep_trying_for
        wait = habits.refresh()
        if env.now + wait > refresh_until:
            return world.finish("sold_out")
        yield wait

    if not pays:
        return world.finish("left_funnel")  # the order expires at the end of its payment window
    yield habits.pay_delay()
    paid = yield from call(world, "pay", lambda: stock.pay(order, accepted), habits, give_up_at)
    if paid is GAVE_UP:
        world.unanswered_orders.append(order)
        return world.finish("gave_up")
    return world.finish("bought" if paid == PAID else "left_funnel")


def call(world: World, step: str, effect: Callable[[], Any] | None, habits: Habits,
         give_up_at: float) -> Generator[Any, Any, Any]:
    """Request a step, retrying failures with backoff; the step's result, or GAVE_UP."""
    endpoint = world.endpoints.get(step)
    if endpoint is None:  # not modelled as a request: it simply happens
        return effect() if effect is not None else True
    env = world.env
    wait = habits.backoff
    for attempt in range(habits.max_retries + 1):
        if attempt:
            endpoint.stats.retries += 1
            endpoint.stats.s_retries[int(env.now)] += 1
        result = yield endpoint.call(effect)
        if not isinstance(result, Failure):
            return result
        if attempt == habits.max_retries:
            break
        pause = habits.pause(wait)
        if env.now + pause > give_up_at:
            break
        yield pause
        wait = habits.next_backoff(wait)
    return GAVE_UP
