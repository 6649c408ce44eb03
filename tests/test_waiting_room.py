"""Queued entry against its oracles: exact admission spacing, the cap, random pre-queue order, Erlang A."""

import math

import numpy as np
import pytest
from simpy import Environment

from simulator import load_scenario, simulate
from simulator.analysis.theory import erlang_a
from simulator.engine.streams import streams
from simulator.model.inventory import Stock
from simulator.model.replication import simulate_once
from simulator.model.waiting_room import Room, Ticket
from simulator.scenario.promotions import WaitingRoom
from simulator.scenario.shop import Sku

STEADY = "scenarios/steady-state.yaml"


def _room_scenario(*extra: str, size: str = "2000"):
    """One pool with room to spare behind the door: every admitted shopper makes one 100 ms request."""
    return load_scenario(
        STEADY,
        [
            f"audience.size={size}",
            "clock.horizon=30m",
            "sales[0].open=+10m",
            "system.endpoints.product_page.service=100ms",
            "system.pools.web.workers=20",
            *extra,
        ],
    )


def test_admit_rate_spaces_admissions_exactly_and_the_pool_never_overloads():
    scenario = _room_scenario(
        "audience.arrivals={shape: surge, build_up: 10m, build_up_share: 1, surge_share: 0}",  # all before the open
        "waiting_room={admit_rate: 2/s, patience: 10h}",
    )
    rep = simulate_once(scenario, np.random.SeedSequence(3))
    room, open_at, n = rep["waiting_room"], 600, rep["shoppers"]["arrivals"]
    assert room["admitted"] == n > 1500 and room["abandoned"] == 0
    # the k-th shopper in is let in at the open + k/2 s: waits average (n-1)/4 s, and 2 a second go in
    assert math.isclose(room["latency_sum"] / n, (n - 1) / 4, rel_tol=1e-9)
    admitted = room["series"]["admitted"]
    assert admitted[:open_at] == [0] * open_at
    assert set(admitted[open_at : open_at + (n - 1) // 2]) == {2}
    assert sum(admitted) == n
    # 2 shoppers/s x 100 ms on 20 workers: 1% busy, never a queue, never an error
    page = rep["endpoints"]["product_page"]
    assert rep["pools"]["web"]["peak_queue"] == 0 and page["rejected"] == page["timed_out"] == 0
    assert page["served"] == n


def test_cap_on_active_shoppers_is_never_exceeded():
    scenario = _room_scenario(
        "waiting_room={max_active: 25, patience: 10h}",
        "system.endpoints.product_page.service=exp(30s)",
        "system.pools.web.workers=1000",
        size="6000",
    )
    rep = simulate_once(scenario, np.random.SeedSequence(5))
    room = rep["waiting_room"]
    assert room["peak_active"] == 25  # reached, and never beyond
    assert max(room["series"]["active"]) == 25
    assert rep["pools"]["web"]["peak_queue"] == 0 and max(rep["pools"]["web"]["series"]["busy"]) <= 25


def _admission_order(pre_queue: bool, n: int = 2000) -> list[int]:
    """Shoppers 0..n-1 arrive in that order before the open; the order the room lets them in."""
    env = Environment()
    config = WaitingRoom(admit_rate=100.0, pre_queue=pre_queue, patience="10h")
    stock = Stock(env, "item", Sku(stock=1), 1000.0)
    room = Room(env, config, streams(np.random.SeedSequence(11)), [100.0], 1000.0)
    order: list[int] = []

    def shopper(me: int):
        yield env.timeout(me * 0.01)
        ticket = Ticket(100.0, stock)
        if (yield from room.enter(ticket)) is None:
            order.append(me)
            room.leave(ticket)

    for me in range(n):
        env.process(shopper(me))
    env.run(1000)
    return order


def test_pre_queue_order_is_independent_of_arrival_order():
    order = _admission_order(pre_queue=True)
    n = len(order)
    assert sorted(order) == list(range(n))
    rho = np.corrcoef(np.arange(n), np.asarray(order))[0, 1]  # Spearman: both are ranks
    assert abs(rho) < 4 / math.sqrt(n - 1), rho  # under independence rho ~ N(0, 1/(n-1))


def test_without_pre_queue_early_arrivals_go_first():
    assert _admission_order(pre_queue=False) == list(range(2000))


@pytest.mark.slow
def test_abandonment_with_exponential_patience_matches_erlang_a():
    """The room as M/M/c+M: the cap is c, the journey (one exp(1 s) request on ample workers) the
    service, exponential patience the abandonment. Arrivals 12/s at c = 10: overloaded, held by abandonment."""
    lam, mu, c, patience = 12.0, 1.0, 10, 5.0
    hours = 1
    scenario = load_scenario(
        STEADY,
        [
            f"audience.size={int(lam * hours * 3600)}",
            f"clock.horizon={hours}h",
            "system.pools.web.workers=1000",
            "system.endpoints.product_page.service=exp(1s)",
            f"waiting_room={{max_active: {c}, patience: exp({patience}s)}}",
        ],
    )
    result = simulate(scenario, replications=4, jobs=2)
    theory = erlang_a(lam, mu, c, 1 / patience)
    room, arrivals = result.summary["waiting_room"], result.summary["shoppers"]["arrivals"]["mean"]
    p_abandon = room["abandoned"]["mean"] / arrivals
    assert 0.15 < theory.p_abandon < 0.3  # a case where abandonment matters
    assert abs(p_abandon - theory.p_abandon) < 0.05 * theory.p_abandon, (p_abandon, theory.p_abandon)
    header, rows = result.timeseries
    queue = np.asarray(rows, dtype=float)[60:, header.index("waiting_room.queue")]  # past a minute's warm-up
    assert abs(queue.mean() - theory.mean_queue) < 0.1 * theory.mean_queue, (queue.mean(), theory.mean_queue)


def test_shown_wait_over_the_balk_bound_sends_shoppers_away_at_the_open():
    scenario = _room_scenario(
        "audience.arrivals={shape: surge, build_up: 10m, build_up_share: 1, surge_share: 0}",
        "waiting_room={admit_rate: 2/s, patience: 10h, balk_over: 100s, balk: 1}",
    )
    room = simulate_once(scenario, np.random.SeedSequence(3))["waiting_room"]
    # positions 0..200 are shown at most 200 / 2 = 100 s and stay; everyone behind them leaves at once
    assert room["admitted"] == 201 and room["balked"] == room["abandoned"] > 1000


def test_sold_out_sale_empties_its_queue_and_turns_arrivals_away(tmp_path):
    scenario = load_scenario(
        STEADY,
        [
            "audience.size=20k",
            "clock.horizon=1h",
            "system.endpoints.product_page.service=100ms",
            "system.pools.web.workers=50",
            "inventory.skus.item.stock=50",
            "audience.behaviour.funnel.buy=1",
            "audience.behaviour.funnel.pay=1",
            "waiting_room={admit_rate: 5/s, patience: 10h}",
        ],
    )
    rep = simulate_once(scenario, np.random.SeedSequence(2))
    room, outcomes = rep["waiting_room"], rep["shoppers"]["outcomes"]
    assert rep["stock"]["item"]["sold"] == 50
    assert room["told_sold_out"] > 10_000 and room["queued_at_end"] == 0
    assert outcomes["sold_out"] >= room["told_sold_out"]
    assert sum(outcomes.values()) + rep["shoppers"]["in_system"] == rep["shoppers"]["arrivals"]


def test_idle_admitted_shoppers_lose_their_place_and_the_cap_holds():
    scenario = load_scenario(
        STEADY,
        [
            "audience.size=3000",
            "clock.horizon=1h",
            "system.endpoints.product_page.service=100ms",
            "system.pools.web.workers=50",
            "inventory.skus.item.stock=100k",
            "audience.behaviour.funnel.buy=1",
            "audience.behaviour.think_time=30s",
            "waiting_room={max_active: 20, session_timeout: 10s, patience: 10h}",
        ],
    )
    rep = simulate_once(scenario, np.random.SeedSequence(4))
    room = rep["waiting_room"]
    assert room["expired_sessions"] > 1000  # every shopper thinks 30 s > 10 s on the page, then queues again
    assert room["peak_active"] == 20 and max(room["series"]["active"]) <= 20
    assert room["admitted"] >= rep["shoppers"]["arrivals"] + room["expired_sessions"] - room["queued_at_end"] - 20


def test_a_patience_timer_from_an_earlier_spell_in_the_queue_is_ignored():
    """A is let in at 0, idles 20 s past a 10 s session (B takes the place for good) and queues again at
    20 s: with a patience of 100 s A leaves at 120 s, not at 100 s when its first spell's timer rings."""
    env = Environment()
    config = WaitingRoom(max_active=1, patience="100s", session_timeout="10s")
    stock = Stock(env, "item", Sku(stock=1), 1000.0)
    room = Room(env, config, streams(np.random.SeedSequence(1)), [], 1000.0)
    left: dict[str, tuple[float, str | None]] = {}

    def shopper(name: str, arrive: float, idle: float):
        yield env.timeout(arrive)
        ticket = Ticket(0.0, stock)
        outcome = yield from room.enter(ticket)
        if outcome is None and idle:
            outcome = yield from _driven(room.rest(ticket, idle))
        left[name] = (env.now, outcome)

    def _driven(generator):
        """room.rest yields floats (the model's pauses); here they become SimPy timeouts."""
        try:
            step = next(generator)
            while True:
                value = yield (env.timeout(step) if isinstance(step, float) else step)
                step = generator.send(value)
        except StopIteration as stop:
            return stop.value

    env.process(shopper("A", 0.0, 20.0))
    env.process(shopper("B", 5.0, 0.0))
    env.run(1000)
    assert left["A"] == (120.0, "abandoned_queue")
    assert room.expired == 1
