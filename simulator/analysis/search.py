"""Sizing's search: one knob at a time, on the model with common random numbers, and what it records."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from simulator.scenario import Scenario

K = TypeVar("K")


class Unmet(Exception):
    """A target cannot be met within the bounds given (exit 1)."""


@dataclass
class Evaluation:
    """One model run of a candidate configuration: what was tried and which knobs it passed."""

    what: str
    config: dict[str, int]
    passed: dict[str, bool | None]


@dataclass
class Sizing:
    """What `flashsim size` found: the table, the runs it took, and the sized scenario."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: list[Evaluation] = field(default_factory=list)
    staffing: list[dict[str, Any]] = field(default_factory=list)
    """Agents per interval and team (the staffing table)."""
    roster: list[dict[str, Any]] = field(default_factory=list)
    scenario: Scenario | None = None
    """The scenario with every sized part applied (verified by the caller)."""
    unmet: list[str] = field(default_factory=list)
    on_run: Callable[[Evaluation], None] | None = None
    skipped: list[str] = field(default_factory=list)
    """Parts `all` left out: the scenario sets no target for them."""
    applied: str = ""
    """The server variant applied to the sized scenario (the one as configured)."""

    def log(self, evaluation: Evaluation) -> None:
        self.runs.append(evaluation)
        if self.on_run is not None:
            self.on_run(evaluation)


@dataclass
class _Knob:
    lo: int  # largest value known to fail (low - 1 when none)
    hi: int | None  # smallest value known to pass
    step: int
    tried: bool = False


def search(
    start: dict[K, int],
    evaluate: Callable[[dict[K, int]], dict[K, bool | None]],
    low: int,
    high: dict[K, int],
    max_runs: int = 40,
    describe: Callable[[K], str] = str,
) -> dict[K, int]:
    """The smallest value of every knob whose check passes, all searched at once: from the warm start,
    steps that double (down while passing, up while failing), then bisection. A knob already settled
    that fails once the others have moved is searched up again, and a last run of all the answers
    must pass. `evaluate` answers True (pass), False (fail) or None (inconclusive, e.g. a downstream
    pool starved by an upstream one, or an interval behind a failing one)."""
    knobs = {k: _Knob(low - 1, None, max(1, round(0.05 * v))) for k, v in start.items()}
    for _ in range(max_runs):
        candidates: dict[K, int] = {}
        for k, knob in knobs.items():
            if knob.hi is not None and knob.hi - knob.lo <= 1:
                continue
            if not knob.tried:
                candidates[k] = min(max(start[k], low), high[k])
            elif knob.hi is None:
                if knob.lo >= high[k]:
                    raise Unmet(f"{describe(k)}: not met even at the bound of {high[k]}")
                candidates[k] = min(knob.lo + knob.step, high[k])
            elif knob.lo < low and knob.step > 0:
                candidates[k] = max(low, knob.hi - knob.step)
            else:
                candidates[k] = (knob.lo + knob.hi) // 2
        final = not candidates
        # a knob left out of the candidates is settled: its hi is set (mypy cannot see it; so below)
        config: dict[K, int] = {k: candidates.get(k, knob.hi) for k, knob in knobs.items()}  # type: ignore[misc]
        passed = evaluate(config)
        for k, value in candidates.items():
            knob = knobs[k]
            knob.tried = knob.tried or passed[k] is not None
            if passed[k] is True:
                knob.step = knob.step * 2 if knob.lo < low else 0
                knob.hi = value
            elif passed[k] is False:
                knob.step = knob.step * 2 if knob.hi is None else 0
                knob.lo = value
        if final and all(passed[k] is True for k in knobs):
            return _tighten(config, evaluate, low)
        for k, knob in knobs.items():  # settled, but fails with the others where they are now: up again
            if k not in candidates and passed[k] is False:
                knob.lo, knob.hi, knob.step = knob.hi, None, 1  # type: ignore[assignment]
    pending = [describe(k) for k, knob in knobs.items() if knob.hi is None or knob.hi - knob.lo > 1]
    raise Unmet(
        f"no answer within {max_runs} runs (still open: {', '.join(pending[:5])}{' ...' if len(pending) > 5 else ''})"
    )


def _tighten(
    config: dict[K, int], evaluate: Callable[[dict[K, int]], dict[K, bool | None]], low: int, rounds: int = 3
) -> dict[K, int]:
    """One less of every knob at once, kept where it still passes and the rest still pass with it: an
    answer found while other knobs were below their own answers can be one too high."""
    for _ in range(rounds):
        trial = {k: max(low, v - 1) for k, v in config.items()}
        passed = evaluate(trial) if trial != config else {}
        lowered = {k for k in trial if trial[k] < config[k] and passed.get(k) is True}
        if not lowered:
            break
        candidate = {k: trial[k] if k in lowered else v for k, v in config.items()}
        if candidate != trial and not all(v is True for v in evaluate(candidate).values()):
            break  # lowering some hurt the others: keep the answers as they were
        config = candidate
    return config


def enough(oks: list[bool], confidence: float) -> bool:
    """Met in at least `confidence` of the replications."""
    return sum(oks) >= math.ceil(confidence * len(oks) - 1e-9)
