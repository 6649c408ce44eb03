"""A resource serving one request at a time, read from a throughput plateau that does not move with concurrency.

Where a target sends no phases, a lock (a hot row, a database's single writer, a single-threaded store)
still shows: while requests pile up inside the server, its completions stay at 1 / hold however many wait.
Over short windows where the server holds several requests at once, each endpoint's completions weighted
by its hold time fill the window (sum of completions x hold = window), and that stays true whether 5 or 300
requests are inside: a pool of workers would answer more as more are in service, until its workers are all
busy, and then its requests wait outside the time the server counts. The holds are the non-negative
least-squares solution of that equation, no hold longer than the endpoint's requests stay in the server when
alone (an endpoint that would need longer does not use the resource); the plateau is accepted only if the
work it explains fills the windows and does not grow with the requests in service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simulator.analysis.calibration import Requests

WINDOW = 0.1
"""Seconds per window: short enough that a surge's backlog spans many, long enough to hold several answers."""
CROWDED = 2.0
"""Requests in service on average over a window for it to count as piled up behind something."""
ALONE = 1.0
"""Fewer in service than this on average: a window whose requests ran (nearly) alone, to read their own time."""
MIN_WINDOWS = 20
"""Crowded windows needed to read a plateau (2 s of backlog at WINDOW)."""
GROWTH = (-0.3, 0.2)
"""How the work explained may change with the crowd, as an elasticity: log(busy ratio) / log(crowd ratio)
between the most and the least crowded half of the windows (medians: a window at a backlog's edge, or one the
server stalled in, is partly idle whatever holds it). Work one at a time does not grow with the crowd; a
pool's work grows as the crowd does. Read on stored runs: the reference shop with a 5 ms hot row
(tests/test_plateau.py), eight runs, -0.23 to 0.03. Its one process also parses the crowd's requests, time in
which the lock can sit idle, so the work can fall a little. The same shop as M/M/8 at 60% and 80% gave 0.38
and 0.44; the natural and django-oscar shops gave 0.66 to 1.08; workers that never queue gave about 1. A
fixed bound on the difference cannot part them: the hot row's differed by up to 23%, M/M/8's by 17-20%."""
FILLED = 0.8
"""The least share of the most crowded windows the holds must explain (1: the resource never idle). The
hot-row runs filled 82 to 102%."""
SPREAD = 1.5
"""The most crowded half must hold this many times the requests in service of the least crowded half."""
MIN_ANSWERS = 30
"""Answers an endpoint needs in the crowded windows for its hold to be read (else: taken as none)."""
WAITS_ALIKE = 0.25
"""An endpoint whose requests in the crowd stay in the server this share of the holders' time waits for it too."""
HELD_WITHIN = 1.2
"""A hold may exceed the median time its endpoint's requests spend in the server alone by this factor (noise)."""


@dataclass
class Plateau:
    """A one-at-a-time resource read from a plateau: each endpoint's hold on it and the evidence."""

    holds: dict[str, float]
    """Seconds one request of each endpoint holds it (0: too little to read, or it does not wait for it)."""
    users: list[str]
    """The endpoints whose requests wait for it: the one doing most of the work on it, and those whose time in
    the server grows with the crowd as its does (a hold, however small to read, taken in turn with it)."""
    alone: dict[str, np.ndarray]
    """Each endpoint's times in the server (seconds) in windows where requests ran (nearly) alone."""
    windows: int
    """Crowded windows the holds were read from."""
    in_service: tuple[float, float]
    """Mean requests in service in the least and the most crowded half of those windows."""
    busy: tuple[float, float]
    """The share of a window the holds explain (median), in the least and the most crowded half (1: saturated)."""

    def describe(self) -> str:
        """One line: the plateau, and the hold of each endpoint waiting for it."""
        holds = ", ".join(f"{s} {self.holds[s] * 1000:.2f} ms" for s in self.users)
        return (
            f"a resource serving one request at a time (a lock, a single writer, a single thread) capped the server: "
            f"over {self.windows} windows of {WINDOW * 1000:.0f} ms with {self.in_service[0]:.0f} to "
            f"{self.in_service[1]:.0f} requests in service on average, it stayed busy {self.busy[0]:.0%} and "
            f"{self.busy[1]:.0%} of the time; held per request (by those waiting for it): {holds}"
        )


