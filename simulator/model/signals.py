"""Signals a monitoring system measures, read from the world each second: a pool's error rate or queue
length, an endpoint's p99, a SKU's stock. The playbook's rules fire on them; an incident may start on one
(an overload that takes a pool down)."""

from __future__ import annotations

from simulator.engine.recorders import EndpointStats
from simulator.model.world import World
from simulator.scenario import ErrorRate, QueueLength, When
from simulator.units import format_duration


def watch(world: World, when: When) -> EndpointStats | None:
    """Start keeping what the signal needs that is not kept anyway (an endpoint's answers above a p99
    bound, per second); the stats to flush before each reading, or None."""
    if when.p99 is None:
        return None
    stats = world.endpoints[when.p99.endpoint].stats
    stats.watch(when.p99.above)
    return stats


def crossed(world: World, when: When, second: int) -> str | None:
    """Why the signal is past its bound over the seconds before `second` (a sentence for the log), or None."""
    if when.stock is not None:
        s = when.stock
        stock = world.stocks[s.sku]
        # the schema gives exactly one of below and below_share
        level = s.below if s.below is not None else s.below_share * stock.initial  # type: ignore[operator]
        if stock.available < level:
            return f"{s.sku} stock {stock.available} below {level:g} units"
        return None
    signal = when.error_rate or when.queue or when.p99
    if signal is None:  # a fixed time: its timer fires it, once
        return None
    w = max(1, round(signal.window))
    lo = max(0, second - w)
    if isinstance(signal, ErrorRate):
        mine = [ep.stats for ep in world.endpoints.values() if ep.pool.name == signal.pool]
        requests = sum(sum(s.s_requests[lo:second]) for s in mine)
        errors = sum(sum(s.s_rejected[lo:second]) + sum(s.s_timed_out[lo:second]) for s in mine)
        if requests and errors / requests > signal.above:
            return f"{signal.pool} error rate {errors / requests:.1%} above {signal.above:.1%} over {w} s"
    elif isinstance(signal, QueueLength):
        levels = world.pools[signal.pool].stats.s_queue[lo + 1 : second + 1]
        mean = sum(levels) / len(levels) if levels else 0.0
        if mean > signal.above:
            return f"{signal.pool} queue {mean:,.0f} above {signal.above:g} over {w} s"
    else:
        endpoint = world.endpoints[signal.endpoint]
        stats = endpoint.stats
        timed_out = sum(stats.s_timed_out[lo:second])  # waited the whole timeout: slow if it passes the bound
        answered = int(stats.s_served[lo:second].sum()) + timed_out
        slow = int(stats.slow[signal.above][lo:second].sum())
        slow += timed_out if endpoint.timeout is not None and endpoint.timeout > signal.above else 0
        if answered and slow > 0.01 * answered:
            return (
                f"{signal.endpoint} p99 above {format_duration(signal.above)} over {w} s ({slow} of {answered} slower)"
            )
    return None
