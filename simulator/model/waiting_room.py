"""Queued entry: a virtual waiting room in front of the journey, as real waiting rooms run one.

Shoppers arriving before their sale's open wait in a pre-queue that is put in random order at the
open, so arriving early does not win; after the open the queue is first come, first served. The
room lets shoppers in at a rate (evenly spaced), while fewer than a cap are inside, or both. A
queued shopper knows their position and the wait it implies, may leave at once when shown a long
wait (balking) and leaves when their patience runs out (abandonment). An admitted shopper who idles
past the session timeout loses the place and queues again on return. While a sale's stock is all
taken, the room tells those queued for it that it is sold out, as real rooms do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy import Environment, Event

from simulator.distributions import Distribution, sampler
from simulator.engine import Latencies, at, series
from simulator.model.inventory import Stock
from simulator.scenario import WaitingRoom as Config

if TYPE_CHECKING:
    from simulator.model.world import World

OUTSIDE, WAITING, ADMITTED, LEFT = 0, 1, 2, 3
ABANDONED, SOLD_OUT = "abandoned_queue", "sold_out"
"""Why a shopper leaves the room without being let in: their outcome."""
RECENT = 60
"""Seconds of admissions behind the estimated wait when the room has no fixed rate."""


class Ticket:
    """One shopper's place in the room."""

    __slots__ = ("open", "stock", "tier", "state", "since", "event", "position", "shown_wait", "stint")

    def __init__(self, open_at: float, stock: Stock, tier: int = 0):
        self.open = open_at
        self.stock = stock
        self.tier = tier
        self.stint = 0  # spells in the queue: a patience timer belongs to one
        self.state = OUTSIDE
        self.since = 0.0
        self.event: Event = None  # type: ignore[assignment]  # set by Room.enter, before anything waits on it
        self.position = 0
        self.shown_wait: float | None = None


