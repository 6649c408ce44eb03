"""Red-packet rains: for a minute everyone taps, every tap a request; the budget runs out.

Participants join in the first seconds of a rain and tap at a steady rate, each tap a request to
the grab endpoint sent without waiting for the last one's answer (the app fires them as the finger
lands). A tap the server handles while money is left wins with a probability that falls in
proportion to what is left (down to a floor), takes a packet of random size (the last packet takes the rest) and
counts towards the participant's cap. The budget spent never exceeds the pool.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine import series
from simulator.model.world import in_time_order
from simulator.scenario import RedPacketRain

if TYPE_CHECKING:
    from simulator.model.world import World


class Rain:
    """One rain's pool and what happened to it."""

    def __init__(self, name: str, config: RedPacketRain, rng: Callable[[str], np.random.Generator], horizon: float):
        self.name = name
        self.config = config
        self.end = config.start + config.duration
        self.left = config.budget
        self.amount = sampler(config.amount, rng(f"rain:{name}:amount"))
        self.luck = sampler(Distribution("uniform", (0.0, 1.0)), rng(f"rain:{name}:win"))
        self.phase = rng(f"rain:{name}:join")
        self.won: dict[int, int] = {}  # participant -> packets
        self.participants = self.taps = self.served_taps = self.packets = 0
        self.exhausted_at: float | None = None
        self.s_spent = cast(list[float], series(horizon))  # money, added to the zeros of a series
        self.s_packets = series(horizon)

    def grab(self, who: int, now: float) -> float:
        """A served tap: the money it wins (0 when it does not)."""
        self.served_taps += 1
        config = self.config
        if self.left <= 0 or self.won.get(who, 0) >= config.per_user_cap or now >= self.end:
            return 0.0
        if self.luck() >= config.win * max(self.left / config.budget, config.win_floor):
            return 0.0
        amount = min(max(self.amount(), 0.01), self.left)
        self.left -= amount
        if self.left <= 1e-9:
            self.left = 0.0
            self.exhausted_at = now
        self.won[who] = self.won.get(who, 0) + 1
        self.packets += 1
        self.s_spent[int(now)] += amount
        self.s_packets[int(now)] += 1
        return amount

    def open(self) -> bool:
        return self.left > 0

    def snapshot(self) -> dict[str, Any]:
        config = self.config
        return {
            "budget": config.budget,
            "spent": config.budget - self.left,
            "packets": self.packets,
            "winners": len(self.won),
            "participants": self.participants,
            "taps": self.taps,
            "served_taps": self.served_taps,
            "exhausted_at": self.exhausted_at,
            "series": {"spent": self.s_spent, "packets": self.s_packets},
        }


def participants(world: World, rain: Rain, audience: int) -> Iterator[tuple[float, Generator]]:
    """Each participant's join time and tapping process, in the order they join; a process is made only as
    the engine reads it (a full-size rain has a million participants)."""
    config = rain.config
    n = round(config.participants * audience)
    joins = config.start + config.join_time * rain.phase.random(n)
    rain.participants = n
    return in_time_order(joins, lambda who: _tapper(world, rain, who, float(joins[who])))


def _tapper(world: World, rain: Rain, who: int, joined: float) -> Generator[float, Any, None]:
    """One participant: a tap every 1/tap_rate seconds from joining until the rain ends, the pool is
    spent or their cap is reached."""
    env = world.env
    endpoint = world.endpoints["grab"]
    period = 1.0 / rain.config.tap_rate
    cap = rain.config.per_user_cap

    def tap() -> float:  # the effect of a served tap (a closure: called for less than an object)
        return rain.grab(who, env._now)  # hot path (every tap): _now, not the property

    k = 0
    while True:
        t = joined + k * period  # taps on a fixed grid: no drift however long the rain
        if t >= rain.end or not rain.open() or rain.won.get(who, 0) >= cap:
            return
        if t > env._now:  # hot path (every tap): _now, not the property
            yield t - env._now
        rain.taps += 1
        endpoint.call(tap)
        k += 1


def install(world: World, configs: dict[str, RedPacketRain], rng: Callable[[str], np.random.Generator]) -> None:
    """The rains: their tappers start beside the shoppers, and a packet won lifts a later shopper's will to buy."""
    horizon = world.scenario.clock.horizon
    audience = world.scenario.audience.size
    rains = [Rain(name, config, rng, horizon) for name, config in configs.items()]
    env = world.env

    def coupon_chance() -> float:
        """Chance that a shopper who would not press buy now does: they hold a packet from an earlier rain."""
        now = env._now  # per shopper who would leave: _now, not the property
        return sum(r.config.coupon_lift * min(1.0, len(r.won) / audience) for r in rains if r.end <= now)

    world.buy_lift = coupon_chance
    world.late.extend(participants(world, rain, audience) for rain in rains)
    world.sections["red_packets"] = lambda: {rain.name: rain.snapshot() for rain in rains}
