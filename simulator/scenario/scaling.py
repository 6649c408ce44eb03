"""A scenario at another size: the whole promotion grown K times, or a share of its audience for a load test."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel

from simulator.scenario.audience import Arrivals, Behaviour, BehaviourOverride
from simulator.scenario.promotion import Scenario
from simulator.scenario.section import GROWS

B = TypeVar("B", Behaviour, BehaviourOverride)


def grown(scenario: Scenario, k: float) -> Scenario:
    """The promotion `k` times as big: every field marked GROWS (shoppers, units, deposits, rain budgets,
    workers and queues, connections, support contacts and agents, the counts in plans and rules) times `k`.

    Counts are rounded and one stays at least one. Locks do not grow: one hot row stays one row however
    many servers stand in front of it, which is why a sizing at 1/100 does not simply multiply.
    """
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"scale {k:g}: use a number above 0, e.g. 100 for a promotion 100 times as big")
    if k == 1:
        return scenario
    bigger = _grow(scenario, k)
    return bigger.model_copy(update={"name": f"{scenario.name}-x{k:g}"})


def _grow(value: Any, k: float) -> Any:
    if isinstance(value, BaseModel):
        update = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if GROWS in field.metadata:
                update[name] = _times(item, k)
            elif isinstance(item, BaseModel | list | dict):
                update[name] = _grow(item, k)
        return value.model_copy(update=update)
    if isinstance(value, list):
        return [_grow(item, k) for item in value]
    if isinstance(value, dict):
        return {key: _grow(item, k) for key, item in value.items()}
    return value


def _times(value: Any, k: float) -> Any:
    """A value `k` times bigger: a count rounded, and never below one unless it was none (a mapping's values)."""
    if isinstance(value, dict):
        return {key: _times(v, k) for key, v in value.items()}
    if value is None or isinstance(value, float):
        return None if value is None else value * k
    return max(1, round(value * k)) if value else 0


def scaled(scenario: Scenario, scale: float = 1.0, speedup: float = 1.0) -> Scenario:
    """The scenario with `scale` of its audience and its shopper-side clock `speedup` times faster."""
    if not (0 < scale <= 1):
        raise ValueError(f"scale {scale:g}: use a fraction of the audience in (0, 1], e.g. 0.01")
    if not (math.isfinite(speedup) and speedup >= 1):
        raise ValueError(f"speedup {speedup:g}: use a number >= 1, e.g. 10")
    k = 1.0 / speedup
    audience = scenario.audience
    segments = {
        name: seg.model_copy(update={"behaviour": _behaviour(seg.behaviour, k)})
        for name, seg in audience.segments.items()
    }
    return scenario.model_copy(
        update={
            "clock": scenario.clock.model_copy(update={"horizon": scenario.clock.horizon * k}),
            "audience": audience.model_copy(
                update={
                    "size": _times(audience.size, scale),
                    "segments": segments,
                    "arrivals": _arrivals(audience.arrivals, k),
                    "behaviour": _behaviour(audience.behaviour, k),
                }
            ),
            "sales": [
                sale.model_copy(
                    update={"open": sale.open * k, "arrivals": sale.arrivals and _arrivals(sale.arrivals, k)}
                )
                for sale in scenario.sales
            ],
            "live_streams": {
                name: stream.model_copy(
                    update={
                        "viewers": {t * k: _times(n, scale) for t, n in stream.viewers.items()},
                        "drops": [d.model_copy(update={"at": d.at * k, "within": d.within * k}) for d in stream.drops],
                    }
                )
                for name, stream in scenario.live_streams.items()
            },
            "inventory": scenario.inventory.model_copy(
                update={
                    "skus": {
                        name: sku.model_copy(
                            update={"payment_window": sku.payment_window * k, "stock": _times(sku.stock, scale)}
                        )
                        for name, sku in scenario.inventory.skus.items()
                    }
                }
            ),
        }
    )


def _arrivals(a: Arrivals, k: float) -> Arrivals:
    return a.model_copy(update={"build_up": a.build_up * k, "surge_time": a.surge_time * k, "decay": a.decay * k})


def _behaviour(b: B, k: float) -> B:
    update: dict = {
        name: getattr(b, name).scaled(k)
        for name in ("think_time", "pay_delay", "patience")
        if getattr(b, name) is not None
    }
    if b.retry is not None:
        update["retry"] = b.retry.model_copy(
            update={"backoff": b.retry.backoff * k, "max_backoff": b.retry.max_backoff * k}
        )
    if b.sold_out is not None:
        update["sold_out"] = b.sold_out.model_copy(
            update={"refresh_every": b.sold_out.refresh_every * k, "keep_trying_for": b.sold_out.keep_trying_for * k}
        )
    return b.model_copy(update=update)
