"""Calibration against a known system: a FIFO queue with c workers, simulated here as the oracle."""

import csv
import heapq

import numpy as np
import pytest

from simulator import load_scenario
from simulator.analysis.calibration import (
    calibrate,
    fit_service,
    fit_workers,
    read_requests,
    transport_times,
)
from simulator.distributions import Distribution
from simulator.engine.recorders import Latencies, draw, percentile
from simulator.output.validation_report import write_overlay

STEADY = "scenarios/steady-state.yaml"


def fifo(rate: float, workers: int, service: Distribution, seconds: float, seed: int = 1):
    """Poisson arrivals at a FIFO pool of `workers`: send times, waits and service times (seconds)."""
    rng = np.random.default_rng(seed)
    sent = np.cumsum(rng.exponential(1 / rate, int(rate * seconds * 1.2)))
    sent = sent[sent < seconds]
    app = service.sample(rng, len(sent))
    free = [0.0] * workers
    wait = np.empty(len(sent))
    for i, (t, s) in enumerate(zip(sent, app)):
        start = max(t, heapq.heappop(free))
        wait[i] = start - t
        heapq.heappush(free, start + s)
    return sent, wait, app


def write_requests(directory, step, sent, wait, app, overhead=0.002):
    with open(directory / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "sent_s", "client_ms", "server_wait_ms", "server_ms", "status"])
        for t, q, s in zip(sent, wait, app):
            w.writerow([step, t, (q + s + overhead) * 1000, q * 1000, s * 1000, 200])


def test_fit_recovers_a_lognormal_service_time():
    truth = Distribution("lognormal", (0.04, 0.8))
    samples = truth.sample(np.random.default_rng(3), 5000)
    dist, ks = fit_service(samples, np.random.default_rng(4))
    assert dist.kind == "lognormal" and ks < 0.03
    assert dist.mean == pytest.approx(0.04, rel=0.05) and dist.cv == pytest.approx(0.8, rel=0.1)


def test_fit_prefers_gamma_for_gamma_samples():
    samples = Distribution("gamma", (0.02, 0.5)).sample(np.random.default_rng(5), 5000)
    dist, _ = fit_service(samples, np.random.default_rng(6))
    assert dist.kind == "gamma"


@pytest.mark.parametrize("workers", [4, 12])
def test_workers_are_read_where_the_pool_was_saturated(tmp_path, workers):
    service = Distribution("exp", (0.05,))
    sent, wait, app = fifo(rate=1.05 * workers / 0.05, workers=workers, service=service, seconds=60)
    write_requests(tmp_path, "product_page", sent, wait, app)
    scenario = load_scenario(STEADY)
    estimate, lower = fit_workers(read_requests(tmp_path, scenario), ["product_page"])
    assert estimate is not None and abs(estimate - workers) <= max(1, 0.1 * workers)


def test_an_unsaturated_pool_gives_only_a_lower_bound(tmp_path):
    sent, wait, app = fifo(rate=20, workers=8, service=Distribution("exp", (0.05,)), seconds=60)
    write_requests(tmp_path, "product_page", sent, wait, app)
    scenario = load_scenario(STEADY)
    estimate, lower = fit_workers(read_requests(tmp_path, scenario), ["product_page"])
    assert estimate is None and 1 <= lower <= 8


def test_calibrated_overlay_applies_to_the_scenario(tmp_path):
    sent, wait, app = fifo(rate=1.1 * 6 / 0.03, workers=6, service=Distribution("lognormal", (0.03, 0.6)), seconds=60)
    write_requests(tmp_path, "product_page", sent, wait, app, overhead=0.002)
    scenario = load_scenario(STEADY)
    overlay, notes = calibrate(tmp_path, scenario)
    path = tmp_path / "calibration.yaml"
    write_overlay(path, overlay, tmp_path, notes)
    fitted = load_scenario(STEADY, overlays=[path])
    pool = fitted.system.endpoints.product_page.pool
    assert abs(fitted.system.pools[pool].workers - 6) <= 1
    assert fitted.system.endpoints.product_page.service.mean == pytest.approx(0.03, rel=0.05)  # the worker's time


def test_transport_is_what_clients_waited_beyond_the_server_and_none_without_timing(tmp_path):
    scenario = load_scenario(STEADY)
    sent, wait, app = fifo(8.0, 12, Distribution("exp", (1.0,)), 600)
    write_requests(tmp_path, "product_page", sent, wait, app, overhead=0.003)
    transport = transport_times(read_requests(tmp_path, scenario)["product_page"])
    assert len(transport) == len(sent) and transport == pytest.approx(0.003, abs=1e-6)
    with open(tmp_path / "requests.csv", "a", newline="") as f:  # a target that sends no Server-Timing
        csv.writer(f).writerow(["buy", 1.0, 50.0, "", "", 200])
    assert len(transport_times(read_requests(tmp_path, scenario)["buy"])) == 0


def test_draws_from_a_histogram_read_back_its_percentiles():
    rng = np.random.default_rng(5)
    latency = rng.lognormal(np.log(0.05), 0.8, 50_000)
    recorder = Latencies(horizon=1.0)
    for t in latency:
        recorder.record(0.0, float(t))
    counts = recorder.histograms()["hist"]
    drawn = draw(counts, 200_000, rng)
    for q in (0.5, 0.95, 0.99):
        assert np.quantile(drawn, q) == pytest.approx(percentile(counts, q), rel=0.02)
        assert np.quantile(drawn, q) == pytest.approx(np.quantile(latency, q), rel=0.04)
