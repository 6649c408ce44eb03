"""The event loop: SimPy's Environment with a calendar in front of its heap, and the journeys it drives.

A flash sale keeps a few hundred thousand events pending at once (shoppers thinking, backing off,
refreshing). Popping from a heap that size misses the cache at every level and took a third of a
replication's time. Here, once the heap holds more than a few hundred events, an event due after
the current slot waits unsorted in its slot's bucket and joins the heap when its slot comes (a
calendar queue, R. Brown, CACM 1988). Events still run in SimPy's order, by (time, priority, id).

Arrivals are not events at all: each stream of starts (shoppers, rain participants, presale payers)
is read in time order beside the heap, and its next journey starts once every event due before it,
or at the same time, has run.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from heapq import heapify, heappop, heappush, heapreplace
from typing import Any, Protocol

from simpy import Environment, Event
from simpy.core import NORMAL, EventPriority, SimTime

SLOTS_PER_SECOND = 128
"""Calendar slots per simulated second. A power of two, so slot edges are exact in floating point."""
SMALL = 256
"""Pending events the heap takes whatever their time: below this the buckets would cost more."""
FAR = 2.0**40
"""Events at or after this time (an infinite delay included) share one last slot."""
_FAR_SLOT = int(FAR * SLOTS_PER_SECOND)


def _slot(t: float) -> int:
    return int(t * SLOTS_PER_SECOND) if t < FAR else _FAR_SLOT


class Engine(Environment):
    """An Environment whose pending events, when many, wait in per-slot buckets beyond the current slot.

    Invariant: every bucketed event is due at or after `_edge`, the end of the current slot, and
    a bucket holds the events of one slot. The heap's top runs next if it is due before the edge or
    nothing is bucketed; otherwise the earlier of the heap's top and the first bucket's slot becomes
    the current slot.
    """

    def __init__(self) -> None:
        super().__init__()
        self._edge = 1.0 / SLOTS_PER_SECOND
        self._buckets: dict[int, list] = {}
        self._slots: list[int] = []  # a heap of the slots that have a bucket
        self._starts: list[tuple[float, int, Generator, Iterator]] = []  # each stream's next start, a heap
        self._streams = 0

    def start(self, stream: Iterable[tuple[float, Generator]]) -> None:
        """Start each generator of a time-ordered stream of (time, generator) as a journey at its time.

        The stream is read one item at a time, so a sale's audience never waits in memory at once
        (a shopper exists only from their arrival on). A start comes after the events due at its time.
        """
        stream = iter(stream)
        item = next(stream, None)
        if item is not None:
            self._streams += 1
            heappush(self._starts, (item[0], self._streams, item[1], stream))

    def _start_next(self) -> None:
        """Start the earliest pending journey and read the next item of its stream."""
        t, n, generator, stream = self._starts[0]
        self._now = t
        item = next(stream, None)
        if item is None:
            heappop(self._starts)
        else:
            heapreplace(self._starts, (item[0], n, item[1], stream))
        journey = Journey()
        journey.generator = generator
        journey.env = self
        journey.resume(BEGIN)

    def drive(self, generator: Generator[Any, Any, Any]) -> None:
        """Drive `generator` from now on, as a journey is driven (a request's way through a server, say)."""
        journey = Journey()
        journey.generator = generator
        journey.env = self
        journey.resume(BEGIN)

    def push(self, t: float, event: Any, priority: EventPriority = NORMAL) -> None:
        """Schedule `event` (an Event, any object with `callbacks`, or a Journey to resume) to be processed at
        time t."""
        entry = (t, priority, next(self._eid), event)
        queue = self._queue
        if len(queue) < SMALL or t < self._edge:
            heappush(queue, entry)
            return
        slot = int(t * SLOTS_PER_SECOND) if t < FAR else _FAR_SLOT  # _slot(t), inlined (hot path)
        bucket = self._buckets.get(slot)
        if bucket is None:
            self._buckets[slot] = [entry]
            heappush(self._slots, slot)
        else:
            bucket.append(entry)

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        self.push(self._now + delay, event, priority)

    def _advance(self) -> bool:
        """The heap's top is not due in the current slot: move on to the slot of the next event, taking
        its bucket into the heap (and the buckets after it while the heap is short, so sparse buckets
        cost little), after which the heap's top is the next event. False when nothing is pending."""
        queue, slots = self._queue, self._slots
        if slots and (not queue or slots[0] <= _slot(queue[0][0])):
            while True:
                slot = heappop(slots)
                bucket = self._buckets.pop(slot)
                if len(bucket) > len(queue):
                    queue.extend(bucket)
                    heapify(queue)
                else:
                    for entry in bucket:
                        heappush(queue, entry)
                if not slots or len(queue) >= SMALL // 2:
                    break
        elif queue:
            slot = _slot(queue[0][0])
        else:
            return False
        self._edge = (slot + 1) / SLOTS_PER_SECOND if slot < _FAR_SLOT else float("inf")
        return True

    def _next_event(self) -> float:
        """When the next event is due (inf when none is)."""
        if not (self._queue and (not self._slots or self._queue[0][0] < self._edge)):
            self._advance()  # after which the heap's top is the next event
        return super().peek()

    def peek(self) -> float:
        return min(self._next_event(), self._starts[0][0]) if self._starts else self._next_event()

    def step(self) -> None:
        t = self._next_event()  # after which the heap's top is the next event
        queue = self._queue
        if self._starts and self._starts[0][0] < t:
            self._start_next()
        elif queue and queue[0][3].__class__ is Journey:  # a pause ends: the journey itself, no callbacks
            self._now, _, _, journey = heappop(queue)
            journey.resume(journey)
        else:
            super().step()

    def run_until(self, until: float) -> None:
        """Process every event and start due before `until`, then stand at `until` (Environment.run, lean)."""
        queue, slots, starts = self._queue, self._slots, self._starts
        edge = self._edge
        inf = float("inf")
        journey = Journey
        while True:
            if queue and (not slots or queue[0][0] < edge):
                t = queue[0][0]
            elif self._advance():  # the next event is bucketed: its bucket is now in the heap
                edge = self._edge
                continue
            else:
                t = inf  # no event pending: only starts
            if starts and starts[0][0] < t:
                if starts[0][0] >= until:
                    break
                self._start_next()
                continue
            if t >= until:
                break
            _, _, _, event = heappop(queue)
            self._now = t
            if event.__class__ is journey:  # a pause ends (the commonest event): resumed without callbacks
                event.resume(event)
                continue
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]  # as SimPy's step
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                raise event._value
        self._now = until


