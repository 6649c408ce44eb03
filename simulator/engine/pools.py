"""Pools of workers serving requests from a bounded FIFO queue, and the endpoints clients call.

A request is served, rejected at once (queue full), or times out at the client, who counts a failure
while a worker may still be busy on it (wasted work). A pool knows requests and workers, nothing of
shoppers or stock: what serving a request does to the world is the caller's `effect`, applied when
the worker finishes, whether or not the client is still waiting.

Hot path: every request passes here. A request costs one SimPy event when it is answered in time
(the client's response event is itself scheduled for the moment service ends), plus one timer when
it has to queue with a client timeout, plus one completion event when the client times out first.
A rejected request costs none: it is answered before the client waits, and the client carries on.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from simulator.distributions import Draw
from simulator.engine.calendar import Engine
from simulator.engine.recorders import FLUSH, EndpointStats, PoolStats
from simulator.engine.resources import SharedCore, Stages, staged_service


class Failure:
    """A response that is not a result: the request was rejected or timed out."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


REJECTED = Failure("rejected")
TIMED_OUT = Failure("timed out")


WAITING, ANSWERING, GONE = 0, 1, 2
"""Client side of a request: still waiting; its response is on its way; it timed out and left."""


class Request:
    """One request, which is also the event its client waits on: triggered when the response arrives.

    Hot path: being the client's event saves an object and a callback per request, and, not being a
    SimPy Event, it has slots only (no attribute dict). Its value is the effect's result or a Failure.
    Made by `Pool.submit` (without an __init__, which would cost a frame per request).
    """

    __slots__ = ("endpoint", "sent", "deadline", "effect", "key", "client", "callbacks", "_value")
    # slots filled by Pool.submit, no __init__: a frame less per request (hot path)
    endpoint: Endpoint
    sent: float
    deadline: float | None
    effect: Callable[[], Any] | None
    key: int  # the index of the SKU it is about: which lock it takes where there is one per SKU
    client: int  # WAITING, ANSWERING or GONE
    callbacks: list[Callable[[Request], None]]  # None once processed, as SimPy types Event.callbacks
    _value: Any
    _ok = True  # processed, it always succeeds: a failure is a value (REJECTED, TIMED_OUT), never raised


class Timer:
    """A request's timer as an event (its client's timeout, or the end of work the client gave up on): slots
    only, no attribute dict and no closure, since a full-size peak keeps a million of them pending."""

    __slots__ = ("callbacks", "request")
    callbacks: list[Callable[[Timer], None]] | None
    request: Request
    _ok = True
    _value = None


class Endpoint:
    """A named operation clients call, served by one pool, with its service time and client timeout."""

    def __init__(self, name: str, pool: Pool, service: Draw, timeout: float | None, horizon: float):
        self.name = name
        self.pool = pool
        self.service: Draw = service
        self.base_service = service
        """The service time as configured (a simplified checkout scales this)."""
        self.timeout = timeout
        self.stages: Stages | None = None
        """What a request holds besides its worker (resources.py); None: the worker alone, for `service`."""
        self.stats = EndpointStats(horizon)
        self.degraded = self.slowed = 1.0
        """Service time factors: a simplified checkout's (contingency) and an incident's slowdown."""
        self.failing = 0.0
        """The share of requests an incident fails at once (0: none), each drawn with `fail_draw`."""
        self.fail_draw: Callable[[], float] | None = None
        self.call: Callable[..., Request] = functools.partial(pool.submit, self)
        """Send one request (effect, and the index of its SKU); the returned event's value is the effect's result,
        REJECTED or TIMED_OUT."""

    def scale(self, degraded: float | None = None, slowed: float | None = None) -> None:
        """From now on, service as configured times the simplified checkout's factor and the slowdown."""
        self.degraded = self.degraded if degraded is None else degraded
        self.slowed = self.slowed if slowed is None else slowed
        factor = self.degraded * self.slowed
        self.service = self.base_service if factor == 1.0 else functools.partial(_scaled, self.base_service, factor)


def _scaled(service: Draw, factor: float) -> float:
    return service() * factor


