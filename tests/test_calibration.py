"""Calibration against a known system: a FIFO queue with c workers, simulated here as the oracle."""

import csv
import dataclasses
import heapq
import math
from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario
from simulator.analysis.calibration import (
    NOISE_SDS,
    UNLIMITED_WORKERS,
    Requests,
    Row,
    Validation,
    calibrate,
    fit_connections,
    fit_service,
    fit_workers,
    held_across_the_loop,
    read_requests,
    replayed_shoppers,
    run_to_run,
    shared_cores,
    transport_times,
)
from simulator.analysis.loadtest import LoadTestRun
from simulator.distributions import Distribution, parse_distribution
from simulator.engine.recorders import N_BUCKETS, Latencies, draw, percentile
from simulator.model import load_replay
from simulator.output.validation_report import write_overlay

STEADY = "scenarios/steady-state.yaml"
THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"


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


STRUCTURED = ["step", "sent_s", "client_ms", "server_wait_ms", "server_ms", "status"] + [
    "store_ms",
    "store_wait_ms",
    "db_ms",
    "process",
    "process_cpu_ms",
]
"""requests.csv's columns from a target that sends its store's phases and its processes' CPU clocks."""


def write_structured(directory, processes: int = 1, n: int = 2000, seed: int = 7):
    """A server of known structure at light load: per request, a common 0.3 ms of CPU (HTTP, framework)
    plus the endpoint's own handler CPU (buy 0.2 ms, product page 0.5 ms) and its store work (0.1 ms and
    0.4 ms on the store's thread), served at once; each process also spends 1% of its core idle (timers).
    Each answer carries its process's CPU clock."""
    rng = np.random.default_rng(seed)
    own = {"buy": (0.0002, 0.0001), "product_page": (0.0005, 0.0004)}
    clock = dict.fromkeys(range(processes), 1.0)
    sent = np.cumsum(rng.exponential(0.05, n))  # Poisson arrivals: the idle CPU grows with time, not requests
    with open(directory / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STRUCTURED)
        for i in range(n):
            step = "buy" if rng.random() < 0.7 else "product_page"
            handler, db = own[step]
            pid = i % processes
            gap = sent[i] - sent[i - processes] if i >= processes else 0.0  # since this process's last answer
            clock[pid] += 0.0003 + handler + db + 0.01 * gap
            app = handler + db + 0.00005  # the store's time: its thread's work and a queue of 50 us
            w.writerow(
                [
                    step,
                    sent[i],
                    (app + 0.0005) * 1000,
                    0.0,
                    app * 1000,
                    200,
                    (db + 0.00005) * 1000,
                    0.05,
                    db * 1000,
                    1000 + pid,
                    clock[pid] * 1000,
                ]
            )


@pytest.mark.parametrize("processes", [1, 2])
def test_structure_is_read_from_the_processes_cpu_clocks_and_the_store_phases(tmp_path, processes):
    write_structured(tmp_path, processes)
    scenario = load_scenario(THURSDAY)
    overlay, notes = calibrate(tmp_path, scenario, structure=True)
    assert overlay["system.pools.server.processes"] == processes
    assert overlay["system.connections.store.size"] == UNLIMITED_WORKERS  # at light load none queued for one
    assert any("no request queued for a connection" in n for n in notes)
    # each endpoint's CPU: the common 0.3 ms plus its own handler and store work
    buy, page = (parse_distribution(overlay[f"system.endpoints.{s}.cpu"]) for s in ("buy", "product_page"))
    assert buy.mean == pytest.approx(0.0006, rel=0.01) and page.mean == pytest.approx(0.0012, rel=0.01)
    assert overlay["system.pools.server.cpu_order"] == "fifo"  # an event loop runs ready work in turn
    assert "1.0% of a core when idle" in notes[0]
    assert parse_distribution(overlay["system.endpoints.product_page.db"]).mean == pytest.approx(0.0004, rel=0.01)
    assert overlay["system.endpoints.buy.connection"] == "store" and overlay["system.endpoints.buy.pool"] == "server"
    assert "bottleneck: the CPU" in notes[-1]


