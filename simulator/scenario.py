"""Scenario files: the typed, immutable description of one promotion.

This module is the only gate: everything a run needs is parsed (human units to seconds and counts)
and checked here, so a bad file fails before a run starts, with every problem named as
`file:line: path.to.field: message`. The model trusts what it is given.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from simulator import units
from simulator.helpdesk import Support
from simulator.http_api import LoadTest
from simulator.playbook import Rule
from simulator.section import Count, Dist, Duration, Fraction, Instant, Money, Rate, Section

# -- clock -------------------------------------------------------------------------------------


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
        return self


# -- audience ----------------------------------------------------------------------------------


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

    think_time: Dist = "lognormal(2s, 0.5)"
    """Pause between one step's response and the next step."""
    pay_delay: Dist = "lognormal(20s, 1)"
    """Time from holding an order to pressing pay."""
    patience: Dist = "exp(2m)"
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
    size: Count
    """Expected number of shopper sessions over all sales (arrivals are Poisson around it)."""
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


# -- sales, system, inventory, targets, plans --------------------------------------------------


class Guarantee(Section):
    """Guaranteed purchase for a top tier: units set aside that only its shoppers can buy."""

    segment: str
    """The top-tier segment (e.g. platinum)."""
    units: Count
    """Units set aside."""
    hold_for: Duration | None = None
    """Units still unclaimed this long after the members' open go on general sale. null: held to the end."""


class Members(Section):
    """Member privileges in one sale."""

    segments: list[str] = Field(["member"], min_length=1)
    """Audience segments that count as members."""
    early_access: Duration = 0.0
    """Members may buy this long before the open (their own surge comes then)."""
    quota: Fraction = 0.0
    """Share of the units kept for members (they may buy the others too)."""
    quota_hold_for: Duration | None = None
    """Quota units still unsold this long after the members' open go on general sale. null: kept."""
    discount: Fraction = 0.0
    """Member price: this share off the sale price."""
    guaranteed: Guarantee | None = None


class Sale(Section):
    name: str
    """Label of the sale in results."""
    open: Instant
    """When buying opens."""
    sku: str
    """The item on sale (a key of inventory.skus)."""
    price: Money
    """List price."""
    discount: Money = 0.0
    """Amount off the list price during the sale."""
    audience_share: Fraction = 1.0
    """Share of the audience coming for this sale; shares over all sales sum to 1."""
    arrivals: Arrivals | None = None
    """This sale's own arrival curve, if it differs from the audience's."""
    members: Members | None = None
    """Member privileges: early access, a quota of units, guaranteed purchase, member price."""

    @property
    def sale_price(self) -> float:
        return self.price - self.discount

    @model_validator(mode="after")
    def _check(self) -> Sale:
        if self.discount > self.price:
            raise ValueError(f"discount {self.discount:g} exceeds price {self.price:g}")
        return self


class Pool(Section):
    """A pool of workers serving requests from one bounded FIFO queue."""

    workers: int = Field(ge=1)
    """Requests served at once (threads, connections, pods x concurrency)."""
    queue_limit: int | None = Field(None, ge=0)
    """Requests that may wait; one more is rejected at once. null: unbounded."""
    shed_expired: bool = False
    """Skip queued requests whose client has already timed out instead of serving them."""


class Endpoint(Section):
    pool: str
    """The pool serving this endpoint (a key of system.pools)."""
    service: Dist
    """Service time of one request on one worker."""
    timeout: Duration | None = 5.0
    """Client timeout: after it the client counts a failure while the server may still work. null: none."""


JOURNEY = ("product_page", "buy", "create_order", "pay")
"""The shopper journey, in order; each step is a request to the endpoint of the same name."""


