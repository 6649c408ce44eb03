"""Conservation at every second of a flash sale, and reproducibility whatever the parallelism."""

import itertools

import pytest
from click.testing import CliRunner

from simulator import load_scenario, simulate
from simulator.cli import main

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"
SMALL = [
    "audience.size=20k",
    "clock.horizon=25m",
    "inventory.skus.flagship-phone.payment_window=2m",
    "system.pools.web.workers=25",
]  # an overloaded web pool: the surge must hit it


@pytest.fixture(scope="module")
def flash():
    return simulate(load_scenario(THURSDAY, SMALL), replications=1)


def column(result, name):
    header, rows = result.timeseries
    i = header.index(name)
    return [row[i] for row in rows]


def test_every_shopper_is_counted_once_at_every_second(flash):
    arrivals = list(itertools.accumulate(column(flash, "shoppers.arrivals")))
    finished = list(
        itertools.accumulate(
            map(sum, zip(*(column(flash, f"shoppers.{o}") for o in ("bought", "sold_out", "gave_up", "left_funnel"))))
        )
    )
    in_system = column(flash, "shoppers.in_system")
    for second in range(1, len(in_system)):
        assert arrivals[second - 1] - finished[second - 1] == in_system[second]
    assert min(in_system) >= 0


def test_requests_are_served_rejected_timed_out_or_in_flight_at_every_second(flash):
    for step in ("product_page", "buy", "create_order", "pay"):
        sums = {
            k: list(itertools.accumulate(column(flash, f"{step}.{k}")))
            for k in ("requests", "served", "rejected", "timed_out")
        }
        in_flight = column(flash, f"{step}.in_flight")
        for second in range(1, len(in_flight)):
            answered = sums["served"][second - 1] + sums["rejected"][second - 1] + sums["timed_out"][second - 1]
            assert sums["requests"][second - 1] - answered == in_flight[second]
        assert sums["requests"][-1] > 0


def test_stock_is_conserved_and_never_negative(flash):
    available, reserved, sold = (column(flash, f"stock.flagship-phone.{k}") for k in ("available", "reserved", "sold"))
    assert all(a + r + s == 1000 for a, r, s in zip(available, reserved, sold))
    assert min(available) >= 0 and min(reserved) >= 0
    summary = flash.summary
    assert summary["stock"]["flagship-phone"]["sold"]["mean"] <= 1000
    assert summary["shoppers"]["outcome_bought"]["mean"] <= summary["stock"]["flagship-phone"]["sold"]["mean"]


def test_retries_amplify_load_in_the_surge(flash):
    page = flash.summary["endpoints"]["product_page"]
    assert page["retries"]["mean"] > 0
    assert page["amplification"]["mean"] > 1.2
    assert flash.summary["error_rate"]["mean"] > 0.01


def test_expired_reservations_return_their_units(flash):
    stock = flash.summary["stock"]["flagship-phone"]
    orders = flash.summary["orders"]["mean"]
    assert orders == stock["sold"]["mean"] + stock["expired"]["mean"] + stock["reserved"]["mean"]


def test_same_seed_same_files_whatever_jobs(tmp_path):
    args = [
        "run",
        "scenarios/steady-state.yaml",
        "--set",
        "audience.size=4k",
        "--set",
        "clock.horizon=10m",
        "-r",
        "3",
        "--no-figures",
    ]
    runner = CliRunner()
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = runner.invoke(main, [*args, "--jobs", jobs, "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out)
    for name in ("summary.json", "timeseries.csv", "latency.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_different_seeds_differ():
    scenario = load_scenario("scenarios/steady-state.yaml", ["audience.size=4k", "clock.horizon=10m"])
    a = simulate(scenario, seed=1).summary["shoppers"]["arrivals"]["mean"]
    b = simulate(scenario, seed=2).summary["shoppers"]["arrivals"]["mean"]
    assert a != b