class Room:
    """The waiting room of one replication."""

    def __init__(
        self,
        env: Environment,
        config: Config,
        rng: Callable[[str], np.random.Generator],
        opens: Iterable[float],
        horizon: float,
    ):
        self.env = env
        self.enabled = config.enabled
        self.rate = config.admit_rate
        self.cap = config.max_active
        self.pre_queue = config.pre_queue
        self.sold_out_closes = config.sold_out_closes
        self.closed: set[tuple[str, int]] = set()  # (SKU, tier) with no unit left for that tier
        self.first_admission: int | None = None
        self.session_timeout = config.session_timeout
        self.balk_over = config.balk_over
        self.balk = config.balk
        self.patience = sampler(config.patience, rng("waiting_room:patience"))
        self.balk_draw = sampler(Distribution("uniform", (0.0, 1.0)), rng("waiting_room:balk"))
        self.order = rng("waiting_room:order")
        self.queue: deque[Ticket] = deque()
        self.waiting = 0  # in the queue and not gone
        self.pre: dict[float, list[Ticket]] = {}
        self.pre_waiting = 0
        self.active = 0
        self.next_slot = 0.0
        self._tick: Event | None = None
        self.admitted = self.abandoned = self.balked = self.expired = self.peak_queue = self.peak_active = 0
        self.told_sold_out = 0
        self.waits = Latencies(horizon)
        self.s_admitted = series(horizon)
        self.s_abandoned = series(horizon)
        self.s_queue = series(horizon)
        self.s_active = series(horizon)
        for t in sorted(set(opens)):
            if t < horizon:
                at(self.env, t, lambda _, t=t: self._open(t))

    def ticket(self, open_at: float, stock: Stock, tier: int) -> Ticket:
        """A place for a shopper of this tier, queueing for this stock from its open."""
        return Ticket(open_at, stock, tier)

    def queued(self) -> int:
        """Shoppers waiting, pre-queue included."""
        return self.waiting + self.pre_waiting

    def enter(self, ticket: Ticket) -> Generator[Any, Any, str | None]:
        """Wait for admission: None once let in, else the outcome of leaving (ABANDONED, SOLD_OUT)."""
        now = self.env._now  # hot path (every shopper): _now, not the property
        ticket.event = Event(self.env)
        ticket.state = WAITING
        if (ticket.stock.name, ticket.tier) in self.closed:
            ticket.state = LEFT
            self.told_sold_out += 1
            return SOLD_OUT
        if self.pre_queue and now < ticket.open:
            self.pre.setdefault(ticket.open, []).append(ticket)
            self.pre_waiting += 1
            self._peak()
        else:
            self._join(ticket, now)
            if ticket.state == WAITING:
                self._pump()
        if ticket.state == ADMITTED:
            return None
        if ticket.state == LEFT:
            return ABANDONED
        return (yield ticket.event)

    def leave(self, ticket: Ticket) -> None:
        """An admitted shopper's visit ends: their place goes to the next in line."""
        if ticket.state == ADMITTED:
            ticket.state = LEFT
            self.active -= 1
            self._pump()

    def expire(self, ticket: Ticket) -> None:
        """An admitted shopper idled past the session timeout: the place is given up."""
        if ticket.state == ADMITTED:
            ticket.state = OUTSIDE
            self.active -= 1
            self.expired += 1
            self._pump()

    def rest(self, ticket: Ticket, seconds: float) -> Generator[Any, Any, str | None]:
        """Pause; if the session times out meanwhile, queue again on return (None, or the outcome of leaving)."""
        timeout = self.session_timeout
        if timeout is None or seconds <= timeout:
            yield seconds
            return None
        yield timeout
        self.expire(ticket)
        yield seconds - timeout
        return (yield from self.enter(ticket))

    # -- inside the room -------------------------------------------------------------------

    def _join(self, ticket: Ticket, now: float) -> None:
        """Take a place at the back: shown the position and the wait; balk, or wait with patience."""
        ticket.since = now
        ticket.stint += 1
        ticket.position = self.waiting
        ticket.shown_wait = self._estimate(ticket.position, now)
        if (
            self.balk
            and self.balk_over is not None
            and ticket.shown_wait is not None
            and ticket.shown_wait > self.balk_over
            and self.balk_draw() < self.balk
        ):
            ticket.state = LEFT
            self.balked += 1
            self.abandoned += 1
            self.s_abandoned[int(now)] += 1
            return
        self.queue.append(ticket)
        self.waiting += 1
        self._peak()
        at(self.env, now + self.patience(), lambda _, t=ticket, stint=ticket.stint: self._renege(t, stint))

    def _estimate(self, ahead: int, now: float) -> float | None:
        """The wait shown to a shopper with `ahead` people in front: from the rate, else recent admissions."""
        rate = self.rate
        if rate is None:
            second = int(now)
            if self.first_admission is None or second <= self.first_admission:
                return None
            span = min(RECENT, second - self.first_admission)
            recent = sum(self.s_admitted[second - span : second])
            rate = recent / span if recent else None
        return ahead / rate if rate else None

    def _open(self, t: float) -> None:
        """A sale opens: its pre-queue joins the queue in random order."""
        tickets = self.pre.pop(t, [])
        self.pre_waiting -= len(tickets)
        for i in self.order.permutation(len(tickets)).tolist():
            self._join(tickets[i], t)
        for ticket in tickets:
            if ticket.state == LEFT:
                ticket.event.succeed(ABANDONED)
        self._pump()

    def _renege(self, ticket: Ticket, stint: int) -> None:
        """Patience runs out in the queue (the spell the timer was set for, not a later one)."""
        if ticket.state != WAITING or ticket.stint != stint:
            return
        ticket.state = LEFT
        self.waiting -= 1
        self.abandoned += 1
        self.s_abandoned[int(self.env._now)] += 1  # hot path (every abandonment): _now, not the property
        ticket.event.succeed(ABANDONED)

    def _pump(self) -> None:
        """Let in whoever may enter now; when the rate holds the next one back, come back then."""
        now = self.env._now  # hot path (every admission and leaving): _now, not the property
        queue = self.queue
        while queue and (self.cap is None or self.active < self.cap):
            if self.rate is not None and now < self.next_slot:
                if self._tick is None:
                    self._tick = at(self.env, self.next_slot, self._on_tick)
                return
            ticket = queue.popleft()
            if ticket.state != WAITING:
                continue  # left while queued
            self.waiting -= 1
            self._admit(ticket, now)

    def _on_tick(self, _: Event) -> None:
        self._tick = None
        self._pump()

    def _admit(self, ticket: Ticket, now: float) -> None:
        ticket.state = ADMITTED
        self.active += 1
        self.admitted += 1
        self.peak_active = max(self.peak_active, self.active)
        self.s_admitted[int(now)] += 1
        if self.first_admission is None:
            self.first_admission = int(now)
        self.waits.record(now, now - ticket.since)
        if self.rate is not None:
            self.next_slot = max(self.next_slot, now) + 1.0 / self.rate
        if not ticket.event.triggered:
            ticket.event.succeed(None)

    def _peak(self) -> None:
        self.peak_queue = max(self.peak_queue, self.queued())

    def watch_stock(self, stocks: Iterable[Stock]) -> None:
        """Close the queue to a tier of a sale with no unit left for it (telling those queued); reopen when
        units come back. Units held by unpaid orders may come back later: the room does not wait for them."""
        if not self.sold_out_closes:
            return
        for stock in dict.fromkeys(stocks):  # in order: the order of events must not depend on ids
            for tier in range(3):
                key = (stock.name, tier)
                if stock.in_stock(tier):
                    self.closed.discard(key)
                elif key not in self.closed:
                    self.closed.add(key)
                    self._tell_sold_out(*key)

    def _tell_sold_out(self, sku: str, tier: int) -> None:
        def mine(t: Ticket) -> bool:
            return t.stock.name == sku and t.tier == tier

        for ticket in [t for t in self.queue if t.state == WAITING and mine(t)]:
            ticket.state = LEFT
            self.waiting -= 1
            self.told_sold_out += 1
            ticket.event.succeed(SOLD_OUT)
        for open_at, tickets in self.pre.items():
            self.pre[open_at] = [t for t in tickets if not mine(t)]
            for ticket in (t for t in tickets if mine(t)):
                self.pre_waiting -= 1
                self.told_sold_out += 1
                ticket.state = LEFT
                ticket.event.succeed(SOLD_OUT)

    def sample(self, second: int) -> None:
        self.s_queue[second] = self.queued()
        self.s_active[second] = self.active

    def snapshot(self) -> dict:
        return {
            "admitted": self.admitted,
            "abandoned": self.abandoned,
            "balked": self.balked,
            "told_sold_out": self.told_sold_out,
            "expired_sessions": self.expired,
            "peak_queue": self.peak_queue,
            "peak_active": self.peak_active,
            "queued_at_end": self.queued(),
            **self.waits.histograms(),
            "series": {
                "queue": self.s_queue,
                "active": self.s_active,
                "admitted": self.s_admitted,
                "abandoned": self.s_abandoned,
            },
        }


def install(world: World, config: Config, rng: Callable[[str], np.random.Generator]) -> Room:
    """The room as the world's gate: sampled each second, its figures in the result while it is on."""
    room = Room(world.env, config, rng, {t for opens in world.opens for t in opens}, world.scenario.clock.horizon)
    world.gate = room

    def observe(second: int) -> None:
        room.sample(second)
        room.watch_stock(world.stock_of)

    world.each_second.append(observe)
    world.sections["waiting_room"] = lambda: room.snapshot() if room.enabled else None
    return room
