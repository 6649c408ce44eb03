"""The World's hooks, as a feature uses them: each run wires a test's own feature in beside the scenario's (by
wrapping `replication.build`) and checks what a replication does with it."""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import pytest

from simulator.engine import at
from simulator.model import replication
from simulator.model.world import CHUNK, World, in_time_order
from tests.conftest import load_text

HOOKS = """
name: hooks
clock: {start: "00:00", horizon: 20s}
seed: 3
audience:
  size: 200
  arrivals: {shape: flat}
  behaviour: {think_time: 1s, pay_delay: 2s, patience: 1m, funnel: {buy: 1, pay: 1, pay_success: 1}}
sales:
  - {name: flash, open: "+0s", sku: phone, price: 100}
system:
  pools: {web: {workers: 4}}
  endpoints:
    product_page: {pool: web, service: 50ms, timeout: 1s}
    buy: {pool: web, service: 50ms, timeout: 1s}
inventory:
  skus:
    phone: {stock: 50, payment_window: 1m}
"""


def run_with(monkeypatch, tmp_path, feature: Callable[[World], None], *overrides: str) -> dict:
    """One replication of the scenario with `feature(world)` plugged in after the scenario's own features."""
    built = replication.build

    def build(scenario, rng, habits):
        world = built(scenario, rng, habits)
        feature(world)
        return world

    monkeypatch.setattr(replication, "build", build)
    return replication.simulate_once(load_text(tmp_path, HOOKS, *overrides), np.random.SeedSequence(3))


def test_each_second_observers_run_in_order_after_the_core_samples(monkeypatch, tmp_path):
    calls = []

    def feature(world: World) -> None:
        stock = world.stocks["phone"]

        def observer(name: str) -> Callable[[int], None]:
            def observe(second: int) -> None:
                sampled = (world.shoppers.s_in_system[second], stock.s_available[second])
                calls.append((name, second, world.env.now, sampled == (world.shoppers.in_system, stock.available)))
                if name == "b":
                    levels.append(world.shoppers.in_system)

            return observe

        world.each_second.append(observer("a"))
        world.each_second.append(observer("b"))
        at(world.env, 5.0, lambda _: calls.append(("timer", 5, world.env.now, True)))  # an event due at 5 s

    levels: list[int] = []
    run_with(monkeypatch, tmp_path, feature)
    # seconds 0 to 19 on the clock, then 20 at the horizon; a, then b; the samples already taken each time
    expected = [(name, s, float(s), True) for s in range(21) for name in ("a", "b")]
    expected.insert(expected.index(("b", 5, 5.0, True)) + 1, ("timer", 5, 5.0, True))  # after the samples of 5
    assert calls == expected
    assert max(levels) > 0  # shoppers were inside: a sample taken after the observers would have read 0


@pytest.mark.parametrize("room", [False, True])
def test_sections_that_read_none_are_left_out_of_the_result(monkeypatch, tmp_path, room):
    def feature(world: World) -> None:
        world.sections["nothing"] = lambda: None
        world.sections["read_at"] = lambda: {"now": world.env.now}

    result = run_with(monkeypatch, tmp_path, feature, f"waiting_room={{enabled: {str(room).lower()}, admit_rate: 5/s}}")
    assert "nothing" not in result
    assert result["read_at"] == {"now": 20.0}  # read at the horizon
    assert result["contingency"] == []  # a section whose part is empty is still there
    assert ("waiting_room" in result) is room  # the room's figures only while it is on


