"""A scenario grown K times (`--scale K`): what grows, what does not, and what queueing theory says of it."""

import typing

import pytest
from click.testing import CliRunner
from pydantic.json_schema import WithJsonSchema

from simulator import load_scenario, simulate
from simulator.analysis import load_plans
from simulator.analysis.theory import mmc
from simulator.cli import main
from simulator.scenario import Scenario, scenario_schema
from simulator.scenario.section import GROWS, sections

DOUBLE11 = "scenarios/double11.yaml"
THURSDAY = "scenarios/xiaomi-thursday-flash.yaml"

KEPT = {  # numbers that are neither durations nor shares and stay as they are in a bigger promotion
    "Scenario.seed": "an identity",
    "Scenario.replications": "how many runs, not how big",
    "Retry.max_retries": "one shopper's habit",
    "Retry.multiplier": "one shopper's habit",
    "Uncertainty.size_cv": "a relative spread",
    "Uncertainty.conversion_cv": "a relative spread",
    "Sale.price": "a price",
    "Sale.discount": "a price",
    "Substitute.price": "a price",
    "Presale.deposit": "a price",
    "Presale.deposit_counts_as": "a price",
    "PoolSpec.cpu_pace": "the reference work's time, second by second: the cores' speed",
    "EndpointSpec.requests": "requests per step, the API's shape",
    "Sku.per_user_limit": "one shopper's limit",
    "RedPacketRain.tap_rate": "one participant's taps",
    "RedPacketRain.per_user_cap": "one participant's limit",
    "Channel.concurrency": "one agent's chats",
    "Incident.slow": "a factor on service times",
    "Degrade.service": "factors on service times",
    "Fulfilment.picks_per_hour": "one person's pace",
    "HttpStep.sold_out": "status codes",
    "HttpStep.declined": "status codes",
    "BodyMatch.status": "status codes",
    "LoadTestMapping.max_users": "the load generator's, not the promotion's",
    "Step.spend": "a price",
    "Step.off": "a price",
    "Coupon.off": "a price",
    "Coupon.min_spend": "a price",
    "Pricing.claims_per_day": "one shopper's limit",
    "Pricing.stack": "one order's rule",
}


def _kinds(annotation, metadata) -> tuple[set, str]:
    """The types a field holds, unions and Annotated unwrapped (None left out), and how its units describe it."""
    described = " ".join(m.json_schema.get("description", "") for m in metadata if isinstance(m, WithJsonSchema))
    if typing.get_origin(annotation) is typing.Annotated:
        base, *inner = typing.get_args(annotation)
        return _kinds(base, [*metadata, *inner])
    args = typing.get_args(annotation)
    if not args:
        return {annotation} - {type(None)}, described
    found = [_kinds(arg, metadata) for arg in args]
    return set().union(*(k for k, _ in found)), " ".join([described, *(d for _, d in found)]).strip()


def _numbers() -> typing.Iterator[tuple[str, bool]]:
    """(Class.field, grows) of every numeric field that is neither a duration, a time nor a share."""
    for model in sections(Scenario):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if typing.get_origin(annotation) is dict:  # a mapping of numbers (viewers by time): its values
                annotation = typing.get_args(annotation)[1]
            kinds, described = _kinds(annotation, field.metadata)
            if kinds and kinds <= {int, float} and not described.startswith(("duration", "fraction", "clock")):
                yield f"{model.__name__}.{name}", GROWS in field.metadata


def test_every_number_of_a_scenario_either_grows_or_is_kept_for_a_reason_and_the_schema_says_which():
    """A new count added to the schema must say whether it grows: a field forgotten would keep a pool or a
    stock at the file's size in a promotion 100 times as big."""
    numbers = dict(_numbers())
    undecided = sorted(name for name, grows in numbers.items() if not grows and name not in KEPT)
    assert not undecided, f"mark these Annotated[..., GROWS] or add them to KEPT with a reason: {undecided}"
    assert not (both := sorted(name for name in KEPT if numbers.get(name))), f"marked GROWS and kept: {both}"
    grows = {name for name, grows in numbers.items() if grows}
    assert {"Audience.size", "Sku.stock", "PoolSpec.workers", "Shift.chat", "RedPacketRain.budget"} <= grows
    schema = scenario_schema()["$defs"]
    said = {
        f"{model}.{name}"
        for model, part in schema.items()
        for name, field in part.get("properties", {}).items()
        if "Grows with --scale" in field.get("description", "")
    }
    assert said == grows


