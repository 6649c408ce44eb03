"""Sizing: the search finds the fewest that pass; server sizing of M/M/c equals theory; stock sizing is
exact under common random numbers; sizing is monotone in its targets; the command's exit codes."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from simulator import load_scenario
from simulator.analysis import theory
from simulator.analysis.replications import simulate
from simulator.analysis.search import Sizing, Unmet, search
from simulator.analysis.sizing import size, size_stock, units_needed, verify, with_stock
from simulator.analysis.staffing import cover, paid_hours
from simulator.cli import main
from tests.conftest import load_text

STEADY = ("clock.horizon=30m", "audience.size=18k", "replications=5")


def test_search_finds_every_smallest_passing_value_at_once():
    need = {"a": 37, "b": 5, "c": 400}
    runs = []

    def evaluate(config):
        runs.append(config)
        return {k: config[k] >= need[k] for k in config}

    assert search({"a": 30, "b": 9, "c": 350}, evaluate, 1, dict.fromkeys(need, 1000)) == need
    assert len(runs) <= 12  # the knobs share their runs


def test_search_reopens_a_knob_that_fails_with_the_others_at_their_answers():
    def evaluate(config):  # c needs more the more a lets through, as a downstream pool does
        return {"a": config["a"] >= 37, "c": config["c"] >= 400 + config["a"]}

    assert search({"a": 30, "c": 350}, evaluate, 1, {"a": 1000, "c": 10_000}) == {"a": 37, "c": 437}


def test_search_says_when_the_bound_is_not_enough():
    with pytest.raises(Unmet, match="a: not met even at the bound of 50"):
        search({"a": 10}, lambda config: {"a": config["a"] >= 80}, 1, {"a": 50})


def test_inconclusive_verdicts_move_nothing():
    calls = []

    def evaluate(config):
        calls.append(config)
        return {"a": None if len(calls) < 3 else config["a"] >= 7}

    assert search({"a": 10}, evaluate, 1, {"a": 100}) == {"a": 7}
    assert calls[0] == calls[1] == calls[2] == {"a": 10}


@pytest.mark.parametrize("bound, expected", [(5.5, 12), (8.0, 11)])
def test_server_sizing_of_a_stationary_pool_equals_theory(bound, expected):
    # M/M/c, lam 10/s, mean service 1 s; the p99 response-time bound decides c
    assert theory.servers_for_response(10, 1, bound, 0.99) == expected
    if bound == 5.5:  # a clear margin either side, so replications can tell
        assert theory.mmc(10, 1, expected - 1).response_tail(bound) > 0.018
        assert theory.mmc(10, 1, expected).response_tail(bound) < 0.006
    scenario = load_scenario("scenarios/steady-state.yaml", (*STEADY, f"targets.latency.product_page.p99={bound}s"))
    found = size(scenario, "servers", jobs=2)
    assert not found.unmet
    assert found.scenario.system.pools["web"].workers == expected
    assert [r["sized"] for r in found.rows] == [expected]
    assert len(found.runs) <= 12


@pytest.mark.slow
def test_a_tighter_target_never_gets_fewer_servers():
    sized = []
    for bound in ("12s", "6s", "4.5s"):
        scenario = load_scenario("scenarios/steady-state.yaml", (*STEADY, f"targets.latency.product_page.p99={bound}"))
        sized.append(size(scenario, "servers", jobs=2).scenario.system.pools["web"].workers)
    assert sized == sorted(sized) and sized[0] < sized[-1]


STOCK_SALE = """
name: tail-sale
clock: {start: "10:00", horizon: 2h}
seed: 11
replications: 20
audience:
  size: 1500
  arrivals: {shape: flat}
  uncertainty: {size_cv: 0.25, conversion_cv: 0.15}
  behaviour:
    funnel: {buy: 0.4, pay: 0.9, pay_success: 1}
sales:
  - {name: tail, open: "10:00", sku: phone, price: 1999}
