"""Incidents as scenario data: what breaks, when, how badly and for how long.

An incident hits a pool (all its endpoints) or one endpoint (a slow dependency behind it). It starts at a
time, or once a signal crosses its bound (the playbook's signals: an overload that takes a pool down), and
lasts a duration; or it strikes at random (time between failures and time to repair drawn from
distributions). Its effect is one of: the pool loses a share of its workers (1: an outage), service slows
by a factor, or a share of requests fails at once. The model ends it; whether the shop then recovers is
what the results tell.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from simulator.scenario.contingency import When
from simulator.scenario.section import Dist, Duration, Fraction, Instant, Section


class Incident(Section):
    pool: str | None = None
    """The pool hit (a key of system.pools): every endpoint it serves."""
    endpoint: str | None = None
    """Or one endpoint hit (a journey step): a slow or failing dependency behind it."""
    at: Instant | None = None
    """When it starts (clock label or +offset); with `lasts`."""
    on: When | None = None
    """Or once this signal crosses its bound (as a contingency rule's `when`; once per run); with `lasts`."""
    lasts: Duration | None = None
    """How long it lasts once started."""
    every: Dist | None = None
    """Or at random: the time between the end of one (or the start of the clock) and the next; with `repair`."""
    repair: Dist | None = None
    """At random: how long each one lasts (time to repair)."""
    lose: Fraction | None = None
    """The share of the pool's workers lost while it lasts (rounded; 1: an outage). A pool only."""
    slow: float | None = Field(None, gt=1)
    """Service times multiplied by this while it lasts (a slow disk, a slow dependency)."""
    fail: Fraction | None = None
    """The share of requests answered with an error at once while it lasts (counted with rejected requests)."""

    @model_validator(mode="after")
    def _check(self) -> Incident:
        problems = []
        if (self.pool is None) == (self.endpoint is None):
            problems.append("give exactly one of pool, endpoint")
        effects = [k for k in ("lose", "slow", "fail") if getattr(self, k) is not None]
        if len(effects) != 1:
            problems.append(f"give exactly one effect of lose, slow, fail; got {', '.join(effects) or 'none'}")
        if self.lose is not None and self.endpoint is not None:
            problems.append("lose: workers belong to a pool; give pool, not endpoint")
        starts = [k for k in ("at", "on", "every") if getattr(self, k) is not None]
        lasting = "repair" if self.every is not None else "lasts"
        if len(starts) != 1 or getattr(self, lasting) is None or (self.repair is not None) != (self.every is not None):
            problems.append("give at and lasts (a fixed time), on and lasts (a signal) or every and repair (at random)")
        elif self.lasts is not None and self.every is not None:
            problems.append("lasts: a random incident's length is its repair time")
        if self.on is not None and self.on.at is not None:
            problems.append("on.at: a fixed time is the incident's own at")
        if self.lasts is not None and self.lasts <= 0:
            problems.append("lasts: must be longer than 0s")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def describe(self) -> str:
        """One line for logs and reports: what it does to what."""
        where = f"pool {self.pool}" if self.pool is not None else f"endpoint {self.endpoint}"
        if self.lose is not None:
            return f"{where} loses {self.lose:.0%} of its workers" if self.lose < 1 else f"{where} down"
        if self.slow is not None:
            return f"{where} {self.slow:g}x slower"
        return f"{where} fails {self.fail:.0%} of requests at once"