def test_a_grown_scenario_has_k_times_the_people_units_money_and_servers_and_the_same_times_and_shares():
    small, big = load_scenario(DOUBLE11), load_scenario(DOUBLE11, scale=100)
    assert big.name == "double11-x100"
    assert big.audience.size == 100 * small.audience.size == 20_000_000
    assert big.inventory.skus["phone"].stock == 100 * small.inventory.skus["phone"].stock
    assert big.presale is not None and small.presale is not None
    assert (big.presale.units, big.presale.expected_deposits) == (
        100 * small.presale.units,
        100 * small.presale.expected_deposits,
    )
    assert big.presale.deposit == small.presale.deposit and big.presale.conversion == small.presale.conversion
    for name, rain in small.red_packets.items():
        assert big.red_packets[name].budget == pytest.approx(100 * rain.budget)
        assert big.red_packets[name].tap_rate == rain.tap_rate
    for name, pool in small.system.pools.items():
        assert big.system.pools[name].workers == 100 * pool.workers
        assert big.system.pools[name].queue_limit == 100 * pool.queue_limit
    assert [s.chat for s in big.support.roster] == [100 * s.chat for s in small.support.roster]
    steady = small.support.contacts["steady"].rate
    assert big.support.contacts["steady"].rate == pytest.approx(100 * steady)
    assert big.clock == small.clock and big.audience.arrivals == small.audience.arrivals
    assert big.system.endpoints == small.system.endpoints
    assert big.sales == small.sales


def test_a_fraction_rounds_counts_and_keeps_at_least_one_and_a_lock_stays_one_lock_before_more_connections():
    hot_row = [
        "system.locks.stock_row.per_sku=true",
        "system.connections.db.size=4",
        "system.endpoints.create_order.connection=db",
        "system.endpoints.create_order.lock=stock_row",
        "system.endpoints.create_order.hold=2ms",
    ]
    tiny = load_scenario(THURSDAY, hot_row, scale=0.001)
    assert all(pool.workers >= 1 for pool in tiny.system.pools.values())
    assert tiny.audience.size == 300 and tiny.inventory.skus["flagship-phone"].stock == 1
    big = load_scenario(THURSDAY, hot_row, scale=10)
    assert big.system.connections["db"].size == 40
    assert big.system.locks == load_scenario(THURSDAY, hot_row).system.locks


def test_plans_and_overrides_are_read_at_the_files_size_then_grown():
    plans = load_plans(THURSDAY, ["more-servers"], ["system.pools.order.workers=100"], scale=0.5)
    assert plans["baseline"].system.pools["web"].workers == 200
    assert plans["baseline"].system.pools["order"].workers == 50  # the --set value, at the file's size, halved
    assert plans["more-servers"].system.pools["web"].workers == 600  # the plan's 1200, halved


def test_growing_a_pool_gives_the_economy_of_scale_erlang_c_predicts():
    """Four times the arrivals on four times the workers is not the same queue: M/M/12 at 10/s waits with
    probability 0.45, M/M/48 at 40/s with 0.15. The grown model must follow Erlang C at its own size."""
    hour = ["audience.size=36k", "clock.horizon=1h"]
    summary = simulate(load_scenario("scenarios/steady-state.yaml", hour, scale=4), replications=4, jobs=2).summary
    pool = summary["pools"]["web"]
    grown, naive = mmc(40.0, 1.0, 48), mmc(10.0, 1.0, 12)
    assert pool["p_wait"]["ci95"][0] <= grown.p_wait <= pool["p_wait"]["ci95"][1], (pool["p_wait"], grown.p_wait)
    assert pool["p_wait"]["ci95"][1] < naive.p_wait / 2


def test_the_cli_grows_and_refuses_a_scale_of_zero(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check", DOUBLE11, "--scale", "100"])
    assert ok.exit_code == 0 and "double11-x100" in ok.output and "20,000,000 shoppers" in ok.output
    bad = runner.invoke(main, ["run", DOUBLE11, "--scale", "0", "--out", str(tmp_path / "run")])
    assert bad.exit_code == 2 and "--scale" in bad.output
    assert not (tmp_path / "run").exists()