system:
  pools: {web: {workers: 50}}
  endpoints:
    product_page: {pool: web, service: 10ms}
    buy: {pool: web, service: 10ms}
    create_order: {pool: web, service: 10ms}
    pay: {pool: web, service: 10ms}
inventory:
  skus: {phone: {stock: 500, payment_window: 10m}}
targets:
  stock: {stockout_probability: 10%}
contingency:
  restock:
    when: {stock: {sku: phone, below: 100}}
    after: 0s
    do: {transfer: {sku: phone, units: 100, lead: 20m}}
"""


@pytest.mark.slow
def test_stock_sizing_is_exact_under_common_random_numbers(tmp_path):
    sizing = Sizing()
    stock = size_stock(load_text(tmp_path, STOCK_SALE), lambda s: simulate(s, jobs=2), sizing)["phone"]
    row = sizing.rows[0]
    assert row["expected_demand"] < stock <= row["need_max"]
    assert row["safety_stock"] == pytest.approx(stock - row["expected_demand"])
    assert row["reorder_point"] > 0 and row["transfer_time"] == 1200
    # with S units a replication runs out exactly when its peak of units held reached S (sizing watches
    # no stock level: a rule acting on one would change the run it is sizing for)
    scenario = load_text(tmp_path, STOCK_SALE).model_copy(update={"contingency": {}})
    unlimited = simulate(with_stock(scenario, {"phone": 10**9}), jobs=2)
    peaks = np.array([rep["stock"]["phone"]["peak_out"][0] for rep in unlimited.replications])  # no quota
    for units in (stock - 1, stock, stock + 10):
        run = simulate(with_stock(scenario, {"phone": units}), jobs=2)
        out = np.array([rep["stock"]["phone"]["sold_out_at"] is not None for rep in run.replications])
        assert (out == (peaks >= units)).all()
    # the fewest: one unit less runs out in more than 10% of the replications
    assert (peaks >= stock).mean() <= 0.10 < (peaks >= stock - 1).mean()
    checks = verify(sizing, simulate(with_stock(scenario, {"phone": stock}), jobs=2), "stock")
    assert checks and all(c["met"] for c in checks)


def test_units_needed_keeps_every_bucket_from_emptying():
    assert units_needed([99, 0, 0], 0.0, 0) == 100  # no quota: the peak held, plus one
    s = units_needed([70, 40, 5], 0.3, 10)  # 30% for members, 10 set aside
    assert s - round(0.3 * s) - 10 > 70 and round(0.3 * s) > 40
    assert not (s - 1 - round(0.3 * (s - 1)) - 10 > 70 and round(0.3 * (s - 1)) > 40)


def test_stock_sized_with_a_member_quota_keeps_every_tier_served(tmp_path):
    members = (
        "audience.segments={member: {share: 0.4}, guest: {share: 0.6}}",
        "sales[0].members={segments: [member], quota: 30%}",
        "replications=10",
    )
    scenario = load_text(tmp_path, STOCK_SALE, *members)
    sizing = Sizing()
    stock = size_stock(scenario, lambda s: simulate(s, jobs=2), sizing)["phone"]
    run = simulate(with_stock(scenario.model_copy(update={"contingency": {}}), {"phone": stock}), jobs=2)
    refused = [rep["stock"]["phone"]["refused_at"] is not None for rep in run.replications]
    assert np.mean(refused) <= 0.10  # sized on the same crowd: at most the share allowed runs out
    checks = verify(sizing, run, "stock")
    assert checks and all(c["met"] for c in checks)


def test_demand_uncertainty_draws_a_different_audience_per_replication(tmp_path):
    scenario = load_text(tmp_path, STOCK_SALE)
    sizes = [rep["audience"] for rep in simulate(scenario, replications=8).replications]
    assert len(set(sizes)) == 8 and 800 < np.mean(sizes) < 2200
    fixed = load_text(tmp_path, STOCK_SALE, "audience.uncertainty.size_cv=0", "audience.uncertainty.conversion_cv=0")
    assert {rep["audience"] for rep in simulate(fixed, replications=3).replications} == {1500}


def test_size_command_writes_its_tables_and_verifies(tmp_path):
    out = tmp_path / "size"
    result = CliRunner().invoke(
        main,
        [
            "size",
            "scenarios/steady-state.yaml",
            "--what",
            "servers",
            "-j",
            "2",
            "--out",
            str(out),
            "--no-figures",
            *sum((["--set", s] for s in STEADY), []),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "sizing.json").read_text())
    assert data["verification"] and all(c["met"] for c in data["verification"])
    assert (out / "verification" / "summary.json").exists()
    assert "system.pools.web.workers: 11" in (out / "sized.yaml").read_text()
    page = (out / "sizing.html").read_text()
    (out / "sizing.html").unlink()
    again = CliRunner().invoke(main, ["report", str(out)])
    assert again.exit_code == 0, again.output
    assert (out / "sizing.html").read_text() == page  # drawn again from sizing.json alone
    applied = CliRunner().invoke(main, ["check", "scenarios/steady-state.yaml", "--overlay", str(out / "sized.yaml")])
    assert applied.exit_code == 0, applied.output


def test_size_exits_1_when_the_bound_cannot_meet_the_targets(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "size",
            "scenarios/steady-state.yaml",
            "--what",
            "servers",
            "--max-scale",
            "1",
            "--out",
            str(tmp_path / "s"),
            "--no-figures",
            "--set",
            "system.pools.web.workers=6",
            *sum((["--set", s] for s in STEADY), []),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "not met" in result.output and "web" in result.output


def test_size_without_a_target_is_bad_input(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "size",
            "scenarios/steady-state.yaml",
            "--what",
            "stock",
            "--out",
            str(tmp_path / "s"),
            *sum((["--set", s] for s in STEADY), []),
        ],
    )
    assert result.exit_code == 2
    assert "targets.stock" in result.output


# All support: a steady 0.3 contacts/s of 30 s (exponential) calls, answered by phone, nobody hangs up.
# Erlang C: 11 agents answer 88.7% within 20 s, 10 agents 65.7%. Hour by hour the share swings from 74%
# to 98% around that mean, and over 4 hours by a few points: Erlang C's long-run answer is what the
# median replication meets (confidence 50%); asking it of 95% of them may take one more agent.
CALLS = """\
name: calls
clock: {start: "00:00", horizon: 10m}
seed: 5
replications: 5
audience: {size: 20, arrivals: {shape: flat}, behaviour: {funnel: {buy: 0}}}
sales: [{name: s, open: "+0s", sku: item, price: 1}]
system:
  pools: {web: {workers: 4}}
  endpoints: {product_page: {pool: web, service: exp(100ms)}}
