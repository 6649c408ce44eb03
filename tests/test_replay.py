"""The scaled scenario: a share of the audience and stock on a compressed shopper clock."""

import math

import numpy as np
import pytest

from simulator import load_scenario
from simulator.analysis.replications import simulate
from simulator.model.demand import curves
from simulator.model.replay import load_replay
from simulator.scenario.scaling import scaled

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"


@pytest.fixture(scope="module")
def thursday():
    return load_scenario(THURSDAY)


def test_shopper_times_compress_and_server_times_do_not(thursday):
    r = scaled(thursday, scale=0.01, speedup=10)
    assert r.clock.horizon == pytest.approx(thursday.clock.horizon / 10)
    assert r.sales[0].open == pytest.approx(thursday.sales[0].open / 10)
    assert r.audience.behaviour.think_time.mean == pytest.approx(thursday.audience.behaviour.think_time.mean / 10)
    assert r.audience.behaviour.retry.backoff == pytest.approx(thursday.audience.behaviour.retry.backoff / 10)
    assert r.audience.behaviour.sold_out.keep_trying_for == pytest.approx(300 / 10)
    sku = r.inventory.skus["flagship-phone"]
    assert sku.payment_window == pytest.approx(90) and sku.stock == 10
    assert r.system == thursday.system  # service times and client timeouts belong to the system under test


def test_the_curve_keeps_its_shape_at_scale_and_speed(thursday):
    r = scaled(thursday, scale=0.01, speedup=10)
    real, fast = curves(thursday)[0], curves(r)[0]
    for t in (0.0, 600.0, 899.0, 900.0, 905.0, 1200.0, 2000.0):
        assert fast.expected_between(t / 10, (t + 10) / 10) == pytest.approx(
            0.01 * real.expected_between(t, t + 10), rel=1e-6
        )


@pytest.mark.parametrize("scale, speedup", [(0, 1), (1.5, 1), (0.1, 0.5), (0.1, math.inf)])
def test_impossible_replays_are_refused(thursday, scale, speedup):
    with pytest.raises(ValueError, match="scale|speedup"):
        scaled(thursday, scale, speedup)


def test_load_replay_draws_every_arrival_in_order_within_the_run_time():
    replay = load_replay(THURSDAY, 0.002, 10, run_time=60.0)
    times = np.array(replay.shoppers.time)
    assert len(times) > 0 and np.all(np.diff(times) >= 0) and times.max() < 60
    expected = curves(replay.scenario)[0].expected_between(0, 60)
    assert abs(len(times) - expected) < 5 * math.sqrt(expected)  # Poisson count


def test_load_replay_refuses_more_shoppers_than_the_cap():
    with pytest.raises(ValueError, match="cap is 10"):
        load_replay(THURSDAY, 0.01, 10, run_time=None, max_users=10)


def test_workers_share_the_shoppers_without_overlap():
    a = load_replay(THURSDAY, 0.002, 10, run_time=60.0)
    b = load_replay(THURSDAY, 0.002, 10, run_time=60.0)
    a.share, b.share = (0, 2), (1, 2)
    taken = [x for r in (a, b) for x in iter(r.take, None)]
    assert sorted(taken) == list(range(len(a.shoppers.time)))


def test_the_model_visited_by_a_load_tests_shoppers_sees_exactly_them_in_every_replication():
    # validate runs the model on the shoppers the load test sent: each replication's arrivals are theirs, second
    # by second, all accounted for; drawn shoppers differ from one replication to the next
    replay = load_replay(THURSDAY, 0.002, 3, run_time=60.0, overrides=("clock.start=19:59:30",))
    scenario = replay.scenario.model_copy(update={"clock": replay.scenario.clock.model_copy(update={"horizon": 60.0})})
    given = simulate(scenario, replications=3, shoppers=replay.shoppers).replications
    sent = np.histogram(replay.shoppers.time, np.arange(61))[0]
    assert sent.sum() > 300
    for rep in given:
        assert list(rep["shoppers"]["series"]["arrivals"][:60]) == list(sent)
        assert sum(rep["shoppers"]["outcomes"].values()) + rep["shoppers"]["in_system"] == sent.sum()
    drawn = simulate(scenario, replications=2).replications
    assert list(drawn[0]["shoppers"]["series"]["arrivals"]) != list(drawn[1]["shoppers"]["series"]["arrivals"])