class Endpoints(Section):
    """One endpoint per journey step; a step left out is not modelled as a request (it always succeeds)."""

    product_page: Endpoint | None = None
    buy: Endpoint | None = None
    create_order: Endpoint | None = None
    pay: Endpoint | None = None
    grab: Endpoint | None = None
    """Where red-packet taps go (needed by red_packets), usually on a pool of its own."""

    def items(self) -> list[tuple[str, Endpoint]]:
        """The modelled endpoints: the journey's in order, then the grab endpoint."""
        return [(step, ep) for step in (*JOURNEY, "grab") if (ep := getattr(self, step)) is not None]


class System(Section):
    pools: dict[str, Pool]
    """Named pools of workers."""
    endpoints: Endpoints
    """Where each journey step is served."""

    @model_validator(mode="after")
    def _check(self) -> System:
        for step, ep in self.endpoints.items():
            if ep.pool not in self.pools:
                raise ValueError(
                    f"endpoints.{step}.pool: no pool named {ep.pool!r}; pools are {sorted(self.pools)}"
                )
        return self


class Sku(Section):
    stock: Count
    """Units on sale."""
    per_user_limit: int = Field(1, ge=1)
    """Units one shopper may hold (reserved or bought)."""
    payment_window: Duration = 900.0
    """How long an order holds its unit unpaid before the unit returns to stock."""


class Inventory(Section):
    skus: dict[str, Sku]


class LatencyTarget(Section):
    p95: Duration | None = None
    """Bound on the 95th percentile of the endpoint's response time."""
    p99: Duration | None = None
    """Bound on the 99th percentile of the endpoint's response time."""


class SupportTarget(Section):
    """What support must reach in every interval."""

    service_level: Fraction = Field(0.8, gt=0, lt=1)
    """Share of contacts answered within answer_within (the 80/20 of contact centres), above 0 and below 1."""
    answer_within: Duration = 20.0
    abandonment: Fraction | None = None
    """Bound on the share of contacts that hang up before an answer. null: none."""


class StockTarget(Section):
    """What the stock must reach for each SKU."""

    stockout_probability: Fraction
    """Bound on the chance that a SKU runs out (a shopper finds no unit for them) before the horizon."""


class Targets(Section):
    """Service levels a run is judged against (and sizing aims for)."""

    latency: dict[str, LatencyTarget] = {}
    """Per endpoint (journey step) latency bounds."""
    error_rate: Fraction | None = None
    """Bound on the share of requests rejected or timed out, over all endpoints."""
    support: SupportTarget = SupportTarget()
    stock: StockTarget | None = None
    confidence: Fraction = 0.95
    """Share of replications in which each target must hold for a configuration to count as meeting it."""


class Presale(Section):
    """Deposits taken over the days before the simulated one, and the balance-payment rush on it."""

    sale: str
    """The sale (sales[].name) whose SKU and price the presale sells."""
    units: Count
    """Units allocated to the presale; the rest of the SKU's stock is sold on the day (spot)."""
    deposits_open: Instant
    """When deposits open (usually dated, days before the clock start)."""
    deposits_close: Instant
    """When deposits close (at or before the clock start)."""
    expected_deposits: Count
    """Deposit orders expected over the deposit window."""
    first_day_share: Fraction = 0.3
    """Share of the deposit orders placed on the first day (the launch)."""
    last_day_share: Fraction = 0.2
    """Share placed on the last day (the last call); the other days share the rest evenly."""
    deposit: Money
    """Deposit paid."""
    deposit_counts_as: Money | None = None
    """What the deposit takes off the price ("deposit inflation": ¥100 counts as ¥300). null: its amount."""
    deposit_pay: Fraction = 0.8
    """Share of deposit orders whose deposit is paid; the others close and free their unit."""
    deposit_payment_window: Duration = 1800.0
    """How long a deposit order holds its unit unpaid."""
    balance_open: Instant
    """When balance payments open (e.g. 00:00 on 11 Nov)."""
    balance_window: Duration = 7200.0
    """How long balance payments are accepted; units of deposits unpaid by then go on sale."""
    conversion: Fraction = 0.85
    """Share of deposit holders who pay the balance; the others forfeit their deposit."""
    arrivals: Arrivals = Arrivals(build_up=60.0, build_up_share=0.05, surge_share=0.6, surge_time=60.0,
                                  decay=1800.0)
    """When deposit holders come to pay, around balance_open."""

    @property
    def credit(self) -> float:
        return self.deposit if self.deposit_counts_as is None else self.deposit_counts_as

    @model_validator(mode="after")
    def _check(self) -> Presale:
        if self.deposits_close <= self.deposits_open:
            raise ValueError("deposits_close must come after deposits_open")
        if self.deposits_close > 0:
            raise ValueError("deposits_close: deposits are taken before the simulated day (at or before the "
                             "clock start)")
        if self.first_day_share + self.last_day_share > 1 + 1e-9:
            raise ValueError("first_day_share + last_day_share must be at most 1")
        return self


