"""The audience: how many shoppers, how they arrive around an open, and how they behave."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.scenario.section import GROWS, Count, Dist, Duration, Fraction, Section


class Arrivals(Section):
    """The arrival curve of one sale's shoppers around its open: a build-up, the surge, a decay."""

    shape: Literal["surge", "flat"] = "surge"
    """surge: build-up, surge at the open and decay; flat: a constant rate from the open to the horizon."""
    build_up: Duration = 600.0
    """How long before the open shoppers start arriving (rising linearly to the open)."""
    build_up_share: Fraction = 0.15
    """Share of the sale's shoppers who arrive during the build-up."""
    surge_share: Fraction = 0.6
    """Share who click within seconds of the open (they were waiting on the page)."""
    surge_time: Duration = 3.0
    """Mean delay after the open of the surge clicks (exponential)."""
    decay: Duration = 600.0
    """Mean delay after the open of everyone else (exponential decay of the rate)."""

    @model_validator(mode="after")
    def _check(self) -> Arrivals:
        if self.build_up_share + self.surge_share > 1 + 1e-9:
            raise ValueError(
                f"build_up_share + surge_share is {self.build_up_share + self.surge_share:g}; "
                "they must sum to at most 1 (the rest arrive during the decay)"
            )
        for name in ("surge_time", "decay"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be longer than 0s")
        return self


class Retry(Section):
    """How a client retries a failed request (rejected or timed out): capped exponential backoff."""

    max_retries: int = Field(3, ge=0)
    """Retries of one step after its first attempt; then the shopper gives up."""
    backoff: Duration = 1.0
    """Wait before the first retry."""
    multiplier: float = Field(2.0, ge=1)
    """Each further retry waits this many times longer."""
    max_backoff: Duration = 30.0
    """Cap on the wait between retries."""
    jitter: Fraction = 1.0
    """Share of each wait drawn at random: 1 is full jitter (uniform in [0, wait]), 0 none."""


class Funnel(Section):
    """Probabilities of going on at each step of the journey."""

    buy: Fraction = 0.8
    """Share of product-page viewers who press buy."""
    pay: Fraction = 0.95
    """Share of shoppers holding an order who go on to pay."""
    pay_success: Fraction = 0.98
    """Share of payments the payment provider accepts."""


class SoldOut(Section):
    """What shoppers do when told the item is sold out."""

    keep_trying: Fraction = 0.2
    """Share who keep refreshing, hoping for stock released by unpaid orders."""
    refresh_every: Duration = 10.0
    """Mean time between refreshes (exponential)."""
    keep_trying_for: Duration = 300.0
    """How long they keep refreshing before leaving."""

    @model_validator(mode="after")
    def _check(self) -> SoldOut:
        if self.refresh_every <= 0:
            raise ValueError("refresh_every: must be longer than 0s")
        return self


class Behaviour(Section):
    """How shoppers act: pauses, patience, retries and funnel."""

    think_time: Dist = "lognormal(2s, 0.5)"  # type: ignore[assignment]  # parsed (validate_default)
    """Pause between one step's response and the next step."""
    pay_delay: Dist = "lognormal(20s, 1)"  # type: ignore[assignment]  # parsed (validate_default)
    """Time from holding an order to pressing pay."""
    patience: Dist = "exp(2m)"  # type: ignore[assignment]  # parsed (validate_default)
    """How long a shopper keeps trying through errors, counted from arrival, before giving up."""
    retry: Retry = Retry()
    funnel: Funnel = Funnel()
    sold_out: SoldOut = SoldOut()


class BehaviourOverride(Section):
    """Parts of the audience behaviour that a segment replaces (whole fields, not deep merges)."""

    think_time: Dist | None = None
    pay_delay: Dist | None = None
    patience: Dist | None = None
    retry: Retry | None = None
    funnel: Funnel | None = None
    sold_out: SoldOut | None = None


class Segment(Section):
    share: Fraction
    """Share of shoppers in this segment."""
    behaviour: BehaviourOverride = BehaviourOverride()
    """Behaviour that differs from the audience's."""


class Uncertainty(Section):
    """How much the demand itself is unknown: drawn once per replication (lognormal, mean 1)."""

    size_cv: float = Field(0.0, ge=0, le=2)
    """Coefficient of variation of the audience size."""
    conversion_cv: float = Field(0.0, ge=0, le=2)
    """Coefficient of variation of the buy probability (capped at 1)."""


class Audience(Section):
    size: Annotated[Count, GROWS] = Field(le=2_000_000_000)
    """Expected number of shopper sessions over all sales (arrivals are Poisson around it); at most 2 billion
    (a run holds the shoppers present at once in memory)."""
    segments: dict[str, Segment] = {"guest": Segment(share=1.0)}
    """Named segments (e.g. member, guest) with shares summing to 1."""
    arrivals: Arrivals = Arrivals()
    """Arrival curve around each sale's open (a sale may give its own)."""
    behaviour: Behaviour = Behaviour()
    uncertainty: Uncertainty = Uncertainty()
    """Demand uncertainty: each replication draws its own audience size and buy probability."""

    @model_validator(mode="after")
    def _check(self) -> Audience:
        if not self.segments:
            raise ValueError("segments: give at least one segment")
        total = sum(s.share for s in self.segments.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"segments: shares sum to {total:g}; they must sum to 1")
        return self

    def behaviour_of(self, segment: str) -> Behaviour:
        """The audience behaviour with the segment's replacements applied."""
        override = self.segments[segment].behaviour.model_dump(exclude_none=True, round_trip=True)
        replaced = {k: getattr(self.segments[segment].behaviour, k) for k in override}
        return self.behaviour.model_copy(update=replaced)