class Pool:
    """A fixed number of workers taking requests first come, first served from one bounded queue."""

    def __init__(
        self, env: Engine, name: str, workers: int, queue_limit: int | None, shed_expired: bool, horizon: float
    ):
        self.env = env
        self.name = name
        self.workers = workers
        self.queue_limit = queue_limit
        self.shed_expired = shed_expired
        self.busy = 0
        self.queue: deque[Request] = deque()
        self.stats = PoolStats(horizon, workers)
        self.cores: list[SharedCore] = []
        """The server processes' cores, each shared by the CPU work of its requests; taken in turn."""
        self._next_core = 0
        self._on_finish = self._finish  # one bound method for every request (hot path)
        self._on_late_finish = self._late_finish
        self._on_deadline = self._deadline
        self._push = env.push

    def in_pool(self) -> int:
        """Requests queued or in service."""
        return self.busy + len(self.queue)

    def submit(self, endpoint: Endpoint, effect: Callable[[], Any] | None, key: int = 0) -> Request:
        now = self.env._now
        request = Request()
        request.callbacks = []
        request.endpoint = endpoint
        request.sent = now
        request.deadline = now + endpoint.timeout if endpoint.timeout is not None else None
        request.effect = effect
        request.key = key
        request.client = WAITING
        stats = endpoint.stats
        stats.in_flight += 1
        stats.s_requests[int(now)] += 1
        if endpoint.failing and endpoint.fail_draw() < endpoint.failing:  # type: ignore[misc]  # set with failing
            self._fail(request, now, REJECTED)  # an incident: answered with an error at once
            return request
        if self.busy < self.workers:
            self._start(request, now)
        elif self.queue_limit is not None and len(self.queue) >= self.queue_limit:
            self._fail(request, now, REJECTED)
            return request
        else:
            self.stats.waited += 1
            self.queue.append(request)
            if len(self.queue) > self.stats.peak_queue:
                self.stats.peak_queue = len(self.queue)
            if request.deadline is not None:
                self._arm_timeout(request)
        self.stats.sent_sum += now
        return request

    def _start(self, request: Request, now: float) -> None:
        """A worker takes the request: schedule when the worker is free and, if in time, the response."""
        self.busy += 1
        stats = self.stats
        stats.wait_sum += now - request.sent
        stats.start_sum += now
        endpoint = request.endpoint
        if endpoint.stages is not None:
            self._start_staged(request, endpoint.stages, now)
            return
        end = now + endpoint.service()
        if request.client == WAITING and (request.deadline is None or end <= request.deadline):
            request.client = ANSWERING  # the client's response arrives as the worker finishes
            request.callbacks.insert(0, self._on_finish)
            self._push(end, request)
        else:  # the client gives up (or gave up) first; the worker goes on on its own clock
            if request.client == WAITING and request.sent == now:
                self._arm_timeout(request)  # started at once, so no timer was armed in the queue
            finish = Timer()
            finish.request = request
            finish.callbacks = [self._on_late_finish]
            self._push(end, finish)

    def _start_staged(self, request: Request, stages: Stages, now: float) -> None:
        """A request that holds more than its worker: served as a process; its end is not known at the start."""
        if request.client == WAITING and request.deadline is not None and request.sent == now:
            self._arm_timeout(request)  # started at once, so no timer was armed in the queue
        core = None
        if self.cores:
            core = self.cores[self._next_core]
            self._next_core = (self._next_core + 1) % len(self.cores)
        self.env.drive(self._serve_staged(request, stages, core))

    def _serve_staged(self, request: Request, stages: Stages, core: SharedCore | None) -> Generator[Any, Any, None]:
        yield from staged_service(stages, request.endpoint.service, core, request.key)
        if request.client == WAITING:  # in time: the response arrives now, the worker finishing first
            request.client = ANSWERING
            request.callbacks.insert(0, self._on_finish)
            self._push(self.env.now, request)
        else:
            self._finish(request)

    def _arm_timeout(self, request: Request) -> None:
        timer = Timer()
        timer.request = request
        timer.callbacks = [self._on_deadline]
        self._push(request.deadline, timer)  # type: ignore[arg-type]  # armed only for a request with a deadline

    def _late_finish(self, timer: Timer) -> None:
        self._finish(timer.request)

    def _deadline(self, timer: Timer) -> None:
        """The client's timeout fires: unless its response is on the way, it counts a failure and leaves."""
        request = timer.request
        if request.client != WAITING:
            return
        request.client = GONE
        self._fail(request, self.env._now, TIMED_OUT)

    def _fail(self, request: Request, now: float, failure: Failure) -> None:
        """Answer the client now with a failure: REJECTED (queue full) or TIMED_OUT."""
        stats = request.endpoint.stats
        stats.in_flight -= 1
        request._value = failure
        if failure is REJECTED:
            stats.rejected += 1
            stats.s_rejected[int(now)] += 1
            # answered before the client waits: it carries on at once (processed: callbacks None)
            request.callbacks = None  # type: ignore[assignment]
        else:
            stats.timed_out += 1
            stats.s_timed_out[int(now)] += 1
            self._push(now, request)

    def _finish(self, request: Request) -> None:
        """A worker completes a request: apply its effect, answer the client if still waiting, take the next."""
        now = self.env._now
        pool_stats = self.stats
        pool_stats.completed += 1
        pool_stats.done_sum += now
        pool_stats.left_sent_sum += request.sent
        result = request.effect() if request.effect is not None else True
        if self.busy > self.workers:  # a worker past the count after a shrink: its time counts till now
            pool_stats.excess(now, self.busy)
        if request.client == ANSWERING:
            request._value = result
            stats = request.endpoint.stats  # the response time, recorded in place (hot path)
            stats.in_flight -= 1
            stats.answered.append(now)
            stats.latencies.append(now - request.sent)
            if len(stats.latencies) >= FLUSH:
                stats.flush()
        else:
            request.endpoint.stats.wasted += 1
        self.busy -= 1
        if self.queue and self.busy < self.workers:  # fewer workers after a resize: this one may stop
            self._take_next(now)

    def _take_next(self, now: float) -> None:
        """A free worker takes the first queued request still worth serving."""
        queue = self.queue
        pool_stats = self.stats
        while queue:
            nxt = queue.popleft()
            if self.shed_expired and nxt.client == GONE:
                pool_stats.shed += 1
                nxt.endpoint.stats.shed += 1
                pool_stats.shed_sum += now
                pool_stats.left_sent_sum += nxt.sent
                continue
            self._start(nxt, now)
            return

    def resize(self, workers: int) -> None:
        """From now on the pool has `workers`: new ones take queued requests at once; when there are
        fewer, busy workers finish their request and stop."""
        now = self.env._now
        self.stats.resize(now, workers, self.busy)
        self.workers = workers
        while self.queue and self.busy < workers:
            self._take_next(now)
