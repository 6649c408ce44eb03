"""Load tests end to end on 127.0.0.1: the reference shop, Locust replaying a scenario, validate.

Each run is bounded (--run-time, a few hundred shoppers at most) and stops by itself.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from simulator.analysis import calibration
from simulator.cli import main
from simulator.scenario.loader import load_scenario
from tests.conftest import ROOT, opened

pytestmark = pytest.mark.slow  # real server processes and load tests: the slow tier

THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"
REFERENCE = "scenarios/reference-shop.yaml"
STEPS = {"token", "product_page", "buy", "create_order", "pay"}
ALL = set(range(600))
"""Every status, 0 (no answer) included."""


def loadtest(scenario: str, host: str, out: Path, *args: str) -> Path:
    result = CliRunner(env=NARROW).invoke(main, ["loadtest", scenario, "--host", host, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    fits(result.output)
    return out / "loadtest"


NARROW = {"COLUMNS": "80"}


def fits(output: str) -> None:
    """The command's tables at 80 columns: no line wider, no cell cut (the paths it ends with aside)."""
    lines = [line for line in output.splitlines() if not line.startswith(("results: ", "report: "))]
    assert max(map(len, lines)) <= 80 and "…" not in output, output


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def count(requests: list[dict], step: str, status: set[int]) -> int:
    return sum(r["step"] == step and int(r["status"]) in status for r in requests)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_thursday_flash_replayed_sells_exactly_the_stock(store, start_shop, tmp_path, request):
    url = request.getfixturevalue("redis_url") if store == "redis" else f"sqlite:///{tmp_path / 'shop.sqlite'}"
    replay = ["--scale", "0.002", "--speedup", "60"]  # 600 shoppers, the open 15 s in, 40 units
    stock = "inventory.skus.flagship-phone.stock=20k"
    shop = start_shop(url, "--scenario", THURSDAY, *replay, "--set", stock)
    directory = loadtest(THURSDAY, shop.url, tmp_path / "run", *replay, "--run-time", "30s", "--set", stock)

    stats = {r["Name"]: r for r in rows(directory / "locust_stats.csv")}
    assert STEPS <= set(stats) and all(int(stats[s]["Request Count"]) > 0 for s in STEPS)
    assert rows(directory / "locust_stats_history.csv")  # Locust's CSVs parse
    requests = rows(directory / "requests.csv")
    # Locust's final counts include the last second's requests: the same as the locustfile recorded one by one
    assert {s: int(stats[s]["Request Count"]) for s in STEPS} == {s: count(requests, s, ALL) for s in STEPS}

    sku = shop.stats()["skus"]["flagship-phone"]
    assert count(requests, "create_order", {409}) > 0  # demand exceeded the stock: it sold out
    assert sku["stock"] == 40 and sku["available"] >= 0
    assert sku["reserved"] + sku["paid"] + sku["available"] == 40  # 0 oversold: held, sold or back on sale
    orders = sku["reserved"] + sku["paid"] + sku["expired"]
    assert orders - sku["expired"] == 40 - sku["available"]  # every unit that left is an order, paid or pending
    assert orders >= 40  # all the stock was taken (some of it again after an unpaid order expired)
    created = count(requests, "create_order", {201})
    lost_replies = count(requests, "create_order", {0})  # the client gave up; the server may have created it
    assert created <= orders <= created + lost_replies  # 0 lost orders: every order the shop made is accounted for
    paid = count(requests, "pay", {200})
    assert sku["paid"] >= paid - count(requests, "pay", {410}) and sku["paid"] <= paid + count(requests, "pay", {0})

    result = CliRunner(env=NARROW).invoke(main, ["validate", THURSDAY, "--from", str(directory), "-r", "2"])
    assert result.exit_code in (0, 1), result.output  # it runs and judges; capacity is not the point here
    fits(result.output)
    assert (directory / "validation.png").stat().st_size > 10_000
    try:  # its page in the browser, where there is one (tests/test_pages.py says why not)
        browser = request.getfixturevalue("browser")
    except pytest.skip.Exception:
        browser = None
    if browser is not None:
        seen = opened(browser, directory / "validation.html", f"validation-{store}")  # interactive, offline
        assert seen["errors"] == [] and seen["away"] == [] and seen["charts"] == 2 and seen["drawn"] == 2
    if store == "sqlite":
        two_runs_of_one_replay_validate_as_one(directory, tmp_path)