@pytest.mark.parametrize("connections", [1, 4, 64])
def test_the_stores_connections_are_counted_where_requests_queued_for_one(connections):
    # a surge queueing for `connections` connections held 2 ms (first come, first served), then a light load
    rng = np.random.default_rng(connections)
    sent = np.sort(np.concatenate([rng.uniform(0, 1, 600 * connections), rng.uniform(1, 30, 500)]))
    free = [0.0] * connections
    wait, db = np.zeros(len(sent)), rng.uniform(0.0015, 0.0025, len(sent))
    for i, t in enumerate(sent):
        start = max(t, heapq.heappop(free))
        wait[i] = start - t
        heapq.heappush(free, start + db[i])
    nan = np.full(len(sent), np.nan)
    app = wait + db
    r = Requests(sent, app, np.zeros(len(sent)), app, np.ones(len(sent), bool), app, wait, db, nan, nan, nan)
    assert fit_connections({"buy": r}, ["buy"]) == pytest.approx(connections, rel=0.1)
    assert fit_connections({"buy": r.where(sent > 1.5)}, ["buy"]) is None  # never queued: no limit to read


def test_a_connection_held_while_its_request_waits_for_the_event_loop_is_told_from_a_store_at_work():
    rng = np.random.default_rng(5)
    quick = rng.uniform(0.0002, 0.0005, 1000)
    assert not held_across_the_loop(quick)  # SQLite's thread: its work alone, whatever the load
    assert not held_across_the_loop(quick + 0.005)  # a hot row: held long, but as long at every load
    waits = np.concatenate([quick[:600], quick[600:] + rng.uniform(0.05, 0.3, 400)])  # the loop's queue in 40%
    assert held_across_the_loop(waits)  # Redis's client: the reply waits for the loop, the connection taken


def test_structure_without_cpu_clocks_is_refused_and_by_default_service_times_are_fitted(tmp_path):
    write_structured(tmp_path)
    overlay, _ = calibrate(tmp_path, load_scenario(THURSDAY))
    assert "system.pools.server.processes" not in overlay and "system.endpoints.buy.service" in overlay
    sent, wait, app = fifo(8.0, 4, Distribution("exp", (0.4,)), 600)
    write_requests(tmp_path, "product_page", sent, wait, app)
    with pytest.raises(ValueError, match="sent no CPU clocks"):
        calibrate(tmp_path, load_scenario(STEADY), structure=True)


def test_seconds_the_load_generator_ran_saturated_are_counted_from_its_cpu_samples(tmp_path):
    from simulator.analysis.loadtest import GENERATOR_CPU, SAMPLE_EVERY, saturated_seconds

    assert saturated_seconds(tmp_path) is None  # not sampled: nothing is claimed
    with open(tmp_path / GENERATOR_CPU, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["elapsed_s", "busiest_process_cpu"])
        w.writerows([(1.0, 0.2), (1.5, 0.95), (2.0, 1.01), (2.5, 0.89), (3.0, 0.9)])
    assert saturated_seconds(tmp_path) == 3 * SAMPLE_EVERY  # 0.95, 1.01 and 0.9: at or above 90% of a core


