"""The shopper journey as a SimPy process: arrive, look, press buy, order one unit, pay, or leave.

Every step is a request to an endpoint; a failed request (rejected or timed out) is retried with
capped exponential backoff and jitter until the retries or the shopper's patience run out. These
retries are what multiply load in a real flash sale, so they are modelled, not assumed away.

A shopper yields either an event to wait for (a response) or a float: seconds to pause (think,
refresh, back off). Pauses are plain numbers because they are the commonest wait (hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine import Answered, Endpoint, Engine, Failure, Request
from simulator.model.inventory import GENERAL, PAID, Order
from simulator.scenario import Behaviour

if TYPE_CHECKING:
    from simulator.model.world import World

GAVE_UP = Failure("gave up")


class Habits:
    """One segment's behaviour made ready for the hot path: samplers and plain numbers."""

    def __init__(self, behaviour: Behaviour, rng: Callable[[str], np.random.Generator]):
        retry, sold_out = behaviour.retry, behaviour.sold_out
        self.think = sampler(behaviour.think_time, rng("think"))
        self.pay_delay = sampler(behaviour.pay_delay, rng("pay_delay"))
        self.jitter_draw = sampler(Distribution("uniform", (0.0, 1.0)), rng("jitter"))
        self.refresh = sampler(Distribution("exp", (sold_out.refresh_every,)), rng("refresh"))
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


def shopper(world: World, me: int, sale: int, segment: int, habits: Habits, intent: tuple) -> Generator:
    """One shopper's visit to one sale: arrive, look, press buy, order one unit, pay. It ends in exactly
    one outcome, recorded by `world.finish` (one generator for the whole visit: hot path)."""
    buys, pays, accepted, keeps_trying, patience, luck = intent
    del intent  # nor the tuple, nor a request answered, is kept while the shopper waits (a full-size sale has millions)
    env = world.env
    shoppers = world.shoppers
    shoppers.in_system += 1
    shoppers.s_arrivals[int(env._now)] += 1  # hot path: _now, not the property (here and below)
    if luck < world.divert:
        return world.finish("diverted")
    tier, stock = world.tiers[sale][segment], world.stock_of[sale]
    opens = world.opens[sale][tier]
    gate, ticket = world.gate, None  # with a ticket there is a gate (mypy cannot see it: ignores below)
    if gate is not None and gate.enabled:
        ticket = gate.ticket(opens, stock, tier)
        if (left := (yield from gate.enter(ticket))) is not None:
            return world.finish(left)
    give_up_at = (opens if opens > env._now else env._now) + patience  # for trying, which starts at the open
    if "token" in world.calls:  # the waiting-room token first, where the system maps one
        if (yield from call(world, "token", None, habits, give_up_at, stock.key)) is GAVE_UP:
            return world.finish("gave_up", ticket)

    # every shopper looks: the first attempt is sent here rather than through call or request (hot path)
    page = world.calls.get("product_page")
    if "product_page" in world.visits:  # a page of several requests
        answer = yield from call(world, "product_page", None, habits, give_up_at, stock.key)
    else:
        sent = page.call(None, stock.key) if page is not None else Answered(True)
        if (answer := (yield sent)).__class__ is Failure:
            answer = yield from retry(env, sent.endpoint, None, habits, give_up_at, stock.key)
        del sent
    if answer is GAVE_UP:
        return world.finish("gave_up", ticket)
    if not buys and not ((lift := world.buy_lift) is not None and world.lift_draw() < lift()):
        return world.finish("left_funnel", ticket)
    in_stock: Callable[[], bool]
    in_stock, price = world.checks[sale][tier], world.prices[sale][tier]
    deal = None
    if (checkout := world.checkout) is not None:
        if (
            checkout.offers[sale]
            and (yield from checkout.claims(world, me, sale, price, habits, give_up_at)) is GAVE_UP
        ):
            return world.finish("gave_up", ticket)
        price, deal = checkout.best(me, sale, tier, price)
    refresh_until = None
    substituted = False
    # early: wait on the page, then press buy with the crowd at the open
    wait = opens - env._now + habits.think() if env._now < opens else habits.think()
    if ticket is None:
        yield wait
    elif (left := (yield from gate.rest(ticket, wait))) is not None:  # type: ignore[union-attr]
        return world.finish(left, ticket)

    while True:  # until holding an order: check stock, order, and if sold out maybe keep refreshing
        buy = world.calls.get("buy")  # looked up each time: a contingency rule may stop it being a request
        if buy is None or "buy" in world.visits:
            answer = yield from call(world, "buy", in_stock, habits, give_up_at, stock.key)
        else:  # sent here rather than through call, as the page is: the refreshes after a sell-out are a flood
            sent = buy.call(in_stock, stock.key)
            if (answer := (yield sent)).__class__ is Failure:
                answer = yield from retry(env, buy, in_stock, habits, give_up_at, stock.key)
            del sent
        if answer is GAVE_UP:
            return world.finish("gave_up", ticket)
        if answer is True:
            yield habits.think()
            reserve = partial(stock.reserve, me, price, tier)
            order = yield from call(world, "create_order", reserve, habits, give_up_at, stock.key)
            if order is GAVE_UP:
                return world.finish("gave_up", ticket)
            if isinstance(order, Order):
                break
        offer = world.substitutes.get(stock.name) if not substituted else None
        if offer is not None:  # the playbook's third level: a substitute, or a restock reservation
            substituted = True
            draw = offer.draw()
            if offer.stock is not None and draw < offer.share:
                stock, price, tier, deal = offer.stock, offer.price, GENERAL, None
                in_stock = stock.in_stock
                if ticket is not None:
                    ticket.stock, ticket.tier = stock, tier
                continue
            if draw < offer.share + (1 - offer.share) * offer.restock_share:
                stock.promise_restock()
        if not keeps_trying:
            return world.finish("sold_out", ticket)
        if refresh_until is None:
            refresh_until = env._now + habits.keep_trying_for
        wait = habits.refresh()
        if env._now + wait > refresh_until:
            return world.finish("sold_out", ticket)
        if ticket is None:
            yield wait
        elif (left := (yield from gate.rest(ticket, wait))) is not None:  # type: ignore[union-attr]
            return world.finish(left, ticket)

    if not pays:
        return world.finish("left_funnel", ticket)  # the order expires at the end of its payment window
    yield habits.pay_delay()  # in checkout, holding a unit: the waiting room keeps the place
    settle = (
        partial(stock.pay, order, accepted) if checkout is None else partial(checkout.pay, stock, order, accepted, deal)
    )
    paid = yield from call(world, "pay", settle, habits, give_up_at, stock.key)
    if paid is GAVE_UP:
        world.unanswered_orders.append(order)
        return world.finish("gave_up", ticket)
    return world.finish("bought" if paid == PAID else "left_funnel", ticket)


