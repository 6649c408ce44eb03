"""Incidents: a pool losing workers is the smaller pool while it lasts, failing and slowing requests match
their closed forms, random incidents follow renewal theory, and the retry storm stays down after its outage
unless retries are bounded (a metastable failure and its cure)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import simulate
from simulator.analysis import load_plans, run_plans
from simulator.analysis.theory import mmc
from tests.conftest import load_text

STEADY = "scenarios/steady-state.yaml"
STORM = "scenarios/retry-storm.yaml"


def steady(tmp_path, incidents: str, *overrides: str):
    """The M/M/12 steady state with these incidents (YAML under `incidents:`)."""
    text = open(STEADY, encoding="utf-8").read() + "incidents:\n" + incidents
    return load_text(tmp_path, text, *overrides)


def test_a_pool_that_loses_half_its_workers_is_the_smaller_pool_while_it_lasts(tmp_path):
    # from the start to past the horizon: every request meets 6 workers, exactly as a pool of 6
    light = ("audience.size=14400", "clock.horizon=1h")  # 4 a second: 67% of 6 workers
    hit = steady(tmp_path, "  half:\n    pool: web\n    at: '+0s'\n    lasts: 2h\n    lose: 0.5\n", *light)
    a = simulate(hit, replications=1).replications[0]
    six = simulate(load_text(tmp_path, open(STEADY).read(), *light, "system.pools.web.workers=6"), replications=1)
    twelve = simulate(load_text(tmp_path, open(STEADY).read(), *light), replications=1)
    assert a["endpoints"] == six.replications[0]["endpoints"]  # the same requests, waits and answers
    assert a["endpoints"] != twelve.replications[0]["endpoints"]  # and not those of the 12 it had
    assert a["incidents"] == [
        {"incident": "half", "what": "pool web loses 50% of its workers", "cause": "scheduled", "start": 0.0,
         "end": 7200.0, "endpoints": ["product_page"]}
    ]  # fmt: skip


def test_recovery_after_losing_half_the_workers_takes_the_fluid_drain_time(tmp_path):
    # 10 a second on 12 workers of 1 s, 6 of them down for 2 minutes: a backlog of (10 - 6) x 120 = 480 requests
    # builds, then drains at 12 - 10 = 2 a second: 240 s (the fluid approximation of the queue)
    half = "  half:\n    pool: web\n    at: '00:10'\n    lasts: 2m\n    lose: 0.5\n"
    scenario = steady(tmp_path, half, "clock.horizon=30m", "audience.size=18000")
    summary = simulate(scenario, replications=4, jobs=2).summary
    log = summary["incident_log"]
    assert [i["recovered"] for i in log] == [True] * 4 and summary["incidents"]["not_recovered"]["mean"] == 0
    recovered = np.mean([i["recovered_after_s"] for i in log])
    assert 0.6 * 240 <= recovered <= 1.4 * 240, [i["recovered_after_s"] for i in log]
    assert all(i["error_rate_before"] == 0 and i["worst_error_rate"] == 0 for i in log)  # no timeout: only waits
    assert all(i["errors_back_after_s"] == 0 and i["p95_back_after_s"] == i["recovered_after_s"] for i in log)


def test_a_share_failed_at_once_is_that_share_of_requests_and_costs_no_work(tmp_path):
    scenario = steady(tmp_path, "  flaky:\n    endpoint: product_page\n    at: '+0s'\n    lasts: 2h\n    fail: 0.3\n")
    summary = simulate(scenario, replications=1).summary
    page, pool = summary["endpoints"]["product_page"], summary["pools"]["web"]
    n, failed = page["requests"]["mean"], page["rejected"]["mean"]
    assert abs(failed - 0.3 * n) < 4 * math.sqrt(n * 0.3 * 0.7), (failed, n)  # binomial, 4 sigma
    assert abs(pool["utilisation"]["mean"] - 0.7 * 10 / 12) < 0.03  # only the others reach a worker


def test_a_slowdown_multiplies_service_and_the_pool_queues_as_erlang_c_says(tmp_path):
    light = ("audience.size=28800", "clock.horizon=2h")  # 4 a second, 2 s each once slowed: 8 erlangs on 12
    scenario = steady(tmp_path, "  slow:\n    pool: web\n    at: '+0s'\n    lasts: 3h\n    slow: 2\n", *light)
    pool = simulate(scenario, replications=4, jobs=2).summary["pools"]["web"]
    theory = mmc(4.0, 0.5, 12)
    assert pool["mean_wait"]["ci95"][0] <= theory.mean_wait <= pool["mean_wait"]["ci95"][1], pool["mean_wait"]
    assert abs(pool["utilisation"]["mean"] - theory.utilisation) < 0.02


def test_random_incidents_are_down_the_share_renewal_theory_gives_and_the_same_for_every_plan(tmp_path):
    # up exp(5m), down exp(1m), alternating: down 1 / (5 + 1) of the time in the long run
    text = open(STEADY).read() + (
        "incidents:\n  crash:\n    pool: web\n    every: exp(5m)\n    repair: exp(1m)\n    lose: 1\n"
        "plans:\n  more:\n    set:\n      system.pools.web.workers: 24\n"
    )
    (tmp_path / "random.yaml").write_text(text)
    scenarios = load_plans(tmp_path / "random.yaml", overrides=["clock.horizon=100h", "audience.size=100"])
    comparison = run_plans(scenarios, replications=2)
    logs = {name: result.replications[0]["incidents"] for name, result in comparison.results.items()}
    assert logs["baseline"] == logs["more"] and len(logs["baseline"]) > 500  # common random numbers
    horizon = 100 * 3600
    for rep in comparison.baseline.replications:
        down = sum(min(i["end"], horizon) - i["start"] for i in rep["incidents"])
        assert abs(down / horizon - 1 / 6) < 0.03, down / horizon
        starts = [i["start"] for i in rep["incidents"]]
        assert all(i["end"] <= s for i, s in zip(rep["incidents"], starts[1:]))  # one after another


@pytest.mark.slow  # four plans of a 30-minute storm, 4 replications each
def test_a_retry_storm_stays_down_after_its_outage_unless_retries_are_bounded_or_entry_queued():
    comparison = run_plans(load_plans(STORM), replications=4, jobs=2)
    verdicts = {
        name: [(i["recovered"], i["recovered_after_s"]) for i in result.summary["incident_log"]]
        for name, result in comparison.results.items()
    }
    assert verdicts["baseline"] == [(False, None)] * 4, verdicts  # the cause gone at 00:07, still down at 00:30
    for plan in ("bounded-retries", "no-retries"):
        assert all(ok and after < 60 for ok, after in verdicts[plan]), verdicts  # back within a minute
    # queued entry keeps the aggressive retries but caps the shoppers inside: back once its queue is through
    assert all(ok and after < 600 for ok, after in verdicts["waiting-room"]), verdicts
    before = [i["error_rate_before"] for i in comparison.baseline.summary["incident_log"]]
    assert max(before) < 0.1  # the baseline was healthy before the outage: the storm is the outage's doing


def test_an_incident_on_a_signal_starts_once_when_it_crosses_its_bound(tmp_path):
    # half the workers lost at 00:10 lets the queue grow by about 4 a second; a crash waits for it to pass 50
    # on average over 5 s, then takes the whole pool down for a minute, once
    scenario = steady(
        tmp_path,
        "  half:\n    pool: web\n    at: '00:10'\n    lasts: 10m\n    lose: 0.5\n"
        "  crash:\n    pool: web\n    on: {queue: {pool: web, above: 50, window: 5s}}\n    lasts: 1m\n    lose: 1\n",
        "clock.horizon=30m",
        "audience.size=18000",
    )
    for rep in simulate(scenario, replications=3).replications:
        crash = [i for i in rep["incidents"] if i["incident"] == "crash"]
        assert len(crash) == 1 and "web queue" in crash[0]["cause"] and "above 50" in crash[0]["cause"]
        assert 600 < crash[0]["start"] <= 600 + 50 / 4 + 30, crash[0]  # after the half, before 50 / 4 s and more
        assert crash[0]["end"] == crash[0]["start"] + 60