class Answered:
    """An event already processed, carrying its value: yielded, a journey carries on at once with it."""

    __slots__ = ("_value",)
    callbacks = None

    def __init__(self, value: Any):
        self._value = value


BEGIN = Answered(None)
"""What a journey's generator is sent first."""


class Waited(Protocol):
    """What a journey waited on, and is sent the value of: an Event, a Request, an Answered, itself (a pause)."""

    _value: Any


class Journey:
    """Drives one generator from wait to wait: a SimPy process without the extras.

    Hot path: a shopper never interrupts or is interrupted and its events never fail, so it needs
    neither a Process object nor a termination event. It is its own event for pauses: a float yielded
    by the generator requeues the journey itself that many seconds later, and the engine resumes it
    when it comes up, without the list of callbacks and the bound method an event would need (memory
    for every shopper pausing at once: millions in a full-size sale). An event already processed when
    yielded gives its value back at once. The engine makes one per start (without an __init__, which
    would cost a frame per shopper), gives it its generator and env, and resumes it with BEGIN.
    """

    __slots__ = ("generator", "env")
    # slots filled by Engine._start_next, no __init__: a frame less per shopper (hot path)
    generator: Generator[Any, Any, Any]
    env: Engine
    _ok = True  # as an event, processed ok and with nothing to give: a pause
    _value = None

    def resume(self, event: Waited) -> None:
        """Send the generator the value of the event it waited on, and carry on to its next wait.

        A callback as a bound method, not a callable instance: Python calls a method for half the price."""
        try:
            nxt = self.generator.send(event._value)
            while True:
                if nxt.__class__ is float:
                    env = self.env
                    env.push(env._now + nxt, self)
                    return
                if nxt.callbacks is not None:
                    nxt.callbacks.append(self.resume)
                    return
                nxt = self.generator.send(nxt._value)
        except StopIteration:
            return


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for a replication.

    The model makes next to no reference cycles (a few thousand objects in a run of millions), but
    the collector would walk every live generator and pending event again and again; with a few
    hundred thousand shoppers in the system that costs a third of the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Callback(Protocol):
    """What `at` calls with its timer. A Protocol rather than a Callable so that mypy accepts a lambda binding
    a loop variable by a default argument, `lambda _, o=order: ...` (mypy#15459)."""

    def __call__(self, event: Event, /) -> None: ...


def at(env: Environment, t: float, callback: Callback) -> Event:
    """Call `callback(event)` at time `t` (now if `t` has passed); the returned event is the timer."""
    event = Event(env)
    event._ok = True
    event.callbacks.append(callback)
    env.schedule(event, NORMAL, max(0.0, t - env._now))
    return event


def every_second(env: Engine, observe: Callable[[int], None], priority: EventPriority = NORMAL) -> None:
    """Call `observe(second)` now and at every whole second after, before the other events of that instant
    when `priority` is below NORMAL: one timer event requeued each second, not a new event and closure."""
    tick = Event(env)
    tick._ok = True

    def take(_: Event | None = None) -> None:
        second = int(env._now)
        observe(second)
        tick.callbacks = [take]
        env.push(second + 1.0, tick, priority)

    take()