def request(world: World, step: str, effect: Callable[[], Any] | None, key: int = 0) -> Request | Answered:
    """The first attempt at a step (about the SKU of index `key`): its request, or, for a step that is not a
    request, its answer."""
    endpoint = world.calls.get(step)
    if endpoint is None:  # not modelled as a request: it simply happens
        return Answered(effect() if effect is not None else True)
    return endpoint.call(effect, key)


def call(
    world: World, step: str, effect: Callable[[], Any] | None, habits: Habits, give_up_at: float, key: int = 0
) -> Generator[Any, Any, Any]:
    """Request a step (about the SKU of index `key`), retrying failures with backoff: a process whose result is
    the step's, or GAVE_UP. A step of several requests sends them one after another, the effect with the last."""
    if step in world.visits and step in world.calls:
        return in_turn(world, step, effect, habits, give_up_at, key)
    return attempt(world, step, effect, habits, give_up_at, key)


def in_turn(
    world: World, step: str, effect: Callable[[], Any] | None, habits: Habits, give_up_at: float, key: int = 0
) -> Generator[Any, Any, Any]:
    """The requests of a step of several, each retried on its own: GAVE_UP as soon as one gives up."""
    for _ in range(world.visits[step] - 1):
        if (yield from attempt(world, step, None, habits, give_up_at, key)) is GAVE_UP:
            return GAVE_UP
    return (yield from attempt(world, step, effect, habits, give_up_at, key))


def attempt(
    world: World, step: str, effect: Callable[[], Any] | None, habits: Habits, give_up_at: float, key: int = 0
) -> Generator[Any, Any, Any]:
    """One request of a step, retried with backoff; its result, or GAVE_UP."""
    sent = request(world, step, effect, key)
    answer = yield sent
    if answer.__class__ is Failure:  # only a request fails: an Answered's answer is the effect's result
        return (yield from retry(world.env, sent.endpoint, effect, habits, give_up_at, key))  # type: ignore[union-attr]
    return answer


def retry(
    env: Engine, endpoint: Endpoint, effect: Callable[[], Any] | None, habits: Habits, give_up_at: float, key: int = 0
) -> Generator[Any, Any, Any]:
    """After a failed first attempt: send again after backoff until the request succeeds or the retries or
    the patience run out; the step's result, or GAVE_UP."""
    wait = habits.backoff
    for _ in range(habits.max_retries):
        pause = habits.pause(wait)
        if env._now + pause > give_up_at:  # hot path: _now, not the property (here and below)
            break
        yield pause
        wait = habits.next_backoff(wait)
        endpoint.stats.retries += 1
        endpoint.stats.s_retries[int(env._now)] += 1
        result = yield endpoint.call(effect, key)
        if result.__class__ is not Failure:
            return result
    return GAVE_UP