def two_runs_of_one_replay_validate_as_one(directory: Path, tmp_path: Path) -> None:
    """A run and its copy, measured as one: the same throughput (their mean) and times (pooled: each time
    twice) as the run alone, the model visited by the same shoppers; a run of another
    replay is refused."""
    again = tmp_path / "again"
    shutil.copytree(directory, again)
    one = calibration.validate(Path(THURSDAY), directory, replications=2)
    both = calibration.validate(Path(THURSDAY), [directory, again], replications=2)
    assert one.replayed and both.replayed and both.runs == 2
    for alone, pooled in zip(one.rows, both.rows):
        assert pooled.measured["throughput"] == pytest.approx(alone.measured["throughput"])
        assert list(both.measured_latency[pooled.step]) == list(np.repeat(one.measured_latency[alone.step], 2))
        assert pooled.predicted["throughput"] == pytest.approx(alone.predicted["throughput"])
    assert [s.measured for s in both.shares] == pytest.approx([s.measured for s in one.shares])
    meta = json.loads((again / "loadtest.json").read_text())
    (again / "loadtest.json").write_text(json.dumps({**meta, "scale": 0.004}))
    refused = CliRunner().invoke(main, ["validate", THURSDAY, "--from", str(directory), "--from", str(again)])
    assert refused.exit_code == 2 and "validate runs of one replay together" in refused.output, refused.output


