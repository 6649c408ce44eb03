"""What a request holds on its way through a server besides its worker: a lock, a connection, a CPU core.

Real flash-sale systems saturate on these, not on their workers: the hot row of the SKU everyone buys
(a row lock, SQLite's single writer, Redis's single thread) caps throughput at 1 / hold time whatever the
workers; a connection pool between tiers makes workers wait holding their slot; an asynchronous server
process serves all its in-flight requests on one core, each at 1/n of its speed (processor sharing), and
processes more than the cores share them.

A request whose endpoint has `Stages` is served as a small process by its pool (`Pool._start`): an
optional cache hit answers it at once; otherwise its CPU demand runs on its process's core, then its own
time on the worker, then it takes a connection, the lock for the hold time, the database time, the CPU it
runs holding the connection (an asynchronous client reading its reply on the event loop), and gives them
back. Endpoints without stages keep the single-draw path of `pools.py`, with identical results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from simpy import Event

from simulator.distributions import Draw
from simulator.engine.calendar import Answered, Engine

GRANTED = Answered(True)
"""What acquiring a free unit gives: the requester carries on at once."""


class Grant:
    """The event a requester waits on for a unit of a busy resource or for its CPU work to end."""

    __slots__ = ("callbacks", "_value", "since")
    _ok = True
    callbacks: list[Any] | None
    _value: Any
    since: float


class Holdable:
    """Units taken first come, first served and held until given back: a lock (one unit, a mutex) or a
    pool of connections (`size` units). A unit given back goes straight to the first in line."""

    def __init__(self, env: Engine, name: str, units: int):
        self.env = env
        self.name = name
        self.units = units
        self.held = 0
        self.queue: deque[Grant] = deque()
        self.acquired = self.waited = self.peak_queue = 0
        self.wait_sum = 0.0
        self.held_area = 0.0  # unit-seconds held, integrated as units change hands
        self._since = 0.0

    def _integrate(self, now: float) -> None:
        self.held_area += self.held * (now - self._since)
        self._since = now

    def acquire(self) -> Answered | Grant:
        """A unit now (GRANTED) or, when all are held, the grant to wait for."""
        self.acquired += 1
        if self.held < self.units:
            self._integrate(self.env.now)
            self.held += 1
            return GRANTED
        grant = Grant()
        grant.callbacks = []
        grant.since = self.env.now
        self.waited += 1
        self.queue.append(grant)
        self.peak_queue = max(self.peak_queue, len(self.queue))
        return grant

    def release(self) -> None:
        """Give a unit back: to the first in line if any waits (the count held does not change)."""
        now = self.env.now
        if self.queue:
            grant = self.queue.popleft()
            self.wait_sum += now - grant.since
            grant._value = True
            self.env.push(now, grant)
        else:
            self._integrate(now)
            self.held -= 1

    def snapshot(self, horizon: float) -> dict[str, Any]:
        self._integrate(horizon)
        return {
            "units": self.units,
            "acquired": self.acquired,
            "waited": self.waited,
            "wait_sum": self.wait_sum,
            "held_area": self.held_area,
            "peak_queue": self.peak_queue,
            "queued_at_end": len(self.queue),
        }


class Cores:
    """Cores fewer than the server processes running on them: the operating system shares them out, so while
    more processes have work than there are cores, each runs at cores / busy of a core's speed."""

    def __init__(self, count: int):
        self.count = count
        self.processes: list[SharedCore] = []
        self.busy = 0
        """Processes with work on the cores now."""

    def speed(self) -> float:
        """The share of a core each busy process runs at now."""
        return min(1.0, self.count / self.busy) if self.busy else 1.0

    def turns(self, process: SharedCore, now: float, delta: int) -> None:
        """`process` turns busy (+1) or idle (-1): the other busy processes' work is brought up to now at the
        speed they had, and their completions rescheduled at the speed they get."""
        others = [p for p in self.processes if p is not process and p.jobs]
        for p in others:
            p._advance(now)
        self.busy += delta
        for p in others:
            p._schedule(now)


