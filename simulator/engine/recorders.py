"""Recorders: outcome counters, per-second series and latency histograms.

Recording sits on the hot path (every request, every shopper), so it is plain counters and list
increments; latencies go into log-bucket histograms, never lists. `snapshot()` methods turn a
recorder into plain data (dicts, lists of numbers) that pickles across processes and aggregates.
"""

from __future__ import annotations

import math

import numpy as np

# Latency buckets: 40 per decade from 10 us to 10^4 s (each ~6% wide, so percentiles are read to ~3%).
_PER_DECADE = 40
_LOG_MIN = math.log(1e-5)
_SCALE = _PER_DECADE / math.log(10)
N_BUCKETS = 9 * _PER_DECADE
WINDOW = 10.0
"""Seconds per window of the latency-over-time histograms."""
FLUSH = 4096
"""Responses buffered before binning: binning in numpy costs less than a logarithm per response."""


def bucket_bounds(b: int) -> tuple[float, float]:
    return math.exp(_LOG_MIN + b / _SCALE), math.exp(_LOG_MIN + (b + 1) / _SCALE)


def percentile(counts: list[int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram, interpolated geometrically inside its bucket."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for b, n in enumerate(counts):
        if n and seen + n >= rank:
            lo, hi = bucket_bounds(b)
            return lo * (hi / lo) ** ((rank - seen) / n)
        seen += n
    return bucket_bounds(len(counts) - 1)[1]


def draw(counts: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    """n durations drawn from a histogram, log-uniform inside a bucket as `percentile` reads it."""
    weights = np.asarray(counts, dtype=float)
    b = rng.choice(len(weights), size=n, p=weights / weights.sum())
    return np.exp(_LOG_MIN + (b + rng.random(n)) / _SCALE)


def series(horizon: float) -> list[int]:
    """A per-second counter series covering the horizon."""
    return [0] * (int(math.ceil(horizon)) + 1)


class Latencies:
    """Durations recorded as log-bucket histograms, overall and per window, and a per-second count.

    `slow` maps a bound to a per-second count of durations above it: a watched p99 reads it.
    A duration is buffered as its end in `answered` and its length in `latencies`, and binned a buffer
    at a time: `record` does it, and a hot caller appends to both itself, then calls `flush` once they
    hold FLUSH (a call less per duration).
    """

    __slots__ = ("latency_sum", "hist", "windows", "s_served", "slow", "answered", "latencies")

    def __init__(self, horizon: float):
        self.latency_sum = 0.0
        self.hist = np.zeros(N_BUCKETS, dtype=np.int64)
        self.windows: dict[int, np.ndarray] = {}  # window -> histogram, only for windows with responses
        self.s_served = np.zeros(len(series(horizon)), dtype=np.int64)
        self.slow: dict[float, np.ndarray] = {}
        self.answered: list[float] = []
        self.latencies: list[float] = []

    def record(self, now: float, latency: float) -> None:
        """One duration ending now."""
        self.answered.append(now)
        self.latencies.append(latency)
        if len(self.latencies) >= FLUSH:
            self.flush()

    def watch(self, bound: float) -> np.ndarray:
        """The per-second count of durations above `bound`, kept from now on."""
        return self.slow.setdefault(bound, np.zeros_like(self.s_served))

    def flush(self) -> None:
        """Bin the buffered durations into the histograms and the per-second series."""
        if not self.latencies:
            return
        now = np.array(self.answered)
        latency = np.array(self.latencies)
        self.answered.clear()
        self.latencies.clear()
        self.latency_sum += float(latency.sum())
        b = ((np.log(np.maximum(latency, 1e-5)) - _LOG_MIN) * _SCALE).astype(np.int64)
        np.clip(b, 0, N_BUCKETS - 1, out=b)
        self.hist += np.bincount(b, minlength=N_BUCKETS)
        seconds = now.astype(np.int64)
        first = int(seconds.min())
        span = int(seconds.max()) - first + 1
        windows, which = np.unique((now // WINDOW).astype(np.int64), return_inverse=True)
        per_window = np.bincount(which * N_BUCKETS + b, minlength=len(windows) * N_BUCKETS)  # every window at once
        for w, counts in zip(windows.tolist(), per_window.reshape(len(windows), N_BUCKETS)):
            kept = self.windows.get(w)
            if kept is None:
                self.windows[w] = counts.copy()
            else:
                kept += counts
        self.s_served[first : first + span] += np.bincount(seconds - first, minlength=span)
        for bound, counts in self.slow.items():
            counts[first : first + span] += np.bincount(seconds[latency > bound] - first, minlength=span)

    def histograms(self) -> dict:
        self.flush()
        return {
            "latency_sum": self.latency_sum,
            "hist": self.hist.tolist(),
            "windows": {w: counts.tolist() for w, counts in sorted(self.windows.items())},
        }


class EndpointStats(Latencies):
    """What clients saw of one endpoint: requests and how each ended, and response times."""

    __slots__ = (
        "rejected",
        "timed_out",
        "retries",
        "in_flight",
        "wasted",
        "shed",
        "s_requests",
        "s_rejected",
        "s_timed_out",
        "s_retries",
        "s_in_flight",
    )

    def __init__(self, horizon: float):
        super().__init__(horizon)
        self.rejected = self.timed_out = self.retries = self.in_flight = 0
        self.wasted = self.shed = 0
        self.s_requests = series(horizon)
        self.s_rejected = series(horizon)
        self.s_timed_out = series(horizon)
        self.s_retries = series(horizon)
        self.s_in_flight = series(horizon)

    def snapshot(self) -> dict:
        histograms = self.histograms()  # binning what is buffered: the served series is then complete
        return {
            "requests": sum(self.s_requests),
            "served": int(self.s_served.sum()),
            "rejected": self.rejected,
            "timed_out": self.timed_out,
            "retries": self.retries,
            "in_flight": self.in_flight,
            "wasted": self.wasted,
            "shed": self.shed,
            **histograms,
            "series": {
                "requests": self.s_requests,
                "served": self.s_served.tolist(),
                "rejected": self.s_rejected,
                "timed_out": self.s_timed_out,
                "retries": self.s_retries,
                "in_flight": self.s_in_flight,
            },
        }


class PoolStats:
    """What happened inside one pool: work done and time-averages for Little's law.

    Time integrals are kept as sums of instants (hot path: one addition per event, no update per state
    change). The busy-worker area is the sum of completion times less start times, the requests still
    in service counting until the horizon; the in-pool area is the sum of departure times less arrival
    times, those still inside counting until the horizon.
    """

    __slots__ = (
        "workers",
        "waited",
        "completed",
        "shed",
        "peak_queue",
        "sent_sum",
        "start_sum",
        "done_sum",
        "shed_sum",
        "left_sent_sum",
        "wait_sum",
        "s_queue",
        "s_busy",
        "s_workers",
        "peak_workers",
        "_resized",
        "_worker_area",
        "_excess_since",
        "_excess_area",
    )

    def __init__(self, horizon: float, workers: int):
        self.workers = self.peak_workers = workers
        self.waited = self.completed = self.shed = self.peak_queue = 0
        self.sent_sum = 0.0  # arrival times of the requests admitted
        self.start_sum = 0.0  # start times of the requests started
        self.done_sum = 0.0  # completion times of the requests completed
        self.shed_sum = 0.0  # times the requests shed were dropped
        self.left_sent_sum = 0.0  # arrival times of the requests that left (completed or shed)
        self.wait_sum = 0.0  # queue waits of the requests started
        self.s_queue = series(horizon)
        self.s_busy = series(horizon)
        self.s_workers = series(horizon)
        self._resized = 0.0
        self._worker_area = 0.0
        self._excess_since = 0.0
        self._excess_area = 0.0

    def resize(self, now: float, workers: int, busy: int) -> None:
        """The pool has `workers` from now on: worker-seconds are integrated piecewise."""
        self.excess(now, busy)
        self._worker_area += self.workers * (now - self._resized)
        self._resized = now
        self.workers = workers
        self.peak_workers = max(self.peak_workers, workers)

    def excess(self, now: float, busy: int) -> None:
        """Busy workers beyond the count (after a shrink, they finish their request) cost worker-time too:
        called whenever busy changes while above the count."""
        self._excess_area += max(0, busy - self.workers) * (now - self._excess_since)
        self._excess_since = now

    def snapshot(self, horizon: float, busy: int, in_pool: int) -> dict:
        """Figures at the horizon, given the workers busy and requests inside at that moment."""
        return {
            "workers": self.workers,
            "peak_workers": self.peak_workers,
            "worker_seconds": (
                self._worker_area
                + self.workers * (horizon - self._resized)
                + self._excess_area
                + max(0, busy - self.workers) * (horizon - self._excess_since)
            ),
            "admitted": self.completed + self.shed + in_pool,  # the others were rejected
            "waited": self.waited,
            "started": self.completed + busy,
            "wait_sum": self.wait_sum,
            "completed": self.completed,
            "shed": self.shed,
            "busy_area": self.done_sum - self.start_sum + busy * horizon,
            "in_pool_area": self.done_sum + self.shed_sum + in_pool * horizon - self.sent_sum,
            "sojourn_sum": self.done_sum + self.shed_sum - self.left_sent_sum,
            "peak_queue": self.peak_queue,
            "series": {"queue": self.s_queue, "busy": self.s_busy, "workers": self.s_workers},
        }
