"""Incidents at work: a pool loses workers, an endpoint slows or fails requests, then is repaired.

Each incident starts at its time, once its signal crosses its bound, or at random (one after another:
time between failures, then time to repair), and is undone when it ends, whatever the playbook did
meanwhile: lost workers come back on top of the pool's size then, a slowdown or a failing share is taken
off. Overlapping incidents on one endpoint combine (slowdowns multiply, failing shares fail
independently). Each occurrence is logged for the results, where analysis/recovery.py reads whether the
shop came back.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine import Endpoint, at
from simulator.model.signals import crossed, watch
from simulator.model.world import World
from simulator.scenario import Incident


class _Occurrence:
    """One incident's effect switched on now and off later."""

    def __init__(self, world: World, incident: Incident, hit: list[Endpoint]):
        self.world, self.incident, self.hit = world, incident, hit
        self.lost = 0

    def begin(self) -> None:
        incident = self.incident
        if incident.lose is not None:
            pool = self.world.pools[incident.pool]  # type: ignore[index]  # the schema gives lose a pool
            self.lost = min(pool.workers, round(incident.lose * pool.workers))
            pool.resize(pool.workers - self.lost)
        for endpoint in self.hit:
            if incident.slow is not None:
                endpoint.scale(slowed=endpoint.slowed * incident.slow)
            if incident.fail is not None:
                endpoint.failing = 1 - (1 - endpoint.failing) * (1 - incident.fail)

    def end(self) -> None:
        incident = self.incident
        if incident.lose is not None:
            pool = self.world.pools[incident.pool]  # type: ignore[index]
            pool.resize(pool.workers + self.lost)
        for endpoint in self.hit:
            if incident.slow is not None:
                endpoint.scale(slowed=_undone(endpoint.slowed / incident.slow))
            if incident.fail is not None:
                endpoint.failing = _undone(1 - (1 - endpoint.failing) / (1 - incident.fail), base=0.0)


def _undone(value: float, base: float = 1.0) -> float:
    """A factor with one incident taken off: exactly its base when none is left (no rounding residue)."""
    return base if math.isclose(value, base, abs_tol=1e-12) else value


def install(world: World, incidents: dict[str, Incident], rng: Callable[[str], np.random.Generator]) -> None:
    """Schedule every incident; the occurrences, with their start, end and what they hit, in the result."""
    if not incidents:
        return
    log: list[dict] = []
    on_signal: list[tuple[Incident, Callable[..., None]]] = []
    horizon = world.scenario.clock.horizon
    uniform = Distribution("uniform", (0.0, 1.0))
    for name, incident in incidents.items():
        if incident.pool is not None:
            hit = [ep for ep in world.endpoints.values() if ep.pool.name == incident.pool]
        else:
            hit = [world.endpoints[incident.endpoint]]  # type: ignore[index]  # the schema gives one of the two
        for endpoint in hit:
            if incident.fail is not None and endpoint.fail_draw is None:
                endpoint.fail_draw = sampler(uniform, rng(f"incident-fail:{endpoint.name}"))

        def strike(
            start: float,
            lasts: float,
            cause: str,
            name: str = name,
            incident: Incident = incident,
            hit: list[Endpoint] = hit,
        ) -> None:
            occurrence = _Occurrence(world, incident, hit)
            occurrence.begin()
            log.append(
                {
                    "incident": name,
                    "what": incident.describe(),
                    "cause": cause,
                    "start": start,
                    "end": start + lasts,
                    "endpoints": [ep.name for ep in hit],
                }
            )
            at(world.env, start + lasts, lambda _: occurrence.end())

        if incident.at is not None:
            at(world.env, incident.at, lambda _, s=strike, i=incident: s(i.at, i.lasts, "scheduled"))
        elif incident.on is not None:
            on_signal.append((incident, strike))
        else:
            _at_random(world, incident, strike, rng(f"incident:{name}"), horizon)
    if on_signal:
        _on_signals(world, on_signal)
    world.sections["incidents"] = lambda: log


def _on_signals(world: World, pending: list[tuple[Incident, Callable[..., None]]]) -> None:
    """Each second, start the incidents whose signal crossed its bound (each once)."""
    watched = [stats for incident, _ in pending if (stats := watch(world, incident.on)) is not None]  # type: ignore[arg-type]
    horizon = world.scenario.clock.horizon

    def check(second: int) -> None:
        if second >= horizon or not pending:
            return
        for stats in watched:
            stats.flush()
        for item in list(pending):
            incident, strike = item
            reason = crossed(world, incident.on, second)  # type: ignore[arg-type]  # pending: those with on
            if reason is not None:
                pending.remove(item)
                strike(world.env.now, incident.lasts, reason)

    world.each_second.append(check)


def _at_random(
    world: World,
    incident: Incident,
    strike: Callable[[float, float, str], None],
    rng: np.random.Generator,
    horizon: float,
) -> None:
    """One occurrence after another until the horizon: time between failures, then time to repair."""
    between = sampler(incident.every, rng)  # type: ignore[arg-type]  # the schema gives every with repair
    repair = sampler(incident.repair, rng)  # type: ignore[arg-type]

    def next_one(after: float) -> None:
        start = after + between()
        if start >= horizon:
            return
        lasts = repair()

        def now(_: object) -> None:
            strike(start, lasts, "at random")
            next_one(start + lasts)

        at(world.env, start, now)

    next_one(0.0)