class SharedCore:
    """One server process's CPU core: its in-flight CPU work advances at 1/n speed each (processor sharing),
    or, `fifo`, one piece of work at a time in the order it came (an event loop running each ready request
    to its next wait). With `cores`, the process shares those cores with others (Cores) and runs slower while
    more processes than cores have work.

    Work left is kept per job; at each arrival or completion the jobs' progress is brought up to now and
    the next completion rescheduled (a superseded completion timer is recognised by its generation).
    """

    EPSILON = 1e-12
    """Work left below this is done: floating-point rounding of the shared progress."""

    def __init__(self, env: Engine, name: str, fifo: bool = False, wake: float = 0.0, cores: Cores | None = None):
        self.env = env
        self.name = name
        self.fifo = fifo
        self.wake = wake
        """CPU seconds added to work that finds the core idle: an event loop waking from its wait for it (busy,
        one wake-up serves many requests, so a request costs less under load)."""
        self.cores = cores
        if cores is not None:
            cores.processes.append(self)
        self.jobs: dict[Grant, float] = {}
        self.busy_area = 0.0  # seconds with at least one job
        self.work = 0.0  # CPU seconds done
        self.completed = 0
        self.peak_jobs = 0
        self._since = 0.0
        self._generation = 0

    def run(self, work: float) -> Grant:
        """Start `work` seconds of CPU; the grant fires when it is done."""
        now = self.env.now
        self._advance(now)
        grant = Grant()
        grant.callbacks = []
        grant.since = now
        if not self.jobs and self.cores is not None:
            self.cores.turns(self, now, +1)
        self.jobs[grant] = work + self.wake if not self.jobs else work
        self.peak_jobs = max(self.peak_jobs, len(self.jobs))
        self._schedule(now)
        return grant

    def _advance(self, now: float) -> None:
        elapsed = now - self._since
        if self.jobs and elapsed > 0:
            done = elapsed * self.cores.speed() if self.cores is not None else elapsed
            if self.fifo:  # the first in line has the core
                first = next(iter(self.jobs))
                self.jobs[first] -= done
            else:
                share = done / len(self.jobs)
                for grant in self.jobs:
                    self.jobs[grant] -= share
            self.busy_area += elapsed
            self.work += done
        self._since = now

    def _schedule(self, now: float) -> None:
        self._generation += 1
        if not self.jobs:
            return
        slower = 1.0 / self.cores.speed() if self.cores is not None else 1.0
        if self.fifo:
            end = now + max(next(iter(self.jobs.values())), 0.0) * slower
        else:
            end = now + max(min(self.jobs.values()), 0.0) * len(self.jobs) * slower
        timer = Event(self.env)
        timer._ok = True
        generation = self._generation
        timer.callbacks.append(lambda _: self._complete(generation))
        self.env.push(end, timer)

    def _complete(self, generation: int) -> None:
        if generation != self._generation:
            return  # superseded by a later arrival or completion
        now = self.env.now
        self._advance(now)
        if self.fifo:
            done = [next(iter(self.jobs))]
        else:
            done = [grant for grant, left in self.jobs.items() if left <= self.EPSILON]
            if not done:  # rounding put the completion a hair early: finish the smallest
                done = [min(self.jobs, key=self.jobs.__getitem__)]
        for grant in done:
            del self.jobs[grant]
            self.completed += 1
            grant._value = True
            self.env.push(now, grant)
        if not self.jobs and self.cores is not None:
            self.cores.turns(self, now, -1)
        self._schedule(now)

    def snapshot(self, horizon: float) -> dict[str, Any]:
        self._advance(horizon)
        share = self.cores.count / len(self.cores.processes) if self.cores is not None else 1.0
        return {
            "busy_area": self.busy_area,
            "work": self.work,
            "cores": share,  # its share of the cores: their utilisation is the work over the shares' time
            "completed": self.completed,
            "peak_jobs": self.peak_jobs,
        }


@dataclass
class Stages:
    """What one request of an endpoint holds on its way, each part optional (see the module docstring)."""

    cpu: Draw | None = None
    """CPU demand, processor-shared on the core of the process serving the request."""
    connection: Holdable | None = None
    """A connection taken after the worker's own time and held to the end."""
    locks: list[Holdable] | None = None
    """The lock taken (with the connection, if any) and held for `hold`: one, or one per SKU, the request's
    key (its SKU's index) picking it."""
    hold: Draw | None = None
    db: Draw | None = None
    """Time holding the connection after the lock is given back (the rest of the database's work)."""
    cpu_held: Draw | None = None
    """CPU demand run after `db`, the connection still held (an asynchronous client reading its reply)."""
    cache_hit: float = 0.0
    """Share of requests answered from a cache, in `cache_service` and holding nothing else."""
    cache_service: Draw | None = None
    cache_draw: Draw | None = None


def staged_service(stages: Stages, service: Draw, core: SharedCore | None, key: int) -> Generator[Any, Any, None]:
    """One request's way through the server's resources, as a process driven by the engine; `key` is the index
    of the SKU the request is about (which lock it takes where there is one per SKU)."""
    if stages.cache_draw is not None and stages.cache_draw() < stages.cache_hit:
        yield stages.cache_service() if stages.cache_service is not None else 0.0
        return
    if stages.cpu is not None and core is not None:
        yield core.run(stages.cpu())
    own = service()
    if own > 0:
        yield own
    connection, locks = stages.connection, stages.locks
    if connection is not None:
        yield connection.acquire()
    if locks is not None:
        lock = locks[key % len(locks)]  # a single lock is everyone's
        yield lock.acquire()
        if stages.hold is not None:
            yield stages.hold()
        lock.release()
    if stages.db is not None:
        yield stages.db()
    if stages.cpu_held is not None and core is not None:
        yield core.run(stages.cpu_held())
    if connection is not None:
        connection.release()
