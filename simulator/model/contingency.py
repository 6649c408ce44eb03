"""The contingency playbook at work: rules watch measured signals each second and fire their actions.

A rule fires when its signal crosses its bound (or at its time); its action starts after the
team's reaction delay and takes effect after the action's own lag (provisioning, switch-over, lead
time). Every firing is logged with its time, its reason and its action, for summary.json and the
figures' markers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulator.distributions import Distribution, sampler
from simulator.engine import at
from simulator.model.signals import crossed, watch
from simulator.model.world import Substitution, World
from simulator.scenario import Rule
from simulator.units import format_duration


class _Armed:
    """A rule and its state in one replication."""

    def __init__(self, name: str, rule: Rule):
        self.name = name
        self.rule = rule
        self.ready_at = 0.0  # may fire from then on; inf once spent


class Playbook:
    """The scenario's rules watching one replication."""

    def __init__(self, world: World, rules: dict[str, Rule], rng: Callable[[str], np.random.Generator]):
        self.world = world
        self.rng = rng
        self.armed = [_Armed(name, rule) for name, rule in rules.items()]
        self.log: list[dict] = []
        self._watching = []
        for armed in self.armed:
            when = armed.rule.when
            if when.at is not None:
                armed.ready_at = float("inf")
                at(world.env, when.at, lambda _, a=armed, t=when.at: self._fire(a, f"scheduled at {world.clock(t)}"))
            elif (stats := watch(world, when)) is not None:
                self._watching.append(stats)

    def check(self, second: int) -> None:
        """Read each armed rule's signal over the seconds before `second`; fire those past their bound."""
        if not self.armed:
            return
        for stats in self._watching:
            stats.flush()
        now = self.world.env.now
        for armed in self.armed:
            if now >= armed.ready_at and self._spare(armed):
                reason = crossed(self.world, armed.rule.when, second)
                if reason is not None:
                    self._fire(armed, reason)

    def _spare(self, armed: _Armed) -> bool:
        """False when firing could change nothing (a scale-out already at its cap)."""
        scale = armed.rule.do.scale_out
        return scale is None or scale.max is None or self.world.pools[scale.pool].workers < scale.max

    def _fire(self, armed: _Armed, reason: str) -> None:
        rule, world = armed.rule, self.world
        now = world.env.now
        do = rule.do
        kind = do.kind
        action = getattr(do, kind)
        lag = getattr(action, "lag", None) or getattr(action, "lead", None) or 0.0
        effective = now + rule.after + lag
        armed.ready_at = effective + rule.cooldown if rule.repeat else float("inf")
        self.log.append(
            {
                "rule": armed.name,
                "signal": rule.when.kind,
                "fired_at": now,
                "effective_at": effective,
                "reason": reason,
                "action": _describe(kind, action),
            }
        )
        at(world.env, effective, lambda _: self._apply(kind, action))

    def _apply(self, kind: str, action: Any) -> None:
        """The action takes effect."""
        world = self.world
        if kind == "scale_out":
            pool = world.pools[action.pool]
            target = pool.workers + action.add
            capped = min(target, action.max) if action.max is not None else target
            pool.resize(max(pool.workers, capped))  # a failover meanwhile may have gone past the cap
        elif kind == "failover":
            world.pools[action.pool].resize(action.workers)
        elif kind == "waiting_room":
            world.gate.enabled = True  # type: ignore[union-attr]  # the schema asks for a room
        elif kind == "degrade":
            world.degrade(action.skip, action.service)
        elif kind == "divert":
            world.divert = max(world.divert, action.share)
        elif kind == "transfer":
            world.stocks[action.sku].add(action.units)
        elif kind == "substitute":
            old = world.substitutes.get(action.sku)
            uniform = Distribution("uniform", (0.0, 1.0))
            draw = old.draw if old else sampler(uniform, self.rng(f"substitute:{action.sku}"))
            world.substitutes[action.sku] = Substitution(
                world.stocks[action.to] if action.to else None, action.price, action.share, action.restock_share, draw
            )


def _describe(kind: str, action: Any) -> str:
    """One line for the log and the figures."""
    if kind == "scale_out":
        cap = f", up to {action.max}" if action.max is not None else ""
        return f"scale out {action.pool} +{action.add} workers after {format_duration(action.lag)}{cap}"
    if kind == "failover":
        return (
            f"fail over {action.pool} to a backup cluster of {action.workers} workers after "
            f"{format_duration(action.lag)}"
        )
    if kind == "waiting_room":
        return "switch on queued entry"
    if kind == "degrade":
        parts = [f"skip {', '.join(action.skip)}"] if action.skip else []
        parts += [f"{step} service x{f:g}" for step, f in action.service.items()]
        return "simplified checkout: " + "; ".join(parts)
    if kind == "divert":
        return f"steer {action.share:.0%} of arriving shoppers to other channels"
    if kind == "transfer":
        return f"transfer {action.units:,} units of {action.sku} after {format_duration(action.lead)}"
    to = f"substitute {action.to} ({action.share:.0%}), " if action.to else ""
    return f"{action.sku} sold out: {to}restock reservations ({action.restock_share:.0%})"


def install(world: World, rules: dict[str, Rule], rng: Callable[[str], np.random.Generator]) -> Playbook:
    """The playbook watching the world each second until the horizon; its firings in the result."""
    playbook = Playbook(world, rules, rng)
    horizon = world.scenario.clock.horizon

    def observe(second: int) -> None:
        if second < horizon:
            playbook.check(second)

    world.each_second.append(observe)
    world.sections["contingency"] = lambda: playbook.log
    return playbook
