"""Recorders: log-bucket histograms read back as percentiles, per-second series, and the snapshot figures of an
endpoint and a pool on a timeline worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.engine import Endpoint, Engine, Latencies, Pool, at, percentile, series
from simulator.engine.recorders import FLUSH, N_BUCKETS, PoolStats, bucket_bounds

WIDTH = 10 ** (1 / 40)
"""A bucket's upper bound over its lower: 40 buckets a decade, each about 5.9% wide."""


def test_buckets_are_forty_a_decade_from_ten_microseconds():
    assert bucket_bounds(0)[0] == pytest.approx(1e-5)
    assert bucket_bounds(40)[0] == pytest.approx(1e-4)
    assert bucket_bounds(200)[0] == pytest.approx(1.0)
    lo, hi = bucket_bounds(123)
    assert hi / lo == pytest.approx(WIDTH)
    assert bucket_bounds(N_BUCKETS - 1)[1] == pytest.approx(1e4)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99, 0.999])
def test_histogram_percentile_matches_numpy_within_a_bucket(q):
    rng = np.random.default_rng(11)
    samples = rng.lognormal(math.log(0.05), 1.0, 50_000)  # response times around 50 ms, a long tail
    latencies = Latencies(60.0)
    for k, latency in enumerate(samples.tolist()):
        latencies.record(k * 1e-3, latency)
    hist = latencies.histograms()["hist"]
    assert sum(hist) == len(samples)
    exact = float(np.percentile(samples, 100 * q))
    assert abs(percentile(hist, q) / exact - 1) < WIDTH - 1


def test_percentile_of_one_full_bucket_interpolates_geometrically():
    counts = [0] * N_BUCKETS
    counts[200] = 4  # four durations in [1 s, 1.059 s)
    lo, hi = bucket_bounds(200)
    assert percentile(counts, 0.5) == pytest.approx(lo * (hi / lo) ** 0.5)  # rank 2 of 4: the geometric middle
    assert percentile(counts, 0.25) == pytest.approx(lo * (hi / lo) ** 0.25)
    assert percentile(counts, 1.0) == pytest.approx(hi)
    assert percentile([0] * N_BUCKETS, 0.5) is None  # nothing recorded: no percentile


@pytest.mark.parametrize(("horizon", "length"), [(10.0, 11), (10.5, 12), (0.25, 2), (5400.0, 5401)])
def test_series_has_a_slot_per_second_of_the_horizon_and_one_for_its_end(horizon, length):
    assert series(horizon) == [0] * length


def test_latencies_bin_by_second_and_by_ten_second_window():
    latencies = Latencies(30.0)
    for now, latency in [(3.5, 0.1), (15.0, 0.2), (17.9, 2.0), (17.2, 0.01)]:
        latencies.record(now, latency)
    latencies.watch(0.15)
    assert latencies.s_served.sum() == 0  # buffered until flushed
    h = latencies.histograms()
    assert h["latency_sum"] == pytest.approx(2.31)
    assert {w: sum(c) for w, c in h["windows"].items()} == {0: 1, 1: 3}
    served = latencies.s_served.tolist()
    assert served[3] == 1 and served[15] == 1 and served[17] == 2 and sum(served) == 4
    slow = latencies.slow[0.15].tolist()
    assert slow[15] == 1 and slow[17] == 1 and sum(slow) == 2  # 0.2 s and 2 s are above 150 ms


def test_latencies_flush_on_their_own_when_the_buffer_fills():
    latencies = Latencies(10.0)
    for _ in range(FLUSH - 1):
        latencies.record(1.0, 0.5)
    assert len(latencies.latencies) == FLUSH - 1 and latencies.hist.sum() == 0
    latencies.record(1.0, 0.5)
    assert latencies.latencies == [] and latencies.hist.sum() == FLUSH and latencies.s_served[1] == FLUSH


def test_pool_stats_integrate_workers_piecewise_and_count_busy_workers_past_a_shrink():
    stats = PoolStats(10.0, 4)
    stats.resize(2.0, 6, busy=0)
    stats.resize(5.0, 2, busy=5)  # five busy, two workers from now
    stats.excess(6.0, 5)  # each busy worker past the count finishes in turn: 5 -> 4 -> 3 -> 2
    stats.excess(7.0, 4)
    stats.excess(8.0, 3)
    s = stats.snapshot(10.0, busy=2, in_pool=2)
    # 4 workers for 2 s, 6 for 3 s, 2 for 5 s = 36; past the count: 3 for 1 s, 2 for 1 s, 1 for 1 s = 6
    assert s["worker_seconds"] == 36 + 6
    assert (s["workers"], s["peak_workers"]) == (2, 6)


def test_endpoint_and_pool_snapshots_on_a_hand_worked_timeline():
    """One worker, queue of one, service 1 s, client timeout 1.5 s, horizon 5 s.

    At 0 a, b, c arrive: a is served 0 -> 1; b waits, is taken at 1 and would end at 2, past its deadline
    at 1.5, so its client times out and the work is wasted; c finds the queue full and is rejected.
    d arrives at 3.5 and is served to 4.5; e arrives at 4.75 and is still in service at the horizon.
    """
    env = Engine()
    pool = Pool(env, "web", 1, 1, False, 5.0)
    page = Endpoint("page", pool, lambda: 1.0, 1.5, 5.0)
    for t in (0.0, 0.0, 0.0, 3.5, 4.75):
        at(env, t, lambda _: page.call(None))
    env.run_until(5.0)
    e = page.stats.snapshot()
    assert (e["requests"], e["served"], e["rejected"], e["timed_out"]) == (5, 2, 1, 1)
    assert (e["wasted"], e["in_flight"], e["retries"], e["shed"]) == (1, 1, 0, 0)
    assert e["latency_sum"] == 2.0 and percentile(e["hist"], 0.5) == pytest.approx(1.0, rel=WIDTH - 1)
    assert e["series"] == {
        "requests": [3, 0, 0, 1, 1, 0],
        "served": [0, 1, 0, 0, 1, 0],
        "rejected": [1, 0, 0, 0, 0, 0],
        "timed_out": [0, 1, 0, 0, 0, 0],
        "retries": [0] * 6,
        "in_flight": [0] * 6,  # sampled each second by the replication, not by the endpoint
    }
    p = pool.stats.snapshot(5.0, pool.busy, pool.in_pool())
    assert (p["admitted"], p["started"], p["completed"], p["waited"], p["peak_queue"]) == (4, 4, 3, 1, 1)
    assert p["worker_seconds"] == 5.0 and p["wait_sum"] == 1.0
    assert p["busy_area"] == 1 + 1 + 1 + 0.25  # a, b (wasted), d, and e's first quarter second
    assert p["in_pool_area"] == 1 + 2 + 1 + 0.25  # b stays inside until its worker is done at 2
    assert p["sojourn_sum"] == 1 + 2 + 1
