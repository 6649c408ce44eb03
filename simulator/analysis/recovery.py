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


def recoveries(rep: dict) -> list[dict]:
    """Each incident of a replication, in its order: the levels before and at worst, and when the error rate,
    the p95 and both came back (None: not by the horizon). The series of each set of endpoints hit are read
    once, however many incidents hit it."""
    hits: dict[tuple[str, ...], _Hit] = {}
    out = []
    for occurrence in rep["incidents"]:
        key = tuple(occurrence["endpoints"])
        if key not in hits:
            hits[key] = _Hit([rep["endpoints"][name] for name in key])
        out.append(hits[key].recovery(occurrence["start"], occurrence["end"]))
    return out


class _Hit:
    """The series of the endpoints an incident hit, summed: answers and errors each second, latency windows."""

    def __init__(self, endpoints: list[dict]):
        self.errors = _summed(endpoints, "rejected") + _summed(endpoints, "timed_out")
        self.requests = _summed(endpoints, "served") + self.errors  # answered each second, an error or not
        self.asked_by = np.concatenate([[0.0], np.cumsum(self.requests)])
        self.failed_by = np.concatenate([[0.0], np.cumsum(self.errors)])
        self.windows = _windows(endpoints)
        self.p95 = {w: percentile(h.tolist(), Q) for w, h in self.windows.items()}
        self.buckets = len(endpoints[0]["hist"])

    def recovery(self, start_at: float, end_at: float) -> dict:
        seconds = len(self.requests)
        start, end = int(start_at), math.ceil(end_at)
        lo = max(0, start - BEFORE)
        asked = self.asked_by[start] - self.asked_by[lo]
        error_before = float((self.failed_by[start] - self.failed_by[lo]) / asked) if asked else 0.0
        before = np.zeros(self.buckets, dtype=np.int64)
        for w, h in self.windows.items():
            if lo <= w * WINDOW < start:
                before += h
        p95_before = percentile(before.tolist(), Q)
        bound = None if p95_before is None else P95_WITHIN * p95_before
        slow = {w for w, p95 in self.p95.items() if bound is not None and p95 is not None and p95 > bound}

        def errors_back(s: int) -> bool:
            asked = self.asked_by[s + HOLD] - self.asked_by[s]
            return not asked or (self.failed_by[s + HOLD] - self.failed_by[s]) / asked <= error_before + ERRORS_WITHIN

        def latency_back(s: int) -> bool:
            return not any(w in slow for w in range(math.ceil(s / WINDOW), math.ceil((s + HOLD) / WINDOW)))

        after = range(min(end, seconds), seconds - HOLD + 1)
        errors_at = next((s for s in after if errors_back(s)), None)
        latency_at = next((s for s in after if latency_back(s)), None)
        recovered_at = next((s for s in after if errors_back(s) and latency_back(s)), None)
        rates = self.errors[start:] / np.maximum(self.requests[start:], 1)
        return {
            "error_rate_before": error_before,
            "p95_before_s": p95_before,
            "worst_error_rate": float(rates.max()) if len(rates) else 0.0,
            "errors_back_after_s": _after(errors_at, end_at),
            "p95_back_after_s": _after(latency_at, end_at),
            "recovered_after_s": _after(recovered_at, end_at),
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
