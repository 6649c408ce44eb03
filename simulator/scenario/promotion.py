"""Scenario files: the typed, immutable description of one promotion.

This module is the only gate: everything a run needs is parsed (human units to seconds and counts)
and checked here, so a bad file fails before a run starts, with every problem named as
`file:line: path.to.field: message`. The model trusts what it is given.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from simulator import units
from simulator.scenario.audience import Arrivals, Audience
from simulator.scenario.contingency import Rule
from simulator.scenario.fulfilment import Fulfilment
from simulator.scenario.incidents import Incident
from simulator.scenario.loadtest import LoadTestMapping
from simulator.scenario.pricing import Pricing
from simulator.scenario.promotions import LiveStream, Presale, RedPacketRain, WaitingRoom
from simulator.scenario.section import Duration, Section
from simulator.scenario.shop import Inventory, Sale, System
from simulator.scenario.support import Support
from simulator.scenario.targets import Targets

# -- clock -------------------------------------------------------------------------------------


MAX_HORIZON = 31 * 86400.0
"""The longest horizon a run accepts: per-second series of a month are about a gigabyte for a big shop."""


class Clock(Section):
    start: str = "00:00"
    """Wall-clock label of simulated time 0, e.g. 19:30 or 2026-11-11 00:00."""
    horizon: Duration
    """How long the simulation runs after start."""

    @property
    def start_time(self) -> units.ClockTime:
        return units.parse_clock(self.start)

    @model_validator(mode="after")
    def _check(self) -> Clock:
        units.parse_clock(self.start)
        if self.horizon <= 0:
            raise ValueError("horizon must be longer than 0s")
        if self.horizon > MAX_HORIZON:
            raise ValueError(
                f"horizon: {units.format_duration(self.horizon)} is longer than {units.format_duration(MAX_HORIZON)}: "
                "a run keeps every second's figures, so a promotion is simulated at most a month at a time"
            )
        return self


class Plan(Section):
    description: str = ""
    set: dict[str, Any] = {}
    """Overrides, `path.to.field: value`, applied to the scenario as `--set` would."""


class Scenario(Section):
    name: str = "scenario"
    """Name used for the results directory (defaults to the file name)."""
    description: str = ""
    clock: Clock
    seed: int = Field(0, ge=0)
    """Root of every random stream: same seed, same results (a whole number, 0 or more)."""
    replications: int = Field(1, ge=1)
    """Independent runs whose results are averaged with 95% confidence intervals."""
    audience: Audience
    sales: list[Sale] = Field(min_length=1)
    system: System
    inventory: Inventory
    targets: Targets = Targets()
    waiting_room: WaitingRoom | None = None
    """Queued entry in front of the journey. null: shoppers walk straight in."""
    red_packets: dict[str, RedPacketRain] = {}
    """Named red-packet rains."""
    live_streams: dict[str, LiveStream] = {}
    """Named live-stream sales: viewers over time and the items dropped, each a burst of arrivals."""
    presale: Presale | None = None
    """Deposits before the day, the balance-payment rush on it."""
    pricing: Pricing | None = None
    """Tiered spend discounts and coupons: what a shopper pays. null: the sale price (less the member discount)."""
    contingency: dict[str, Rule] = {}
    """Named rules of the contingency playbook: a signal, a reaction delay and an action."""
    incidents: dict[str, Incident] = {}
    """Named incidents: a pool or endpoint losing workers, slowing or failing requests, at a time or at random."""
    plans: dict[str, Plan] = {}
    """Named contingency plans: overlays on this scenario, compared side by side."""
    support: Support | None = None
    """Support contacts, channels and the agent roster."""
    fulfilment: Fulfilment | None = None
    """The warehouse shipping the paid orders: pick-and-pack staff by shift and the ship-by promise."""
    loadtest: LoadTestMapping = LoadTestMapping()
    """How a load test replays the journey against a real HTTP API."""

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        problems = []
        for i, sale in enumerate(self.sales):
            if sale.sku not in self.inventory.skus:
                problems.append(f"sales[{i}].sku: no sku {sale.sku!r} in inventory.skus")
            if not 0 <= sale.open < self.clock.horizon:
                problems.append(
                    f"sales[{i}].open: {units.format_duration(sale.open)} after start is outside "
                    f"the horizon (0 to {units.format_duration(self.clock.horizon)})"
                )
        total = sum(s.audience_share for s in self.sales)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            problems.append(f"sales: audience_share sums to {total:g}; it must sum to 1")
        for step in self.targets.latency:
            if step not in dict(self.system.endpoints.items()):
                problems.append(f"targets.latency.{step}: no endpoint {step!r} in system.endpoints")
        problems += self._member_problems() + self._rule_problems() + self._incident_problems()
        if self.red_packets and self.system.endpoints.grab is None:
            problems.append("red_packets: the rains need system.endpoints.grab, the endpoint taps go to")
        problems += self._presale_problems() + self._pricing_problems()
        sales = [sale.name for sale in self.sales]
        for name, stream in self.live_streams.items():
            for i, drop in enumerate(stream.drops):
                if drop.sale not in sales:
                    problems.append(
                        f"live_streams.{name}.drops[{i}].sale: no sale named {drop.sale!r}; sales are {sales}"
                    )
                if not 0 <= drop.at < self.clock.horizon:
                    problems.append(f"live_streams.{name}.drops[{i}].at: outside the horizon")
        for name, rain in self.red_packets.items():
            if not 0 <= rain.start < self.clock.horizon:
                problems.append(f"red_packets.{name}.start: outside the horizon")
        if self.support is not None and self.support.until is not None and self.support.until < self.clock.horizon:
            problems.append("support.until: before the clock's horizon; support runs at least as long as the sale")
        f = self.fulfilment
        if f is not None and f.until is not None and f.until < self.clock.horizon:
            problems.append("fulfilment.until: before the clock's horizon; the warehouse is followed at least as long")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _member_problems(self) -> list[str]:
        problems = []
        skus = [sale.sku for sale in self.sales]
        for i, sale in enumerate(self.sales):
            m = sale.members
            if m is None:
                continue
            where = f"sales[{i}].members"
            for name in m.segments + ([m.guaranteed.segment] if m.guaranteed else []):
                if name not in self.audience.segments:
                    problems.append(f"{where}: no segment {name!r} in audience.segments")
            if m.guaranteed and m.guaranteed.segment not in m.segments:
                problems.append(
                    f"{where}.guaranteed.segment: {m.guaranteed.segment!r} must be one of the "
                    f"member segments {m.segments}"
                )
            if sale.open - m.early_access < 0:
                problems.append(f"{where}.early_access: members would open before the clock starts")
            stock = self.inventory.skus.get(sale.sku)
            kept = (m.quota > 0) or m.guaranteed is not None
            if stock is not None and kept:
                held = round(m.quota * stock.stock) + (m.guaranteed.units if m.guaranteed else 0)
                if held > stock.stock:
                    problems.append(f"{where}: quota and guaranteed units ({held}) exceed the stock ({stock.stock})")
                if skus.count(sale.sku) > 1:
                    problems.append(f"{where}: units kept for members need a SKU sold in this sale only")
        return problems

    def _presale_problems(self) -> list[str]:
        p = self.presale
        if p is None:
            return []
        sale = next((s for s in self.sales if s.name == p.sale), None)
        if sale is None:
            return [f"presale.sale: no sale named {p.sale!r}; sales are {[s.name for s in self.sales]}"]
        problems = []
        stock = self.inventory.skus[sale.sku].stock if sale.sku in self.inventory.skus else None
        if stock is not None and p.units > stock:
            problems.append(f"presale.units: {p.units} is more than the {stock} units of {sale.sku}")
        if p.credit > sale.sale_price:
            problems.append(f"presale.deposit_counts_as: {p.credit:g} is more than the price {sale.sale_price:g}")
        if not 0 <= p.balance_open < self.clock.horizon:
            problems.append("presale.balance_open: outside the horizon")
        if "pay" not in dict(self.system.endpoints.items()):
            problems.append("presale: balance payments need system.endpoints.pay")
        return problems

    def _pricing_problems(self) -> list[str]:
        p = self.pricing
        if p is None:
            return []
        sales = [sale.name for sale in self.sales]
        named = [("pricing.tiers.sales", p.tiers.sales if p.tiers else None)]
        named += [(f"pricing.coupons.{name}.sales", coupon.sales) for name, coupon in p.coupons.items()]
        problems = [
            f"{where}: no sale named {name!r}; sales are {sales}"
            for where, names in named
            for name in names or ()
            if name not in sales
        ]
        for name, coupon in p.coupons.items():
            if coupon.presale and self.presale is None:
                problems.append(f"pricing.coupons.{name}.presale: the scenario has no presale whose holders get it")
        return problems

    def _rule_problems(self) -> list[str]:
        problems = []
        steps = dict(self.system.endpoints.items())
        for name, rule in self.contingency.items():
            for part in (getattr(rule.when, rule.when.kind), getattr(rule.do, rule.do.kind)):
                problems += self._signal_problems(f"contingency.{name}", part)
            degrade = rule.do.degrade
            for step in (degrade.skip + list(degrade.service)) if degrade else []:
                if step not in steps:
                    problems.append(f"contingency.{name}.do.degrade: no endpoint {step!r} in system.endpoints")
            if rule.do.waiting_room and self.waiting_room is None:
                problems.append(
                    f"contingency.{name}.do.waiting_room: the scenario has no waiting_room section to switch on"
                )
            if rule.when.at is not None and not 0 <= rule.when.at < self.clock.horizon:
                problems.append(f"contingency.{name}.when.at: outside the horizon")
        return problems

    def _signal_problems(self, where: str, part: Any) -> list[str]:
        """A signal's or an action's names that the scenario does not have."""
        problems = []
        for field, known, kind in (
            ("pool", self.system.pools, "system.pools"),
            ("endpoint", dict(self.system.endpoints.items()), "system.endpoints"),
            ("sku", self.inventory.skus, "inventory.skus"),
            ("to", self.inventory.skus, "inventory.skus"),
        ):
            value = getattr(part, field, None)
            if value is not None and value not in known:
                problems.append(f"{where}: no {field} {value!r} in {kind}")
        return problems

    def _incident_problems(self) -> list[str]:
        problems = []
        steps = dict(self.system.endpoints.items())
        for name, incident in self.incidents.items():
            if incident.pool is not None and incident.pool not in self.system.pools:
                problems.append(f"incidents.{name}.pool: no pool {incident.pool!r} in system.pools")
            if incident.endpoint is not None and incident.endpoint not in steps:
                problems.append(f"incidents.{name}.endpoint: no endpoint {incident.endpoint!r} in system.endpoints")
            if incident.at is not None and not 0 <= incident.at < self.clock.horizon:
                problems.append(f"incidents.{name}.at: outside the horizon")
            if incident.on is not None:
                problems += self._signal_problems(f"incidents.{name}.on", getattr(incident.on, incident.on.kind))
        return problems

    def arrivals_of(self, sale: Sale) -> Arrivals:
        return sale.arrivals or self.audience.arrivals