def test_a_truncated_requests_file_is_named_at_its_line(tmp_path):
    sent, wait, app = fifo(8.0, 4, Distribution("exp", (0.4,)), 60)
    write_requests(tmp_path, "product_page", sent, wait, app)
    text = (tmp_path / "requests.csv").read_text()
    (tmp_path / "requests.csv").write_text(text[: len(text) // 2].rsplit(",", 2)[0] + "\n")  # cut mid-row
    lines = (tmp_path / "requests.csv").read_text().count("\n")
    with pytest.raises(ValueError, match=rf"requests.csv:{lines}: a request row that cannot be read"):
        read_requests(tmp_path, load_scenario(STEADY))


def test_answers_without_server_timing_are_fitted_from_client_times_and_said_so(tmp_path):
    sent, wait, app = fifo(8.0, 4, Distribution("exp", (0.4,)), 600)
    write_requests(tmp_path, "product_page", sent, wait, app)
    with open(tmp_path / "requests.csv", "a", newline="") as f:
        csv.writer(f).writerows([["product_page", 601 + i, 400.0, "", "", 200] for i in range(30)])
    _, notes = calibrate(tmp_path, load_scenario(STEADY))
    assert any("30 answers carried no Server-Timing" in n for n in notes)


def test_a_load_test_of_another_scenario_is_refused(tmp_path):
    import json

    from simulator.analysis.calibration import measured_scenario
    from simulator.analysis.loadtest import META, LoadTestRun

    run = LoadTestRun(THURSDAY, "http://127.0.0.1:9", 0.01, 30.0, 60.0, 1, None, ())
    (tmp_path / META).write_text(json.dumps(run.__dict__, default=list))
    with pytest.raises(ValueError, match="replayed scenario 'xiaomi-thursday-flash'.*not 'steady-state'"):
        measured_scenario(STEADY, tmp_path)


def test_endpoints_always_asked_together_share_their_fitted_cpu_by_their_handlers_own_time(tmp_path):
    """Every shopper asks for a token and then the page (counts move together: the fit sees only their sum);
    the page's handler spends 1.2 ms more than the token's, so the sum is split 0.4 / 1.6 ms."""
    rng = np.random.default_rng(3)
    demand = {"token": (0.0004, 0.0001), "product_page": (0.0016, 0.0013), "buy": (0.0009, 0.0002)}
    clock, t = 1.0, 0.0
    with open(tmp_path / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STRUCTURED)
        for _ in range(1500):
            t += rng.exponential(0.05)
            for step in ("token", "product_page") if rng.random() < 0.4 else ("buy",):
                cpu, handler = demand[step]
                clock += cpu
                w.writerow(
                    [step, t, (handler + 0.0005) * 1000, 0.0, handler * 1000, 200, "", "", "", 1000, clock * 1000]
                )
    overlay, _ = calibrate(tmp_path, load_scenario(THURSDAY), structure=True)
    fitted = {s: parse_distribution(overlay[f"system.endpoints.{s}.cpu"]).mean for s in demand}
    assert fitted["token"] == pytest.approx(0.0004, rel=0.1)
    assert fitted["product_page"] == pytest.approx(0.0016, rel=0.05)
    assert fitted["buy"] == pytest.approx(0.0009, rel=0.05)


def test_counts_that_move_together_are_fitted_as_one_and_others_apart():
    from simulator.analysis.calibration import _inseparable

    rng = np.random.default_rng(5)
    pairs = rng.integers(5, 20, 60)
    counts = np.column_stack([pairs, pairs + rng.integers(0, 2, 60), rng.integers(5, 20, 60)])
    assert _inseparable(counts, [0, 1, 4]) == [[0, 1], [4]]


def test_cpu_demands_are_read_at_the_cores_reference_speed_and_validate_scales_them_to_the_run(tmp_path):
    """The core runs at full speed for 60% of the run, then twice slower: a buy's CPU is 0.6 ms then 1.2 ms,
    and the shop's reference work takes 1 ms then 2 ms. Calibrated at the median (1 ms), a buy is 0.6 ms;
    a run where the reference work took 1.5 ms, then 3 ms, gives the model's cores that pace second by second."""
    from simulator.analysis.calibration import at_measured_pace

    rng = np.random.default_rng(11)
    clock, t = 1.0, 0.0
    with open(tmp_path / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*STRUCTURED, "pace_ms"])
        for i in range(3000):
            t += rng.exponential(0.02)
            slower = 1.0 if i < 1800 else 2.0
            clock += rng.gamma(4.0, 0.0006 * slower / 4)
            w.writerow(["buy", t, 1.0, 0.0, 0.5, 200, "", "", "", 1000, clock * 1000, slower])
    scenario = load_scenario(THURSDAY)
    overlay, _ = calibrate(tmp_path, scenario, structure=True)
    assert parse_distribution(overlay["system.pools.server.cpu_reference"]).mean == pytest.approx(0.001)
    assert parse_distribution(overlay["system.endpoints.buy.cpu"]).mean == pytest.approx(0.0006, rel=0.05)

    calibrated = load_scenario(
        THURSDAY,
        [f"{key}={value}" for key, value in overlay.items() if value is not None and "token" not in key],
    )
    later = read_requests(tmp_path, calibrated)
    later["buy"].pace[:] = np.where(later["buy"].sent < 40.0, 0.0015, 0.003)  # another run: 1.5 ms, then 3 ms
    run, slower = at_measured_pace(calibrated, later)
    pace = run.system.pools["server"].cpu_pace
    assert slower == pytest.approx(1.5) and pace[5] == pytest.approx(0.0015) and pace[50] == pytest.approx(0.003)
    assert len(pace) == math.ceil(calibrated.clock.horizon)
    later["buy"].pace[:] = np.nan  # a target that sends no pace: the model's cores keep their speed
    assert at_measured_pace(calibrated, later) == (calibrated, None)


def test_the_wake_up_a_request_pays_when_its_process_is_idle_is_told_apart_from_its_demand(tmp_path):
    """An event loop served first come, first served: a buy costs 0.6 ms of CPU, a page 1.2 ms, and a request
    that finds the loop idle 0.5 ms more. Bursts make about half of them find it busy."""
    rng = np.random.default_rng(17)
    free, clock, t = 0.0, 1.0, 0.0
    with open(tmp_path / "requests.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STRUCTURED)
        for i in range(6000):
            t += rng.exponential(0.0008 if (i // 50) % 2 else 0.03)  # bursts of 50 requests, then a quiet spell
            step = "buy" if rng.random() < 0.7 else "product_page"
            demand = {"buy": 0.0006, "product_page": 0.0012}[step] + (0.0005 if t >= free else 0.0)
            start = max(t, free)
            free = start + demand
            clock += demand
            w.writerow([step, t, (free - t) * 1000, 0.0, (free - start) * 1000, 200, "", "", "", 1000, clock * 1000])
    overlay, notes = calibrate(tmp_path, load_scenario(THURSDAY), structure=True)
    assert parse_distribution(overlay["system.pools.server.cpu_wake"]).mean == pytest.approx(0.0005, rel=0.1)
    assert parse_distribution(overlay["system.endpoints.buy.cpu"]).mean == pytest.approx(0.0006, rel=0.1)
    assert parse_distribution(overlay["system.endpoints.product_page.cpu"]).mean == pytest.approx(0.0012, rel=0.1)
    assert "more for one that finds its process idle" in notes[0]


def test_several_runs_are_fitted_as_one_each_with_its_own_clock_and_processes(tmp_path):
    from simulator.analysis.calibration import RUN_GAP, read_runs

    runs = [tmp_path / "a", tmp_path / "b"]
    for seed, run in enumerate(runs):
        run.mkdir()
        write_structured(run, processes=1, n=1000, seed=seed)  # both runs' process has the same id
    scenario = load_scenario(THURSDAY)
    merged = read_runs(runs, scenario)
    first = read_requests(runs[0], scenario)
    assert len(merged["buy"].sent) == len(first["buy"].sent) + len(read_requests(runs[1], scenario)["buy"].sent)
    first_end = max(float((r.sent + r.client).max()) for r in first.values())
    later = merged["buy"].sent[len(first["buy"].sent) :]
    assert later.min() >= first_end + RUN_GAP and len(np.unique(merged["buy"].process)) == 2
    overlay, _ = calibrate(runs, scenario, structure=True)
    assert overlay["system.pools.server.processes"] == 1  # one process in each run, not two
    assert parse_distribution(overlay["system.endpoints.buy.cpu"]).mean == pytest.approx(0.0006, rel=0.01)


def test_calibrating_runs_of_different_replays_together_is_refused(tmp_path):
    import json

    from click.testing import CliRunner

    from simulator.analysis.loadtest import META, LoadTestRun
    from simulator.cli import main

    for name, overrides in (("a", ()), ("b", ("audience.size=1k",))):
        (tmp_path / name).mkdir()
        write_structured(tmp_path / name)
        run = LoadTestRun(THURSDAY, "http://127.0.0.1:9", 0.01, 30.0, 60.0, 1, None, overrides)
        (tmp_path / name / META).write_text(json.dumps(run.__dict__, default=list))
    args = ["calibrate", "--structure", "--from", str(tmp_path / "a"), "--from", str(tmp_path / "b")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "calibrate runs of one replay together" in result.output
    assert not list(tmp_path.glob("*/calibration*.yaml"))  # nothing written
    result = CliRunner().invoke(main, [*args[:-2], "--from", str(tmp_path / "a")])
    assert result.exit_code == 0 and "overlay:" in result.output


def replications(served: list[float], answered_in: int | None = None) -> list[dict]:
    """Replications' records of one step: its answers, all in the time bucket `answered_in` (none: no times)."""
    hist = [0] * N_BUCKETS
    if answered_in is not None:
        hist[answered_in] = 100
    return [{"endpoints": {"buy": {"served": n, "hist": hist}}} for n in served]


def test_one_run_of_a_right_model_falls_within_its_run_to_run_noise_as_students_t_says():
    # a figure normal about 100 with sd 20; five replications predict it, a sixth draw plays the measured run:
    # were the model right, |measured - mean| / (s * sqrt(1 + 1/5)) follows Student's t with 4 degrees of
    # freedom, within 2 about 88.4% of the time
    rng = np.random.default_rng(7)
    trials, inside = 4000, 0
    for _ in range(trials):
        served = rng.normal(100, 20, 6)
        noise = run_to_run("buy", replications(list(served[:5])), np.array([]), 1.0, rng)
        inside += abs(served[5] - served[:5].mean()) <= NOISE_SDS * noise["throughput"]
    assert 0.86 <= inside / trials <= 0.91
    alike = run_to_run("buy", replications([100] * 5, N_BUCKETS // 2), np.array([0.001]), 1.0, rng)
    assert alike["throughput"] == 0 and alike["p95"] < 0.001 * draw([0] * (N_BUCKETS // 2) + [1], 1, rng)[0]


def test_a_miss_within_the_models_own_noise_is_told_from_a_miss_and_does_not_fail_the_validation():
    row = Row("create_order", {"throughput": 2.5, "p95": 0.40}, {"throughput": 1.8, "p95": 0.41}, count=70)
    assert row.verdict("throughput", 0.15) == "FAIL" and row.verdict("p95", 0.15) == "ok"
    assert row.verdict("p50", 0.15) == ""  # shown, not judged
    row.noise = {"throughput": 0.4}  # replications spreading by 0.4/s: 0.7/s off is within two of them
    assert row.verdict("throughput", 0.15) == "noise"
    validation = Validation([row], 0.15, (100, 100.0), {}, {}, {})
    assert validation.passed
    row.noise = {"throughput": 0.3}
    assert row.verdict("throughput", 0.15) == "FAIL" and not validation.passed
    assert Row("pay", {"throughput": 0.1}, {"throughput": 1.0}, count=5).verdict("throughput", 0.15) == "(few)"


def crowded_processes(rate: float, processes: int = 2, crowd: float = 0.5) -> dict[str, Requests]:
    """Each process answering a request every 5 ms for 3 s, each request `crowd` s in the server (100 in
    service at once), its CPU clock advancing `rate` seconds a second; then 20 s of light load."""
    sent, client, pid, clock = [], [], [], []
    for p in range(processes):
        surge = np.arange(0.0, 3.0, 0.005) + p * 0.001
        light = np.arange(3.5, 23.5, 0.5) + p * 0.001
        for t, c in ((surge, crowd), (light, 0.002)):
            sent.append(t)
            client.append(np.full(len(t), c))
            pid.append(np.full(len(t), 100.0 + p))
        done = np.concatenate([surge + crowd, light + 0.002])
        clock.append(np.where(done <= 3.0 + crowd, done * rate, (3.0 + crowd) * rate + 0.01 * (done - 3.0 - crowd)))
    t, c = np.concatenate(sent), np.concatenate(client)
    nan = np.full(len(t), np.nan)
    r = Requests(t, c, np.zeros(len(t)), c, np.ones(len(t), bool), nan, nan, nan, np.concatenate(pid),
                 np.concatenate(clock), nan)  # fmt: skip
    return {"buy": r}


def test_processes_crowded_at_once_on_fewer_cores_show_it_in_their_summed_cpu_clocks():
    assert shared_cores(crowded_processes(rate=0.5)) == 1  # two event loops, each half a core: one core
    assert shared_cores(crowded_processes(rate=0.5, processes=4)) == 2  # four at half a core: two cores
    assert shared_cores(crowded_processes(rate=0.95)) is None  # a core each
    assert shared_cores(crowded_processes(rate=0.35)) is None  # 0.7 of a core: waiting elsewhere (the store)
    assert shared_cores(crowded_processes(rate=0.5, crowd=0.002)) is None  # never crowded: nothing to read


def test_validate_takes_the_load_tests_own_shoppers_only_where_it_sent_them_all():
    meta = LoadTestRun(THURSDAY, "http://127.0.0.1:8000", 0.002, 3.0, 60.0, overrides=("clock.start=19:59:30",))
    sent = load_replay(THURSDAY, 0.002, 3.0, 60.0, overrides=meta.overrides).shoppers
    assert replayed_shoppers(Path(THURSDAY), meta, len(sent.time)) == sent
    assert replayed_shoppers(Path(THURSDAY), meta, len(sent.time) - 3) is None  # some never started: draw them


def test_a_sync_workers_time_outside_its_app_is_read_from_its_cpu_clock():
    from simulator.analysis.calibration import Requests, worker_overhead

    n = 300
    rng = np.random.default_rng(3)
    app = rng.uniform(0.002, 0.02, n)
    clock = np.cumsum(app + 0.0015)  # each answer: its app time and 1.5 ms of the server's own work
    nan = np.full(n, np.nan)
    one = Requests(
        np.arange(n) * 0.1, app + 0.003, nan, app, np.ones(n, bool), nan, nan, nan, np.full(n, 7.0), clock, nan
    )
    assert worker_overhead({"buy": one}) == pytest.approx(0.0015)
    timed_wait = dataclasses.replace(one, wait=app * 0)
    assert worker_overhead({"buy": timed_wait}) == 0.0  # a target timing its own queueing: not a sync worker