class RedPacketRain(Section):
    """A red-packet rain: participants tap a grab endpoint; a tap served while the budget lasts may win."""

    start: Instant
    """When the rain starts."""
    duration: Duration = 60.0
    """How long it rains."""
    participants: Fraction = 0.3
    """Share of the audience taking part."""
    join_time: Duration = 5.0
    """Participants join at uniform times over this long after the start."""
    tap_rate: Rate = 3.0
    """Taps per participant per second, each one request to the grab endpoint (sent without waiting)."""
    budget: Money
    """Money in the pool; packets are paid from it until it is spent."""
    amount: Dist = "lognormal(5, 1)"
    """Money in one packet (yuan); the last one takes what is left."""
    per_user_cap: int = Field(1, ge=1)
    """Packets one participant may win; then they stop tapping."""
    win: Fraction = 0.5
    """Chance that a served tap wins while the pool is full; it falls in proportion to what is left."""
    win_floor: Fraction = 0.1
    """The chance never falls below this share of `win`, so the last of the pool is handed out too."""
    coupon_lift: Fraction = 0.0
    """A later shopper holding a packet from this rain presses buy with this much more probability."""

    @model_validator(mode="after")
    def _check(self) -> RedPacketRain:
        if self.duration <= 0 or self.tap_rate <= 0 or self.budget <= 0:
            raise ValueError("duration, tap_rate and budget must be above 0")
        return self


