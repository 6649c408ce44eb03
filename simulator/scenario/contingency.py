"""The contingency playbook as scenario data: rules that watch a signal and fire an action.

A rule reads like a line of an ops runbook: when the web pool's error rate is above 5% over 30 s,
after a 1-minute reaction delay, fail over to the backup cluster. Signals are what a monitoring
system measures; actions are the playbook's moves (scale out, backup cluster, queued entry,
simplified checkout, steering buyers to other channels, stock transfers, substitutes).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from simulator.scenario.section import GROWS, Count, Duration, Fraction, Instant, Money, Section


class OneOf(Section):
    """A choice written as a mapping with exactly one of its fields given."""

    @model_validator(mode="after")
    def _check_one(self) -> OneOf:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            fields = ", ".join(type(self).model_fields)
            raise ValueError(f"give exactly one of {fields}; got {', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        """The field given."""
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)


# -- signals -----------------------------------------------------------------------------------


class PoolSignal(Section):
    pool: str
    """The pool watched (a key of system.pools)."""
    window: Duration = 30.0
    """Measured over the last this long (whole seconds)."""


class ErrorRate(PoolSignal):
    above: Fraction
    """Fires when the share of the pool's requests rejected or timed out over the window exceeds this."""


class QueueLength(PoolSignal):
    above: Annotated[float, GROWS] = Field(ge=0)
    """Fires when the pool's mean queue length over the window exceeds this."""


class P99(Section):
    endpoint: str
    """The endpoint watched (a journey step)."""
    above: Duration
    """Fires when the 99th percentile of its response times over the window exceeds this."""
    window: Duration = 30.0


class StockLevel(Section):
    sku: str
    """The SKU watched (a key of inventory.skus)."""
    below: Annotated[Count | None, GROWS] = None
    """Fires when fewer units than this are available."""
    below_share: Fraction | None = None
    """Fires when available units fall below this share of the initial stock (e.g. the safety level)."""

    @model_validator(mode="after")
    def _check(self) -> StockLevel:
        if (self.below is None) == (self.below_share is None):
            raise ValueError("give exactly one of below (units) or below_share (share of the initial stock)")
        return self


class When(OneOf):
    """The signal a rule watches: exactly one of these."""

    error_rate: ErrorRate | None = None
    queue: QueueLength | None = None
    p99: P99 | None = None
    stock: StockLevel | None = None
    at: Instant | None = None
    """Fires at this time, whatever happens: a plan decided beforehand (e.g. the backup cluster from 19:55)."""


# -- actions -----------------------------------------------------------------------------------


class ScaleOut(Section):
    pool: str
    add: Annotated[int, GROWS] = Field(ge=1)
    """Workers added."""
    lag: Duration = 120.0
    """Provisioning time before the new workers serve."""
    max: Annotated[int | None, GROWS] = Field(None, ge=1)
    """Cap on the pool's workers (a repeating rule stops growing there)."""


class Failover(Section):
    pool: str
    workers: Annotated[int, GROWS] = Field(ge=1)
    """Workers of the backup cluster, which takes over the pool's traffic."""
    lag: Duration = 60.0
    """Switch-over time (DNS, connection draining) before the backup serves."""


class Degrade(Section):
    """A simplified checkout: some steps are no longer requests, others cost less."""

    skip: list[str] = []
    """Journey steps that stop being requests (e.g. product_page, buy: straight to ordering)."""
    service: dict[str, float] = {}
    """Service-time factor per endpoint, e.g. {create_order: 0.5} for a lighter order path."""
    lag: Duration = 0.0
    """Time to switch the feature flag on."""

    @model_validator(mode="after")
    def _check(self) -> Degrade:
        for step, factor in self.service.items():
            if factor <= 0:
                raise ValueError(f"service.{step}: factor {factor:g} must be above 0")
        return self


class Divert(Section):
    share: Fraction
    """Share of arriving shoppers steered to another channel (app, offline stores) from then on."""


class Transfer(Section):
    sku: str
    units: Annotated[Count, GROWS]
    """Units added to the SKU's stock (from a backup warehouse, or moved from offline channels)."""
    lead: Duration = 0.0
    """Lead time before the units are on sale."""


class Substitute(Section):
    """Sold-out shoppers are offered a substitute and restock reservations."""

    sku: str
    """The sold-out SKU."""
    to: str | None = None
    """The substitute SKU (a key of inventory.skus); null: restock reservations only."""
    price: Money = 0.0
    """Price of the substitute."""
    share: Fraction = 0.3
    """Share of sold-out shoppers who take the substitute and try to buy it."""
    restock_share: Fraction = 0.2
    """Share of the others who take a restock reservation."""


class Do(OneOf):
    """The action a rule fires: exactly one of these."""

    scale_out: ScaleOut | None = None
    failover: Failover | None = None
    waiting_room: bool | None = None
    """true: switch on queued entry (configured in the scenario's waiting_room section)."""
    degrade: Degrade | None = None
    divert: Divert | None = None
    transfer: Transfer | None = None
    substitute: Substitute | None = None

    @model_validator(mode="after")
    def _check(self) -> Do:
        if self.waiting_room is False:
            raise ValueError("waiting_room: only true (switch queued entry on) is an action")
        return self


class Rule(Section):
    """When a signal crosses its bound, fire an action after the team's reaction delay."""

    when: When
    after: Duration = 60.0
    """Reaction delay: from the signal crossing its bound to the action starting (people, approvals)."""
    do: Do
    repeat: bool = False
    """Fire again whenever the signal holds after the cooldown (e.g. scale out step by step)."""
    cooldown: Duration = 300.0
    """With repeat: time after an action takes effect before the rule may fire again."""

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.repeat and self.when.at is not None:
            raise ValueError("repeat: a rule at a fixed time fires once")
        return self
