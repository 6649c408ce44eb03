"""Demand: when shoppers arrive around each sale's open, and who they are.

Arrivals are a non-homogeneous Poisson process whose rate is the sum of three parts per sale: a
linear build-up before the open, the surge of people who were waiting (exponential delays of a few
seconds), and a slower exponential decay. Each part has a closed-form cumulative distribution and
inverse, so arrivals are drawn exactly by inversion, one second at a time: memory stays flat in the
number of shoppers, and the curve is exact at any resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.scenario import Arrivals, Funnel, Scenario


@dataclass(frozen=True)
class _Part:
    """One part of an arrival curve: a share of the sale's shoppers with a time distribution."""

    kind: str  # "ramp" (rising linearly on [start, end)), "exp" (from start, mean scale), "flat" ([start, end))
    start: float
    scale: float
    expected: float

    def cdf(self, t: float) -> float:
        """The share of this part's arrivals before t (plain math: it is read per batch of arrivals)."""
        x = max(0.0, (t - self.start) / self.scale)
        if self.kind == "exp":
            return -math.expm1(-x)
        x = min(x, 1.0)
        return x * x if self.kind == "ramp" else x

    def density(self, t: np.ndarray | float) -> np.ndarray:
        x = (np.asarray(t, dtype=float) - self.start) / self.scale
        inside = x >= 0 if self.kind == "exp" else (x >= 0) & (x < 1)
        if self.kind == "exp":
            shape = np.exp(-np.clip(x, 0.0, None))
        else:
            shape = 2 * x if self.kind == "ramp" else np.ones_like(x)
        return np.where(inside, shape, 0.0) / self.scale

    def inverse(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "exp":
            return self.start - self.scale * np.log1p(-u)
        return self.start + self.scale * (np.sqrt(u) if self.kind == "ramp" else u)


class ArrivalCurve:
    """The arrival rate of one sale's shoppers over the scenario's horizon."""

    def __init__(
        self,
        arrivals: Arrivals,
        open_at: float,
        expected: float,
        horizon: float,
        sale: int = 0,
        segments: list[int] | None = None,
    ):
        self.horizon = horizon
        self.sale = sale
        self.segments = segments
        """Indices of the segments this curve's shoppers come from (members with early access); None: all."""
        if arrivals.shape == "flat":
            self.parts = [_Part("flat", open_at, horizon - open_at, expected)]
        else:
            decay_share = max(0.0, 1.0 - arrivals.build_up_share - arrivals.surge_share)
            self.parts = [
                _Part("ramp", open_at - arrivals.build_up, arrivals.build_up, expected * arrivals.build_up_share),
                _Part("exp", open_at, arrivals.surge_time, expected * arrivals.surge_share),
                _Part("exp", open_at, arrivals.decay, expected * decay_share),
            ]
            self.parts = [p for p in self.parts if p.expected > 0 and p.scale > 0]

    def expected_between(self, a: float, b: float) -> float:
        """Expected arrivals in [a, b)."""
        return sum(p.expected * (p.cdf(b) - p.cdf(a)) for p in self.parts)

    def rate(self, t: np.ndarray | float) -> np.ndarray:
        """Arrivals per second at times t: the curve the model draws from and load tests replay."""
        # TODO: with no parts (nothing expected) this is the int 0, not an array of zeros
        return sum(p.expected * p.density(t) for p in self.parts)  # type: ignore[return-value]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n arrival times in [0, horizon) from the curve's shape: the times of n people known in advance."""
        lo = np.array([p.cdf(0.0) for p in self.parts])
        hi = np.array([p.cdf(self.horizon) for p in self.parts])
        weights = np.array([p.expected for p in self.parts]) * (hi - lo)
        part = rng.choice(len(self.parts), size=n, p=weights / weights.sum())
        u = rng.random(n)
        out = np.empty(n)
        for k, p in enumerate(self.parts):
            mask = part == k
            out[mask] = p.inverse(lo[k] + (hi[k] - lo[k]) * u[mask])
        return np.clip(out, 0.0, math.nextafter(self.horizon, 0.0))

    def sample(self, rng: np.random.Generator, a: float, b: float) -> np.ndarray:
        """Arrival times in [a, b), sorted: Poisson counts per part, placed by inversion."""
        times = []
        for p in self.parts:
            lo, hi = p.cdf(a), p.cdf(b)
            n = rng.poisson(p.expected * (hi - lo)) if hi > lo else 0
            if n:
                times.append(p.inverse(lo + (hi - lo) * rng.random(n)))
        if not times:
            return np.empty(0)
        out = np.concatenate(times)
        out.sort()
        return np.clip(out, a, math.nextafter(b, a))


class Burst(ArrivalCurve):
    """Arrivals within seconds of a moment, exponential delays of a mean: the viewers a live-stream drop sends."""

    def __init__(self, at: float, mean_delay: float, expected: float, horizon: float, sale: int):
        self.horizon, self.sale, self.segments = horizon, sale, None
        self.parts = [_Part("exp", at, mean_delay, expected)] if expected > 0 else []


def curves(scenario: Scenario) -> list[ArrivalCurve]:
    """The arrival curves, in sale order: one per sale, two for a sale whose members have early access; then a
    burst per live-stream drop."""
    horizon = scenario.clock.horizon
    names = list(scenario.audience.segments)
    out = []
    for i, sale in enumerate(scenario.sales):
        arrivals, expected = scenario.arrivals_of(sale), scenario.audience.size * sale.audience_share
        m = sale.members
        if m is None or m.early_access == 0:
            out.append(ArrivalCurve(arrivals, sale.open, expected, horizon, i))
            continue
        members = [k for k, name in enumerate(names) if name in m.segments]
        others = [k for k in range(len(names)) if k not in members]
        share = sum(scenario.audience.segments[names[k]].share for k in members)
        out.append(ArrivalCurve(arrivals, sale.open - m.early_access, expected * share, horizon, i, members))
        if others:
            out.append(ArrivalCurve(arrivals, sale.open, expected * (1 - share), horizon, i, others))
    index = {sale.name: i for i, sale in enumerate(scenario.sales)}
    for stream in scenario.live_streams.values():
        for drop in stream.drops:
            out.append(Burst(drop.at, drop.within, drop.share * stream.viewers_at(drop.at), horizon, index[drop.sale]))
    return out


@dataclass
class Shoppers:
    """A batch of arrivals in time order with what each shopper brings: CRN-friendly, drawn at arrival.

    Drawn in arrival order from the demand streams alone, so two plans run on the same seed see the
    same shoppers with the same intentions, whatever the system does to them afterwards.
    """

    time: list[float]
    sale: list[int]
    segment: list[int]
    buys: list[bool]
    pays: list[bool]
    accepted: list[bool]
    keeps_trying: list[bool]
    patience: list[float]
    luck: list[float]
    """A uniform draw per shopper, for chances the system decides later (e.g. being steered elsewhere)."""


def draw_shoppers(
    rng: np.random.Generator,
    scenario: Scenario,
    sale_curves: list[ArrivalCurve],
    a: float,
    b: float,
    segment_behaviour: list,
    luck: np.random.Generator | None = None,
) -> Shoppers:
    """Every shopper arriving in [a, b), with their segment and intentions."""
    times, owners = [], []
    for i, curve in enumerate(sale_curves):
        t = curve.sample(rng, a, b)
        times.append(t)
        owners.append(np.full(len(t), i))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t, owner = t[order], np.concatenate(owners)[order]
    sale = np.array([c.sale for c in sale_curves], dtype=int)[owner]
    n = len(t)
    segment = _segments(rng, scenario, sale_curves, owner)
    u = rng.random((n, 4))
    funnel = (
        np.array(
            [[b.funnel.buy, b.funnel.pay, b.funnel.pay_success, b.sold_out.keep_trying] for b in segment_behaviour]
        )[segment]
        if n
        else np.empty((0, 4))
    )
    decided = u < funnel
    patience = np.empty(n)
    for k, behaviour in enumerate(segment_behaviour):
        mask = segment == k
        if mask.any():
            patience[mask] = behaviour.patience.sample(rng, int(mask.sum()))
    return Shoppers(
        time=t.tolist(),
        sale=sale.tolist(),
        segment=segment.tolist(),
        buys=decided[:, 0].tolist(),
        pays=decided[:, 1].tolist(),
        accepted=decided[:, 2].tolist(),
        keeps_trying=decided[:, 3].tolist(),
        patience=patience.tolist(),
        luck=(luck.random(n) if luck is not None else np.ones(n)).tolist(),
    )


def _segments(
    rng: np.random.Generator, scenario: Scenario, sale_curves: list[ArrivalCurve], owner: np.ndarray
) -> np.ndarray:
    """Each shopper's segment, drawn by share among the segments their arrival curve comes from."""
    shares = np.array([s.share for s in scenario.audience.segments.values()])
    n = len(owner)
    if len(shares) == 1:
        return np.zeros(n, int)
    u = rng.random(n)
    segment = np.empty(n, int)
    for i, curve in enumerate(sale_curves):
        allowed = np.arange(len(shares)) if curve.segments is None else np.asarray(curve.segments)
        cdf = shares[allowed].cumsum()
        mask = owner == i
        segment[mask] = allowed[np.minimum(cdf.searchsorted(u[mask] * cdf[-1], side="right"), len(allowed) - 1)]
    return segment


def _factor(rng: np.random.Generator, cv: float) -> float:
    """A lognormal factor of mean 1 and the given coefficient of variation."""
    sigma2 = math.log1p(cv * cv)
    return float(rng.lognormal(-sigma2 / 2, math.sqrt(sigma2)))


def drawn_demand(scenario: Scenario, rng: np.random.Generator) -> Scenario:
    """The scenario with this replication's audience size and buy probability, drawn around the planned
    ones as its `audience.uncertainty` says: planners size stock for the demand they might get, not
    only the demand they expect."""
    u = scenario.audience.uncertainty
    if not u.size_cv and not u.conversion_cv:
        return scenario
    size, conversion = _factor(rng, u.size_cv), _factor(rng, u.conversion_cv)
    audience = scenario.audience

    def scaled(funnel: Funnel) -> Funnel:
        return funnel.model_copy(update={"buy": min(1.0, funnel.buy * conversion)})

    behaviour = audience.behaviour.model_copy(update={"funnel": scaled(audience.behaviour.funnel)})
    segments = {
        name: seg
        if seg.behaviour.funnel is None
        else seg.model_copy(
            update={"behaviour": seg.behaviour.model_copy(update={"funnel": scaled(seg.behaviour.funnel)})}
        )
        for name, seg in audience.segments.items()
    }
    drawn = audience.model_copy(
        update={"size": max(1, round(audience.size * size)), "behaviour": behaviour, "segments": segments}
    )
    return scenario.model_copy(update={"audience": drawn})