class WaitingRoom(Section):
    """Queued entry: a virtual waiting room in front of the journey."""

    enabled: bool = True
    """false: ready, but off until a contingency rule switches it on."""
    admit_rate: Rate | None = None
    """Shoppers let in per second, evenly spaced. null: no rate limit (a cap must be given)."""
    max_active: int | None = Field(None, ge=1)
    """Cap on shoppers admitted and still in the journey; one is let in when one leaves."""
    pre_queue: bool = True
    """Shoppers arriving before their sale's open wait in a pre-queue put in random order at the open."""
    patience: Dist = "exp(15m)"
    """How long a queued shopper waits before leaving (counted from the open for the pre-queue)."""
    balk_over: Duration | None = None
    """Shoppers shown an estimated wait longer than this may leave at once (see balk)."""
    balk: Fraction = 0.0
    """Share of shoppers shown a wait over balk_over who leave at once."""
    session_timeout: Duration | None = None
    """An admitted shopper idle (thinking, paying) this long loses the place and queues again. null: never."""
    sold_out_closes: bool = True
    """While a sale's stock is all taken, shoppers queued or arriving for it are told it is sold out and leave."""

    @model_validator(mode="after")
    def _check(self) -> WaitingRoom:
        if self.admit_rate is None and self.max_active is None:
            raise ValueError("give admit_rate, max_active or both: a room that admits everyone is no room")
        if self.admit_rate is not None and self.admit_rate <= 0:
            raise ValueError("admit_rate: must be above 0/s")
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
    seed: int = 0
    """Root of every random stream: same seed, same results."""
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
    presale: Presale | None = None
    """Deposits before the day, the balance-payment rush on it."""
    contingency: dict[str, Rule] = {}
    """Named rules of the contingency playbook: a signal, a reaction delay and an action."""
    plans: dict[str, Plan] = {}
    """Named contingency plans: overlays on this scenario, compared side by side."""
    support: Support | None = None
    """Support contacts, channels and the agent roster."""
    loadtest: LoadTest = LoadTest()
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
        problems += self._member_problems() + self._rule_problems()
        if self.red_packets and self.system.endpoints.grab is None:
            problems.append("red_packets: the rains need system.endpoints.grab, the endpoint taps go to")
        problems += self._presale_problems()
        for name, rain in self.red_packets.items():
            if not 0 <= rain.start < self.clock.horizon:
                problems.append(f"red_packets.{name}.start: outside the horizon")
        if self.support is not None and self.support.until is not None and self.support.until < self.clock.horizon:
            problems.append("support.until: before the clock's horizon; support runs at least as long as the sale")
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
                problems.append(f"{where}.guaranteed.segment: {m.guaranteed.segment!r} must be one of the "
                                f"member segments {m.segments}")
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

    def _rule_problems(self) -> list[str]:
        problems = []
        steps = dict(self.system.endpoints.items())
        for name, rule in self.contingency.items():
            for part in (getattr(rule.when, rule.when.kind), getattr(rule.do, rule.do.kind)):
                for field, known, kind in (("pool", self.system.pools, "system.pools"),
                                           ("endpoint", steps, "system.endpoints"),
                                           ("sku", self.inventory.skus, "inventory.skus"),
                                           ("to", self.inventory.skus, "inventory.skus")):
                    value = getattr(part, field, None)
                    if value is not None and value not in known:
                        problems.append(f"contingency.{name}: no {field} {value!r} in {kind}")
            degrade = rule.do.degrade
            for step in (degrade.skip + list(degrade.service)) if degrade else []:
                if step not in steps:
                    problems.append(f"contingency.{name}.do.degrade: no endpoint {step!r} in system.endpoints")
            if rule.do.waiting_room and self.waiting_room is None:
                problems.append(f"contingency.{name}.do.waiting_room: the scenario has no waiting_room section "
                                "to switch on")
            if rule.when.at is not None and not 0 <= rule.when.at < self.clock.horizon:
                problems.append(f"contingency.{name}.when.at: outside the horizon")
        return problems

    def arrivals_of(self, sale: Sale) -> Arrivals:
        return sale.arrivals or self.audience.arrivals


# -- loading: YAML with line numbers, overrides, plans, clear errors ---------------------------

Path_ = tuple[str | int, ...]


class Problem(BaseModel):
    """One thing wrong with a scenario, located as precisely as the input allows."""

    where: str
    """`file:line`, `file`, or `--set`."""
    path: str = ""
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path}: {self.message}" if self.path else f"{self.where}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class _Loader(yaml.SafeLoader):
    """YAML 1.2-like scalars: 20:00 stays a string (no base-60 ints), no yes/no booleans, no dates."""

    def construct_object(self, node, deep=False):
        # PyYAML's constructors raise plain ValueError, KeyError... on `!!int abc`: make those YAML errors.
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag}: {exc}", node.start_mark) from None


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"
     r"|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"
     r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$", "-+0123456789."),
]:
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))


def _construct(node: yaml.Node, loader: _Loader, path: Path_, lines: dict, file: str,
               open_: frozenset = frozenset()) -> Any:
    """Build plain Python data from a YAML node, recording `file:line` of every path."""
    where = f"{file}:{node.start_mark.line + 1}"
    if id(node) in open_:
        raise ScenarioError([Problem(where=where, path=_render(path),
                                     message="an alias refers to a node that contains it")])
    if len(lines) >= _MAX_NODES:
        raise ScenarioError([Problem(where=where, path=_render(path),
                                     message=f"more than {_MAX_NODES:,} values (aliases expanding?)")])
    lines[path] = where
    inner = open_ | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ScenarioError([Problem(where=f"{file}:{key_node.start_mark.line + 1}",
                                             path=_render(path), message="keys must be plain names")])
            key = str(key)
            if key in out:
                raise ScenarioError([Problem(where=f"{file}:{key_node.start_mark.line + 1}",
                                             path=_render((*path, key)), message="duplicate key")])
            out[key] = _construct(value_node, loader, (*path, key), lines, file, inner)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, (*path, i), lines, file, inner) for i, v in enumerate(node.value)]
    return loader.construct_object(node)