def test_late_streams_start_in_time_order_beside_the_shoppers_each_made_only_when_read(monkeypatch, tmp_path):
    seen, made = [], []

    def feature(world: World) -> None:
        def tapper(name: str) -> Generator:
            made.append((name, world.env.now))
            return tapping(name)

        def tapping(name: str) -> Generator:
            seen.append((name, "starts", world.env.now))
            yield 1.0
            seen.append((name, "taps", world.env.now))

        names = ["b", "a", "after"]
        world.late.append(in_time_order(np.array([7.5, 2.25, 25.0]), lambda i: tapper(names[i])))  # out of order
        world.late.append(in_time_order(np.array([19.5]), lambda i: tapper("c")))

    run_with(monkeypatch, tmp_path, feature)
    # a stream's next process is made when the one before it starts, not before
    assert made == [("a", 0.0), ("c", 0.0), ("b", 2.25), ("after", 7.5)]
    # sorted by start time; c's second step would fall at 20.5, past the horizon; "after" starts past it
    assert seen == [
        ("a", "starts", 2.25),
        ("a", "taps", 3.25),
        ("b", "starts", 7.5),
        ("b", "taps", 8.5),
        ("c", "starts", 19.5),
    ]


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_divert_steers_that_share_of_arriving_shoppers_away_before_any_request(monkeypatch, tmp_path, share):
    def feature(world: World) -> None:
        world.divert = share

    result = run_with(monkeypatch, tmp_path, feature)
    shoppers = result["shoppers"]
    assert shoppers["arrivals"] > 100  # about 200 over the 20 s
    diverted = shoppers["outcomes"]["diverted"]
    requests = sum(ep["requests"] for ep in result["endpoints"].values())
    if share == 1.0:
        assert diverted == shoppers["arrivals"] and shoppers["in_system"] == 0
        assert requests == 0 and result["stock"]["phone"]["reserved"] == 0
    else:
        assert diverted == 0 and requests >= shoppers["arrivals"]  # every shopper at least looked


@pytest.mark.parametrize("lift", [0.0, 1.0])
def test_buy_lift_makes_shoppers_who_would_not_buy_press_buy(monkeypatch, tmp_path, lift):
    def feature(world: World) -> None:
        world.buy_lift = lambda: lift

    result = run_with(monkeypatch, tmp_path, feature, "audience.behaviour.funnel.buy=0")
    pages, buys = (result["endpoints"][step]["requests"] for step in ("product_page", "buy"))
    if lift == 1.0:  # every shopper past the page presses buy 1 s later (those after 19 s do not get there)
        assert buys > 0.9 * pages and result["stock"]["phone"]["sold"] > 0
    else:
        assert (
            buys == 0
            and result["shoppers"]["outcomes"]["left_funnel"]
            == result["shoppers"]["arrivals"] - (result["shoppers"]["in_system"])
        )


class Door:
    """A gate that keeps every shopper half a second at the door, and counts who leaves the shop through it."""

    enabled = True

    def __init__(self, turn_away: bool):
        self.turn_away = turn_away
        self.tickets = self.left = 0

    def ticket(self, open_at: float, stock, tier: int):
        self.tickets += 1
        return [stock, tier]

    def enter(self, place) -> Generator:
        yield 0.5
        return "abandoned_queue" if self.turn_away else None

    def rest(self, place, seconds: float) -> Generator:
        yield seconds
        return None

    def leave(self, place) -> None:
        self.left += 1


@pytest.mark.parametrize("turn_away", [True, False])
def test_gate_holds_every_arriving_shopper_and_sees_each_one_leave(monkeypatch, tmp_path, turn_away):
    door = Door(turn_away)

    def feature(world: World) -> None:
        world.gate = door

    result = run_with(monkeypatch, tmp_path, feature)
    shoppers = result["shoppers"]
    assert door.tickets == shoppers["arrivals"] > 100
    finished = shoppers["arrivals"] - shoppers["in_system"]
    if turn_away:
        assert shoppers["outcomes"]["abandoned_queue"] == finished and door.left == 0
        assert result["endpoints"]["product_page"]["requests"] == 0
    else:
        assert shoppers["outcomes"]["abandoned_queue"] == 0 and door.left == finished  # each once, on the way out
        assert result["endpoints"]["product_page"]["requests"] >= finished


def test_a_late_stream_longer_than_a_chunk_keeps_time_order_and_ties_in_index_order():
    times = np.random.default_rng(3).integers(0, 50, 3 * CHUNK + 7).astype(float)  # ties by the thousand
    stream = list(in_time_order(times, lambda i: i))  # the index itself in place of a process
    assert [i for _, i in stream] == sorted(range(len(times)), key=lambda i: (times[i], i))
    assert [t for t, _ in stream] == sorted(times.tolist())