@pytest.mark.parametrize("utilisation, audience", [(0.6, "18k"), (0.8, "24k")])
def test_validation_holds_against_a_shop_of_known_capacity(start_shop, tmp_path, utilisation, audience):
    """M/M/8: 8 slots and exponential 40 ms per request, as scenarios/reference-shop.yaml models it."""
    shop = start_shop(
        f"sqlite:///{tmp_path / 'shop.sqlite'}", "--scenario", REFERENCE, "--slots", "8", "--service", "all=exp(40ms)"
    )
    directory = loadtest(
        REFERENCE,
        shop.url,
        tmp_path / "run",
        "--scale",
        "1",
        "--speedup",
        "1",
        "--run-time",
        "60s",
        "--set",
        f"audience.size={audience}",
    )

    arrivals = rows(directory / "arrivals.csv")
    for w in range(0, 60, 10):  # Locust starts each shopper in the second the schedule says
        window = arrivals[w : w + 10]
        seen, scheduled = (sum(int(r[k]) for r in window) for k in ("arrivals", "scheduled"))
        expected = sum(float(r["expected"]) for r in window)
        assert abs(seen - scheduled) <= 0.1 * scheduled
        assert abs(seen - expected) <= max(0.1 * expected, 3 * expected**0.5)  # Poisson around the curve

    # calibrate, then validate: the fit must recover the known capacity, and the queueing the model
    # predicts from it (waits are not fitted) must match what the shop did. The shop's own service runs a
    # little slower than nominal on a busy machine, which at 80% shows in the waits.
    calibrated = CliRunner().invoke(main, ["calibrate", "--from", str(directory)])
    assert calibrated.exit_code == 0, calibrated.output
    fitted = load_scenario(REFERENCE, overlays=[directory / "calibration.yaml"])
    for step, endpoint in fitted.system.endpoints.items():  # the handler's own time comes on top of the 40 ms,
        assert 0.036 <= endpoint.service.mean <= 0.050, step  # more of it when the machine is busy
        assert endpoint.service.cv == pytest.approx(1.0, abs=0.15), step
    assert fitted.system.pools["shop"].workers == 8
    result = CliRunner().invoke(
        main,
        ["validate", REFERENCE, "--from", str(directory), "--overlay", str(directory / "calibration.yaml"), "-r", "20"],
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    run = CliRunner().invoke(
        main,
        [
            "run",
            REFERENCE,
            "--set",
            f"audience.size={audience}",
            "--no-figures",
            "--out",
            str(tmp_path / "model"),
            "-r",
            "1",
        ],
    )
    assert run.exit_code == 0, run.output
    summary = json.loads((tmp_path / "model" / "summary.json").read_text())
    assert summary["pools"]["shop"]["utilisation"]["mean"] == pytest.approx(utilisation, abs=0.03)  # as claimed


def test_locust_workers_share_the_shoppers(start_shop, tmp_path):
    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--slots", "8")
    directory = loadtest(
        REFERENCE, shop.url, tmp_path / "run", "--scale", "1", "--speedup", "1", "--run-time", "15s", "--workers", "2"
    )
    arrivals = rows(directory / "arrivals.csv")
    seen = sum(int(r["arrivals"]) for r in arrivals)
    scheduled = sum(int(r["scheduled"]) for r in arrivals)
    assert seen >= 0.8 * scheduled  # the workers' records reached the master
    requests = rows(directory / "requests.csv")
    assert {r["step"] for r in requests} == STEPS - {"token"}
    assert shop.stats()["orders"]["paid"] == count(requests, "pay", {200})


def test_loadtest_guards(tmp_path):
    runner = CliRunner()
    no_host = runner.invoke(main, ["loadtest", THURSDAY])
    assert no_host.exit_code == 2 and "--host" in no_host.output
    bad_host = runner.invoke(main, ["loadtest", THURSDAY, "--host", "127.0.0.1:8000", "--out", str(tmp_path / "a")])
    assert bad_host.exit_code == 2 and "base URL" in bad_host.output
    too_many = runner.invoke(
        main, ["loadtest", THURSDAY, "--host", "http://127.0.0.1:9", "--scale", "1", "--out", str(tmp_path / "b")]
    )
    assert too_many.exit_code == 2 and "--max-users" in too_many.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing started, nothing written


def test_ctrl_c_stops_the_load_test_cleanly_and_keeps_what_was_written(start_shop, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    shop = start_shop(f"sqlite:///{tmp_path / 'shop.sqlite'}", "--scenario", REFERENCE)
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from simulator.cli import main; main()",
            "loadtest",
            REFERENCE,
            "--host",
            shop.url,
            "--scale",
            "1",
            "--speedup",
            "1",
            "--run-time",
            "120s",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # as in a terminal
    time.sleep(12)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    directory = out / "loadtest"
    for name in ("locust_stats.csv", "locust_stats_history.csv", "report.html", "requests.csv", "arrivals.csv"):
        assert (directory / name).exists(), name
    requests = rows(directory / "requests.csv")
    assert requests and max(float(r["sent_s"]) for r in requests) < 60  # it stopped long before its run time


def test_a_shop_down_mid_run_gives_failed_requests_and_every_shopper_an_outcome(start_shop, tmp_path):
    store = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    replay = ["--scale", "0.002", "--speedup", "60"]  # 600 shoppers over 45 s, the open 15 s in
    shop = start_shop(store, "--scenario", THURSDAY, *replay)
    out = tmp_path / "run"
    args = ["loadtest", THURSDAY, "--host", shop.url, "--out", str(out), *replay, "--run-time", "52s"]
    test = subprocess.Popen([sys.executable, "-m", "simulator", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    time.sleep(13)
    shop.stop()  # down across the open
    down = time.monotonic()
    time.sleep(4)
    start_shop(store, "--scenario", THURSDAY, *replay, port=shop.port, fresh=False)
    up = time.monotonic()
    output, _ = test.communicate(timeout=120)
    assert test.returncode == 0, output
    directory = out / "loadtest"
    requests = rows(directory / "requests.csv")
    refused = [float(r["sent_s"]) for r in requests if int(r["status"]) == 0]
    assert len(refused) > 10 and min(refused) > 5 and max(refused) < 13 + (up - down) + 15  # the outage's
    assert any(int(r["status"]) == 200 and float(r["sent_s"]) > max(refused) for r in requests)  # and after
    arrived = sum(int(r["arrivals"]) for r in rows(directory / "arrivals.csv"))
    outcomes = json.loads((directory / "outcomes.json").read_text())["outcomes"]
    assert arrived > 500 and sum(outcomes.values()) == arrived, outcomes  # not one shopper lost
    assert outcomes.get("gave_up", 0) > 0
    assert "Traceback" not in (directory / "locust.log").read_text()


def test_a_load_test_no_request_of_which_is_answered_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["loadtest", REFERENCE, "--host", "http://127.0.0.1:9", "--scale", "0.01",
                                       "--run-time", "5s", "--out", str(tmp_path / "run")])  # fmt: skip
    assert result.exit_code == 2 and "got an answer but an error" in result.output, result.output
    statuses = {r["status"] for r in rows(tmp_path / "run" / "loadtest" / "requests.csv")}
    assert statuses == {"0"}  # each attempt recorded, refused