_MAX_NODES = 100_000
"""More values than any scenario needs: a file of nested aliases must not expand without bound."""


def _render(path: Path_) -> str:
    """`sales[0].open` from ('sales', 0, 'open')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]=]+)")


def _split(path: str) -> Path_:
    """('sales', 0, 'open') from `sales[0].open` or `sales.0.open`."""
    parts: list[str | int] = []
    for index, name in _PATH_PART.findall(path.strip()):
        if index:
            parts.append(int(index))
        else:
            parts.append(int(name) if name.isdecimal() else name)
    return tuple(parts)


def parse_assignment(text: str) -> tuple[Path_, Any]:
    """`path.to.field=value` (value read as YAML) from a `--set` argument."""
    path, sep, value = text.partition("=")
    if not sep or not _split(path):
        raise ScenarioError([Problem(where="--set", message=f"{text!r} is not PATH=VALUE, e.g. audience.size=300k")])
    try:
        parsed = yaml.load(value, Loader=_Loader) if value.strip() else None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ScenarioError([Problem(where="--set", path=path, message=f"value is not YAML: {exc}")]) from None
    return _split(path), parsed


def _assign(raw: Any, path: Path_, value: Any, where: str) -> None:
    """Set one field in the raw scenario data, creating missing mappings on the way."""
    node = raw
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise ScenarioError([Problem(where=where, path=_render(path[: depth + 1]),
                                             message=f"no item {part!r} in a list of {len(node)}")])
        elif isinstance(node, dict):
            part = str(part)
            if not last and not isinstance(node.get(part), dict | list):
                node[part] = {}
        else:
            raise ScenarioError([Problem(where=where, path=_render(path[:depth]), message="not a mapping or list")])
        if last:
            node[part] = value
        else:
            node = node[part]


def _apply(raw: dict, assignments: list[tuple[Path_, Any, str]], lines: dict) -> None:
    for path, value, where in assignments:
        _assign(raw, path, value, where)
        for key in [k for k in lines if k[: len(path)] == path]:
            del lines[key]
        lines[path] = where
        for n in range(1, len(path)):  # mappings the assignment created are located at it too
            lines.setdefault(path[:n], where)


def _fields(loc: tuple) -> list[str]:
    """Names the schema accepts at a location (for 'did you mean')."""
    model: Any = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[-1] if args else None
            continue
        model = field.annotation
        while typing.get_origin(model) in (typing.Union, types.UnionType):
            model = next(a for a in typing.get_args(model) if a is not type(None))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


_RELATIVE = re.compile(r"^([A-Za-z_][\w-]*(?:\[\d+\]|\.[\w-]+)*): (.+)$")


def _problems(exc: ValidationError, lines: dict, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        keep = loc[-1:] if err["type"] == "extra_forbidden" else ()  # the unknown key is the file's, kept as is
        loc = tuple(p for p in loc[: len(loc) - len(keep)]
                    if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))) + keep
        messages = [err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")]
        if err["type"] == "extra_forbidden":
            known = _fields(loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
            messages = [f"unknown field; {hint}"]
        elif err["type"] == "missing":
            messages = ["missing (required)"]
        for message in "\n".join(messages).split("\n"):
            full = loc
            if match := _RELATIVE.match(message):
                full, message = (*loc, *_split(match.group(1))), match.group(2)
            where = next((lines[full[:n]] for n in range(len(full), -1, -1) if full[:n] in lines), file)
            out.append(Problem(where=where, path=_render(full), message=message))
    return out


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = (), plan: str | None = None,
                  overlays: list[Path] | tuple[Path, ...] = ()) -> Scenario:
    """Read, override and validate a scenario file; raise ScenarioError naming every problem.

    Overlay files (`path.to.field: value` lines, as `flashsim calibrate` writes) apply after the
    plan and before the `--set` overrides.
    """
    path = Path(path)
    file = str(path)
    raw, lines = _read_yaml(path)
    if raw is None:
        raise ScenarioError([Problem(where=file, message="the file is empty; a scenario is a YAML mapping")])
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(where=lines[()], message="a scenario is a YAML mapping of sections")])
    raw.setdefault("name", path.stem)
    assignments = [a for overlay in overlays for a in _overlay_assignments(Path(overlay))]
    assignments += [(*parse_assignment(text), "--set") for text in overrides]
    plans = raw.get("plans") if isinstance(raw.get("plans"), dict) else {}
    if plan is not None:
        if plan not in plans:
            raise ScenarioError([Problem(where=file, path="plans", message=f"no plan {plan!r}; plans are "
                                         f"{', '.join(sorted(plans)) or 'none'}")])
        assignments = _plan_assignments(plans[plan], plan, lines, file) + assignments
    _apply(raw, assignments, lines)
    scenario = validate(raw, lines, file, path.parent)
    if plan is None and not assignments:
        for name in plans:  # every plan must make a valid scenario too
            applied = copy.deepcopy(raw)
            plan_lines = dict(lines)
            _apply(applied, _plan_assignments(plans[name], name, lines, file), plan_lines)
            validate(applied, plan_lines, file, path.parent)
    return scenario


def plan_names(path: str | Path) -> list[str]:
    """The names of a scenario file's plans, read even when the scenario itself does not validate."""
    try:
        raw, _ = _read_yaml(Path(path))
    except ScenarioError:
        return []
    plans = raw.get("plans") if isinstance(raw, dict) else None
    return [str(name) for name in plans] if isinstance(plans, dict) else []