inventory: {skus: {item: {stock: 5}}}
targets: {support: {service_level: 80%, answer_within: 20s}, confidence: 50%}
support:
  contacts: {steady: {rate: 0.3/s, handle: exp(30s)}}
  channels: {phone: {share: 1, patience: null}}
  interval: 4h
  roster:
    - {name: early, start: "00:00", end: "08:00", phone: 4}
    - {name: late, start: "08:00", end: "24:00", phone: 30}
  until: +20h
"""


@pytest.mark.slow
def test_agent_sizing_of_a_stationary_case_equals_erlang_c(tmp_path):
    assert theory.agents_for_service_level(0.3, 1 / 30, 20, 0.8) == 11
    found = size(load_text(tmp_path, CALLS), "agents", jobs=2)
    assert not found.unmet
    assert [row["phone_agents"] for row in found.staffing] == [11] * 5
    roster = {(r["shift"], r["team"]): r["sized"] for r in found.roster}
    assert roster[("early", "phone")] == 11 and roster[("late", "phone")] == 11  # 4 and 30 before
    fresh = simulate(found.scenario, seed=found.scenario.seed + 1, jobs=2)  # replications the search never saw
    checks = verify(found, fresh, "agents")
    assert checks and all(c["met"] for c in checks)
    surer = size(load_text(tmp_path, CALLS, "targets.confidence=95%"), "agents", jobs=2)
    assert all(11 <= row["phone_agents"] <= 12 for row in surer.staffing)


@pytest.mark.slow
def test_a_higher_service_level_never_gets_fewer_agents(tmp_path):
    agents = []
    for level in ("70%", "80%", "95%"):
        found = size(load_text(tmp_path, CALLS, f"targets.support.service_level={level}"), "agents", jobs=2)
        agents.append(sum(row["phone_agents"] for row in found.staffing))
    assert agents == sorted(agents) and agents[0] < agents[-1]


def test_sizing_all_leaves_out_what_the_scenario_sets_no_target_for():
    scenario = load_scenario("scenarios/steady-state.yaml", STEADY)
    found = size(scenario, "all", jobs=2)
    assert found.skipped == ["stock", "agents", "warehouse"]
    assert [row["what"] for row in found.rows] == ["servers"]


def _on(*spells, minutes=16):
    on = np.zeros((len(spells), minutes), dtype=bool)
    for k, (a, b) in enumerate(spells):
        on[k, a:b] = True
    return on


def test_cover_meets_every_minute_and_prefers_the_shift_whose_time_is_needed():
    # an all-day shift and a 4-minute peak shift; 3 agents needed in minutes 8-11 only (intervals of 4 min)
    on = _on((0, 16), (8, 12))
    counts, gaps = cover(240.0, on, np.array([0, 0, 3, 0]))
    assert counts.tolist() == [0, 3] and gaps == []
    assert paid_hours(on, counts, [_shift("00:00", "00:16"), _shift("00:08", "00:12")]) == pytest.approx(3 * 4 / 60)


def test_cover_counts_two_shifts_that_share_an_interval():
    # the change of shift falls inside the second interval: the two shifts cover it together
    on = _on((0, 6), (6, 16))
    counts, gaps = cover(240.0, on, np.array([2, 2, 2, 2]))
    assert counts.tolist() == [2, 2] and gaps == []
    assert ((counts @ on) >= 2).all()


def test_cover_reports_the_intervals_no_shift_is_on_for():
    on = _on((4, 16))
    counts, gaps = cover(240.0, on, np.array([1, 2, 2, 1]))
    assert counts.tolist() == [2] and gaps == [0]


def _shift(start, end):
    from simulator.scenario.support import Shift

    return Shift(name=f"{start}-{end}", start=start, end=end)


def test_a_latency_bound_is_not_met_by_turning_requests_away():
    # a short queue makes an undersized pool fast for those it serves: rejections count as too slow
    scenario = load_scenario(
        "scenarios/steady-state.yaml",
        (*STEADY, "system.pools.web.queue_limit=12", "targets.latency.product_page.p99=6s"),
    )
    found = size(scenario, "servers", jobs=2)
    workers = found.scenario.system.pools["web"].workers
    assert workers >= theory.servers_for_response(10, 1, 6, 0.99) - 1
    rejected = [
        rep["endpoints"]["product_page"]["rejected"] / rep["endpoints"]["product_page"]["requests"]
        for rep in simulate(found.scenario, replications=5, jobs=2).replications
    ]
    assert max(rejected) < 0.01


@pytest.mark.slow
def test_the_other_waiting_room_setting_failing_does_not_stop_the_configured_one():
    room = ("waiting_room={admit_rate: 6/s}", "system.pools.web.workers=8")
    scenario = load_scenario("scenarios/steady-state.yaml", (*STEADY, *room))
    found = size(scenario, "servers", jobs=2, max_scale=1.2)  # at most 10 workers: too few without the room
    assert not found.unmet and found.applied == "with queued entry"
    other = [r for r in found.rows if r["variant"] == "without queued entry"]
    assert other and "cannot be met" in other[0]["note"]
    assert found.scenario.system.pools["web"].workers <= 10