def find_plateau(requests: dict[str, Requests], steps: list[str]) -> Plateau | None:
    """The one-at-a-time resource the endpoints' answers show a plateau on, or None where they show none."""
    intervals = {}
    for s in steps:
        r = requests[s]
        ok = np.isfinite(r.app) & r.answered
        start = r.sent[ok] + np.nan_to_num(r.wait[ok], nan=0.0)
        intervals[s] = (start, start + r.app[ok])
    if not any(len(start) for start, _ in intervals.values()):
        return None
    first = min(float(start.min()) for start, _ in intervals.values() if len(start))
    last = max(float(end.max()) for _, end in intervals.values() if len(end))
    n = int((last - first) / WINDOW) + 1
    edges = first + WINDOW * np.arange(n + 1)
    completions = np.zeros((n, len(steps)))
    in_service = np.zeros(n)
    for k, s in enumerate(steps):
        start, end = intervals[s]
        completions[:, k] = np.bincount(((end - first) / WINDOW).astype(int), minlength=n)[:n]
        in_service += overlap(start, end, edges) / WINDOW
    crowded = in_service >= CROWDED
    if crowded.sum() < MIN_WINDOWS:
        return None
    x, w = completions[crowded], in_service[crowded]
    started = [np.minimum(((intervals[s][0] - first) / WINDOW).astype(int), n - 1) for s in steps]
    alone = {s: (intervals[s][1] - intervals[s][0])[in_service[started[k]] < ALONE] for k, s in enumerate(steps)}
    holds = _bounded_holds(x, steps, alone)
    explained = x @ holds / WINDOW
    low = w <= np.median(w)
    high = ~low
    if not high.any() or w[high].mean() < SPREAD * w[low].mean():
        return None  # the crowd never grew: no telling a plateau from a steady load
    busy = (float(np.median(explained[low])), float(np.median(explained[high])))
    if min(busy) <= 0 or busy[1] < FILLED:
        return None  # the holds do not fill the windows: no plateau
    growth = math.log(busy[1] / busy[0]) / math.log(w[high].mean() / w[low].mean())
    if not GROWTH[0] <= growth <= GROWTH[1]:
        return None  # the work done grows (or falls) with the crowd: workers, not one at a time
    crowd = {s: (intervals[s][1] - intervals[s][0])[crowded[started[k]]] for k, s in enumerate(steps)}
    main = steps[int(np.argmax(holds * x.sum(axis=0)))]  # the endpoint doing most of the work on it
    users = [s for s in steps if s == main or _waits(crowd[s], crowd[main])]
    return Plateau(
        {s: float(holds[k]) if s in users else 0.0 for k, s in enumerate(steps)},
        users,
        alone,
        int(crowded.sum()),
        (float(w[low].mean()), float(w[high].mean())),
        busy,
    )


def _waits(times: np.ndarray, main: np.ndarray) -> bool:
    """Whether requests in the crowd stayed in the server about as long as the main holder's (they queued for it)."""
    return len(times) >= 10 and len(main) > 0 and np.median(times) >= WAITS_ALIKE * np.median(main)


def _bounded_holds(x: np.ndarray, steps: list[str], alone: dict[str, np.ndarray]) -> np.ndarray:
    """Holds >= 0 filling the windows, fitted over the endpoints answered often enough in them; an endpoint
    whose fitted hold exceeds its requests' time in the server alone does not use the resource: it is left
    out and the rest refitted."""
    fitted = [k for k in range(len(steps)) if x[:, k].sum() >= MIN_ANSWERS]
    holds = np.zeros(len(steps))
    while fitted:
        holds[:] = 0.0
        holds[fitted] = nonnegative_fit(x[:, fitted], np.full(len(x), WINDOW))
        over = [k for k in fitted if len(alone[steps[k]]) and holds[k] > HELD_WITHIN * np.median(alone[steps[k]])]
        if not over:
            break
        fitted.remove(max(over, key=lambda k: holds[k] / np.median(alone[steps[k]])))
    return holds


def overlap(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Seconds of the intervals [start, end) falling in each window between consecutive edges."""
    # time covered up to each edge, summed over intervals: sum(clip(edge - start, 0, end - start))
    order_s, order_e = np.sort(start), np.sort(end)
    cs, ce = np.concatenate([[0.0], np.cumsum(order_s)]), np.concatenate([[0.0], np.cumsum(order_e)])
    ks, ke = np.searchsorted(order_s, edges), np.searchsorted(order_e, edges)
    covered = (edges * ks - cs[ks]) - (edges * ke - ce[ke])
    return np.diff(covered)


def nonnegative_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient >= 0: the most negative one is fixed at 0 until none is left."""
    free = list(range(x.shape[1]))
    coef = np.zeros(x.shape[1])
    while free:
        solution, *_ = np.linalg.lstsq(x[:, free], y, rcond=None)
        if (solution >= 0).all():
            coef[free] = solution
            break
        free.pop(int(np.argmin(solution)))
    return coef