def _overlay_assignments(path: Path) -> list[tuple[Path_, Any, str]]:
    raw, lines = _read_yaml(path)
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(where=lines[()], message="an overlay is a mapping of `path.to.field: value`")])
    return [(_split(str(key)), value, lines.get((key,), str(path))) for key, value in raw.items()]


def _read_yaml(path: Path) -> tuple[Any, dict]:
    """A YAML file's data and the line of each node; ScenarioError when it cannot be read."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(where=file, message="no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(where=file, message=f"cannot read: {exc}")]) from None
    lines: dict = {}
    try:
        node = yaml.compose(text, Loader=_Loader)
        raw = _construct(node, _Loader(""), (), lines, file) if node is not None else None
    except RecursionError:
        raise ScenarioError([Problem(where=file, message="not valid YAML: nested too deeply")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else file
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(where=where, message=f"not valid YAML: {reason}")]) from None
    return raw, lines


def _plan_assignments(plan: Any, name: str, lines: dict, file: str) -> list[tuple[Path_, Any, str]]:
    overrides = plan.get("set", {}) if isinstance(plan, dict) else {}
    if not isinstance(overrides, dict):
        return []
    return [
        (_split(key), value, lines.get(("plans", name, "set", key), file)) for key, value in overrides.items()
    ]


def validate(raw: dict, lines: dict, file: str, base_dir: Path) -> Scenario:
    """Validate raw scenario data; the clock is read first so instants resolve against its start."""
    context: dict[str, Any] = {"base_dir": base_dir}
    clock = raw.get("clock")
    if isinstance(clock, dict):
        try:
            context["clock_start"] = units.parse_clock(clock.get("start", "00:00"))
        except (ValueError, TypeError):
            pass  # reported below with its line
    try:
        return Scenario.model_validate(raw, context=context)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, lines, file)) from None


def scenario_schema() -> dict:
    """The JSON Schema of scenario files, for editors."""
    return Scenario.model_json_schema(mode="validation")
