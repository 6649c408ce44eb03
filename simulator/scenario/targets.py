"""Targets a run is judged against: latency, stock left, the contact centre's service level."""

from __future__ import annotations

from pydantic import Field

from simulator.scenario.section import Duration, Fraction, Section


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
