"""The event loop runs events in exactly SimPy's order, however many are pending and however far ahead, and
starts each stream's journeys in time order after the events due at their time."""

import gc
import math

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import load_scenario
from simulator.engine.calendar import SMALL, Engine, Journey
from simulator.model.replication import simulate_once

delays = st.one_of(st.floats(0, 1e-3), st.floats(0, 5), st.floats(0, 5000), st.sampled_from([0.0, 7.8125e-3, 1.0]))
"""Delays within a slot, across a few, far ahead, and on slot edges."""


LATE = 2
"""SimPy priority after NORMAL: the oracle's starts, which come after every event due at their time."""


def _trace(
    env: simpy.Environment,
    plan: list[tuple[float, int, list[float]]],
    until: float,
    streams: list[list[tuple[float, list[float]]]] = (),
) -> list:
    """Schedule the plan's events; each, when processed, schedules its children. Start the streams'
    journeys, each pausing as its list says. The order processed."""
    seen = []

    def journey(name: tuple, pauses: list[float]):
        seen.append((env.now, name))
        for k, pause in enumerate(pauses):
            yield pause
            seen.append((env.now, (*name, k)))

    def drive(gen) -> None:  # the oracle's journey: each pause a NORMAL event
        pause = next(gen, None)
        if pause is not None:
            resume = simpy.Event(env)
            resume._ok = True
            resume.callbacks.append(lambda _: drive(gen))
            env.schedule(resume, simpy.core.NORMAL, pause)

    def fire(event: simpy.Event) -> None:
        seen.append((env.now, event.value))
        for k, delay in enumerate(children[event.value]):
            child = simpy.Event(env)
            child._ok, child._value = True, (*event.value, k)
            child.callbacks.append(fire)
            children[child.value] = []
            env.schedule(child, simpy.core.NORMAL, delay)

    children = {}
    for i, (delay, priority, kids) in enumerate(plan):
        event = simpy.Event(env)
        event._ok, event._value = True, (i,)
        event.callbacks.append(fire)
        children[(i,)] = kids
        env.schedule(event, priority, delay)
    for s, items in enumerate(streams):
        items = [(t, journey(("start", s, j), pauses)) for j, (t, pauses) in enumerate(sorted(items))]
        if isinstance(env, Engine):
            env.start(items)
            continue
        for t, gen in items:
            start = simpy.Event(env)
            start._ok = True
            start.callbacks.append(lambda _, g=gen: drive(g))
            env.schedule(start, LATE, t)
    if isinstance(env, Engine):
        env.run_until(until)
    else:
        env.run(until)  # which also runs urgent events due at `until`: run_until stops before them
    return [(t, what) for t, what in seen if t < until]


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(delays, st.sampled_from([0, 1]), st.lists(delays, max_size=3)), min_size=1, max_size=3 * SMALL
    ),
    until=st.floats(0.5, 6000),
)
def test_events_run_in_simpys_order_whatever_the_calendar(plan, until):
    assert _trace(Engine(), plan, until) == _trace(simpy.Environment(), plan, until)


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(st.tuples(delays, st.sampled_from([0, 1]), st.lists(delays, max_size=3)), max_size=SMALL),
    streams=st.lists(st.lists(st.tuples(delays, st.lists(delays, max_size=3)), max_size=SMALL), max_size=3),
    until=st.floats(0.5, 6000),
)
def test_streams_start_in_time_order_after_the_events_due_at_their_time(plan, streams, until):
    # the oracle: every start a SimPy event after NORMAL, scheduled up front in stream order
    assert _trace(Engine(), plan, until, streams) == _trace(simpy.Environment(), plan, until, streams)


def test_a_crowd_in_one_slot_with_a_late_comer_and_quick_children_keeps_simpys_order():
    # the first SMALL events fill the heap ahead of its slot, the rest of the crowd is bucketed into
    # that same slot, one bucketed event comes before the whole heap, and children land between them
    crowd = [(10.001 + k * 1e-6, 1, [1e-7]) for k in range(2 * SMALL)] + [(10.0005, 1, [0.0])]
    assert _trace(Engine(), crowd, 20.0) == _trace(simpy.Environment(), crowd, 20.0)


def test_a_crowd_far_ahead_runs_in_time_order_and_stops_at_the_horizon():
    env, times = Engine(), []
    ahead = [(i * 7919 % 10007) / 3.0 for i in range(20 * SMALL)]  # spread over an hour, out of order
    for t in ahead:
        event = simpy.Event(env)
        event._ok = True
        event.callbacks.append(lambda _: times.append(env.now))
        env.schedule(event, simpy.core.NORMAL, t)
    env.run_until(1800.0)
    assert times == sorted(t for t in ahead if t < 1800.0)
    assert env.now == 1800.0


def test_an_infinite_delay_never_runs_and_peek_and_step_agree_with_run():
    env = Engine()
    for i in range(2 * SMALL):
        env.timeout(10.0 + i)
    env.timeout(math.inf)
    assert env.peek() == 10.0
    env.step()
    assert env.now == 10.0 and env.peek() == 11.0
    env.run_until(1e9)
    assert env.now == 1e9 and env.peek() == math.inf


def test_a_stream_is_read_one_start_at_a_time_and_journeys_pause_for_floats():
    env, log, read = Engine(), [], []

    def stream():
        for i in range(5):
            read.append(i)
            yield float(i), visit(i)

    def visit(i):
        log.append((env.now, i, "in"))
        yield 2.5
        log.append((env.now, i, "out"))

    env.start(stream())
    assert read == [0]  # only the first shopper is pending
    env.run_until(100.0)
    assert log == sorted(log) and len(log) == 10
    assert [(t, i) for t, i, what in log if what == "out"] == [(i + 2.5, i) for i in range(5)]


def test_peek_and_step_see_starts_and_a_stream_added_during_the_run_starts_in_time():
    env, log = Engine(), []

    def visit(name):
        log.append((env.now, name))
        yield 1.0
        log.append((env.now, name + "'"))

    env.timeout(5.0).callbacks.append(lambda _: env.start([(6.0, visit("late")), (9.0, visit("later"))]))
    env.timeout(20.0).callbacks.append(lambda _: env.start([(20.5, visit("in run"))]))
    env.start([(2.0, visit("a")), (5.0, visit("b"))])
    assert env.peek() == 2.0
    env.step()
    assert log == [(2.0, "a")] and env.peek() == 3.0
    env.step()
    env.step()  # the timeout at 5.0 before the start at 5.0, which then adds a stream
    assert log == [(2.0, "a"), (3.0, "a'")] and env.peek() == 5.0
    env.run_until(100.0)
    assert log == [
        (2.0, "a"),
        (3.0, "a'"),
        (5.0, "b"),
        (6.0, "b'"),
        (6.0, "late"),
        (7.0, "late'"),
        (9.0, "later"),
        (10.0, "later'"),
        (20.5, "in run"),
        (21.5, "in run'"),
    ]
    assert env.peek() == math.inf


def test_finished_shoppers_leave_no_cycles_for_the_paused_collector():
    # the collector is paused during a replication: whatever a finished shopper leaves in a reference
    # cycle would stay in memory until the end of the run
    scenario = load_scenario("scenarios/xiaomi-thursday-flash.yaml", ["audience.size=3000", "clock.horizon=25m"])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = simulate_once(scenario, np.random.SeedSequence(1))
        gc.collect()
        journeys = sum(type(o) is Journey for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert result["shoppers"]["arrivals"] > 2000
    assert journeys <= result["shoppers"]["in_system"]  # only those still on their way at the horizon
