"""Whether the shop came back after an incident, and how long it took: read from a replication's series.

The level to come back to is the one before the incident: the error rate and p95 response time of the
endpoints it hit over the minute before it started (the error rate as the share of requests answered
each second, errors included, that were errors). The shop has recovered at the first second after the
incident's end from which, for HOLD seconds, the error rate stays within ERRORS_WITHIN of that level and
every latency window starting in them has its p95 within P95_WITHIN of it (errors to the second, latency to
the recorder's 10 s windows). One that never does before the horizon stayed overloaded once its cause was
gone: a metastable failure (retries keeping the load up), unless the horizon came too soon to tell.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.engine import WINDOW, percentile

BEFORE = 60
"""Seconds before an incident's start read as the level to return to."""
HOLD = 30
"""Seconds the level must hold to count as recovered."""
ERRORS_WITHIN = 0.01
"""How far above its level before the error rate may stay (1 percentage point)."""
P95_WITHIN = 1.5
"""How many times its p95 before the p95 may stay."""
Q = 0.95


def recovery(rep: dict, occurrence: dict) -> dict:
    """The occurrence's levels before and at worst, and when its error rate, its p95 and both came back (None:
    not by the horizon)."""
    endpoints = [rep["endpoints"][name] for name in occurrence["endpoints"]]
    errors = _summed(endpoints, "rejected") + _summed(endpoints, "timed_out")
    requests = _summed(endpoints, "served") + errors  # answered each second, an error or not
    seconds = len(requests)
    start, end = int(occurrence["start"]), math.ceil(occurrence["end"])
    lo = max(0, start - BEFORE)
    asked = requests[lo:start].sum()
    error_before = float(errors[lo:start].sum() / asked) if asked else 0.0
    windows = _windows(endpoints)
    before = np.zeros(len(endpoints[0]["hist"]), dtype=np.int64)
    for w, h in windows.items():
        if lo <= w * WINDOW < start:
            before += h
    p95_before = percentile(before.tolist(), Q)
    bound = None if p95_before is None else P95_WITHIN * p95_before
    slow = {w for w, h in windows.items() if bound is not None and (p95 := percentile(h.tolist(), Q)) and p95 > bound}
    asked_by, failed_by = np.concatenate([[0.0], np.cumsum(requests)]), np.concatenate([[0.0], np.cumsum(errors)])

    def errors_back(s: int) -> bool:
        asked = asked_by[s + HOLD] - asked_by[s]
        return not asked or (failed_by[s + HOLD] - failed_by[s]) / asked <= error_before + ERRORS_WITHIN

    def latency_back(s: int) -> bool:
        return not any(w in slow for w in range(math.ceil(s / WINDOW), math.ceil((s + HOLD) / WINDOW)))

    after = range(min(end, seconds), seconds - HOLD + 1)
    errors_at = next((s for s in after if errors_back(s)), None)
    latency_at = next((s for s in after if latency_back(s)), None)
    recovered_at = next((s for s in after if errors_back(s) and latency_back(s)), None)
    rates = errors[start:] / np.maximum(requests[start:], 1)
    return {
        "error_rate_before": error_before,
        "p95_before_s": p95_before,
        "worst_error_rate": float(rates.max()) if len(rates) else 0.0,
        "errors_back_after_s": _after(errors_at, occurrence["end"]),
        "p95_back_after_s": _after(latency_at, occurrence["end"]),
        "recovered_after_s": _after(recovered_at, occurrence["end"]),
        "recovered": True if recovered_at is not None else (False if end + HOLD <= seconds else None),
    }


def _after(second: int | None, end: float) -> float | None:
    """Seconds from the incident's end to `second` (None: never)."""
    return None if second is None else float(max(0.0, second - end))


def _summed(endpoints: list[dict], series: str) -> np.ndarray:
    return np.sum([np.asarray(e["series"][series], dtype=float) for e in endpoints], axis=0)


def _windows(endpoints: list[dict]) -> dict[int, np.ndarray]:
    """The endpoints' latency histograms per window, summed."""
    windows: dict[int, np.ndarray] = {}
    for e in endpoints:
        for w, counts in e["windows"].items():
            windows[int(w)] = windows.get(int(w), 0) + np.asarray(counts, dtype=np.int64)
    return windows
