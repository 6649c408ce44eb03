"""A pool of workers on hand-computed timelines: who starts when, who is rejected, timed out or shed, and the
figures Little's law reads. Service times are constants, so every instant below is exact in floating point."""

from __future__ import annotations

import pytest

from simulator.engine import Endpoint, Engine, Pool, at
from simulator.engine.pools import REJECTED, TIMED_OUT

HORIZON = 10.0


def make_pool(
    workers: int = 1, queue_limit: int | None = None, shed_expired: bool = False, horizon: float = HORIZON
) -> tuple[Engine, Pool]:
    env = Engine()
    return env, Pool(env, "web", workers, queue_limit, shed_expired, horizon)


def endpoint(pool: Pool, service: float = 1.0, timeout: float | None = None, name: str = "page") -> Endpoint:
    return Endpoint(name, pool, lambda: service, timeout, HORIZON)


class Clients:
    """Sends named requests and keeps what each client saw (time, name, answer) and when each effect ran."""

    def __init__(self, env: Engine):
        self.env = env
        self.answers: list[tuple[float, str, object]] = []
        self.effects: list[tuple[float, str]] = []

    def send(self, ep: Endpoint, name: str):
        def effect() -> str:
            self.effects.append((self.env.now, name))
            return name

        request = ep.call(effect)
        if request.callbacks is None:  # answered before the client waits (rejected)
            self.answers.append((self.env.now, name, request._value))
        else:
            request.callbacks.append(lambda r: self.answers.append((self.env.now, name, r._value)))
        return request

    def send_at(self, t: float, ep: Endpoint, name: str) -> None:
        at(self.env, t, lambda _: self.send(ep, name))


def test_request_to_a_pool_with_free_workers_starts_at_once():
    env, pool = make_pool(workers=2)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    clients.send(page, "a")
    clients.send(page, "b")
    assert (pool.busy, len(pool.queue)) == (2, 0)
    env.run_until(HORIZON)
    # both served side by side: answered at 0 + 1 s, none waited
    assert clients.answers == [(1.0, "a", "a"), (1.0, "b", "b")]
    assert pool.stats.waited == 0 and pool.stats.wait_sum == 0.0
    assert pool.stats.completed == 2 and pool.busy == 0


@pytest.mark.parametrize("limit", [0, 2, 5])
def test_full_queue_rejects_at_once_beyond_its_limit(limit):
    env, pool = make_pool(workers=1, queue_limit=limit)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    sent = [clients.send(page, f"r{k}") for k in range(limit + 3)]
    # one in service, `limit` queued, the last two rejected before their clients wait
    assert [r.callbacks is None for r in sent] == [False] * (limit + 1) + [True, True]
    assert page.stats.rejected == 2 and pool.stats.peak_queue == limit
    env.run_until(HORIZON)
    rejected = [(0.0, f"r{k}", REJECTED) for k in (limit + 1, limit + 2)]
    served = [(k + 1.0, f"r{k}", f"r{k}") for k in range(limit + 1)]  # one after another, 1 s each
    assert clients.answers == rejected + served
    assert [name for _, name in clients.effects] == [f"r{k}" for k in range(limit + 1)]  # no work for the rejected
    assert page.stats.s_rejected[0] == 2 and page.stats.in_flight == 0


def test_client_timeout_answers_timed_out_while_the_worker_finishes_as_wasted_work():
    env, pool = make_pool(workers=1)
    page = endpoint(pool, service=3.0, timeout=1.0)
    clients = Clients(env)
    clients.send(page, "a")
    busy = []
    at(env, 2.0, lambda _: busy.append(pool.busy))
    env.run_until(HORIZON)
    assert clients.answers == [(1.0, "a", TIMED_OUT)]  # the client leaves at its 1 s timeout
    assert clients.effects == [(3.0, "a")]  # the server still does the work, to its end at 3 s
    assert busy == [1]  # a worker still busy after the client left
    assert (page.stats.timed_out, page.stats.wasted, page.stats.in_flight) == (1, 1, 0)
    assert page.stats.s_timed_out[1] == 1 and pool.stats.completed == 1


def test_queued_request_times_out_at_its_deadline_not_when_a_worker_takes_it():
    env, pool = make_pool(workers=1)
    page = endpoint(pool, service=2.0, timeout=3.0)
    clients = Clients(env)
    clients.send(page, "a")  # served 0 -> 2, inside its 3 s
    clients.send(page, "b")  # queued; taken at 2, would end at 4, past its deadline at 3
    env.run_until(HORIZON)
    assert clients.answers == [(2.0, "a", "a"), (3.0, "b", TIMED_OUT)]
    assert clients.effects == [(2.0, "a"), (4.0, "b")]
    assert page.stats.wasted == 1 and page.stats.timed_out == 1


def test_response_due_exactly_at_the_client_timeout_is_in_time():
    env, pool = make_pool(workers=1)
    page = endpoint(pool, service=1.0, timeout=2.0)
    clients = Clients(env)
    clients.send(page, "a")  # ends at 1, inside its deadline at 2
    clients.send(page, "b")  # queued: taken at 1, ends at 2, its deadline to the instant
    env.run_until(HORIZON)
    assert clients.answers == [(1.0, "a", "a"), (2.0, "b", "b")]
    assert (page.stats.timed_out, page.stats.wasted) == (0, 0)


@pytest.mark.parametrize("shed", [True, False])
def test_shed_expired_drops_queued_requests_whose_client_gave_up(shed):
    env, pool = make_pool(workers=1, shed_expired=shed)
    slow = endpoint(pool, service=2.0, timeout=None, name="slow")
    page = endpoint(pool, service=2.0, timeout=1.0)
    clients = Clients(env)
    clients.send(slow, "a")  # holds the only worker 0 -> 2
    clients.send(page, "b")  # queued; its client gives up at 1, before the worker is free at 2
    env.run_until(HORIZON)
    assert clients.answers == [(1.0, "b", TIMED_OUT), (2.0, "a", "a")]
    if shed:
        assert clients.effects == [(2.0, "a")]  # b dropped when the worker came to it, at 2
        assert (pool.stats.shed, page.stats.shed, page.stats.wasted) == (1, 1, 0)
        assert pool.stats.shed_sum == 2.0 and pool.stats.completed == 1
    else:
        assert clients.effects == [(2.0, "a"), (4.0, "b")]  # served 2 -> 4 for nobody
        assert (pool.stats.shed, page.stats.shed, page.stats.wasted) == (0, 0, 1)
        assert pool.stats.completed == 2


def test_requests_are_served_first_come_first_served():
    env, pool = make_pool(workers=1)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    for k, t in enumerate([0.0, 0.25, 0.5, 0.75]):
        clients.send_at(t, page, "abcd"[k])
    env.run_until(HORIZON)
    assert clients.effects == [(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]
    # waits: b 1 - 0.25, c 2 - 0.5, d 3 - 0.75
    assert pool.stats.wait_sum == 0.75 + 1.5 + 2.25 and pool.stats.peak_queue == 3


def test_growing_a_pool_starts_queued_requests_at_once():
    env, pool = make_pool(workers=1)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    for name in "abc":
        clients.send(page, name)
    at(env, 0.5, lambda _: pool.resize(3))
    env.run_until(HORIZON)
    # without the resize b and c would end at 2 and 3; with it both start at 0.5
    assert clients.answers == [(1.0, "a", "a"), (1.5, "b", "b"), (1.5, "c", "c")]
    snapshot = pool.stats.snapshot(HORIZON, pool.busy, pool.in_pool())
    assert snapshot["peak_workers"] == 3 and snapshot["worker_seconds"] == 1 * 0.5 + 3 * 9.5


def test_shrinking_a_pool_lets_busy_workers_finish_and_then_serves_with_fewer():
    env, pool = make_pool(workers=3)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    for name in "abcde":
        clients.send(page, name)
    levels = []
    at(env, 0.5, lambda _: pool.resize(1))
    at(env, 0.75, lambda _: levels.append((pool.workers, pool.busy, len(pool.queue))))
    env.run_until(HORIZON)
    assert levels == [(1, 3, 2)]  # three still at work under a count of one
    # a, b, c finish at 1; then one worker: d 1 -> 2, e 2 -> 3 (three workers would have ended both at 2)
    assert [(t, name) for t, name, _ in clients.answers] == [(1.0, "a"), (1.0, "b"), (1.0, "c"), (2.0, "d"), (3.0, "e")]
    snapshot = pool.stats.snapshot(HORIZON, pool.busy, pool.in_pool())
    # worker-seconds: 3 for 0.5 s, then 1 to the horizon, plus the 2 extra busy workers from 0.5 to 1
    assert snapshot["worker_seconds"] == 3 * 0.5 + 1 * 9.5 + 2 * 0.5
    assert snapshot["busy_area"] == 5.0  # five services of 1 s


def test_busy_and_in_pool_obey_littles_law_on_a_hand_worked_timeline():
    env, pool = make_pool(workers=1, horizon=5.0)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    sends = {"a": 0.0, "b": 0.5, "c": 1.25, "d": 3.5}
    for name, t in sends.items():
        clients.send_at(t, page, name)
    levels = []
    at(env, 1.5, lambda _: levels.append((pool.busy, len(pool.queue), pool.in_pool())))
    # a 0 -> 1; b waits 0.5, 1 -> 2; c waits 0.75, 2 -> 3; d 3.5 -> 4.5
    env.run_until(5.0)
    assert levels == [(1, 1, 2)]  # at 1.5: b in service, c queued
    assert [t for t, _, _ in clients.answers] == [1.0, 2.0, 3.0, 4.5]
    s = pool.stats.snapshot(5.0, pool.busy, pool.in_pool())
    assert (s["admitted"], s["started"], s["completed"], s["waited"]) == (4, 4, 4, 2)
    assert s["wait_sum"] == 0.5 + 0.75
    assert s["busy_area"] == 4.0  # four services of 1 s: utilisation 4 / 5 = 0.8
    # sojourns: a 1, b 1.5, c 1.75, d 1 = 5.25 s
    assert s["sojourn_sum"] == 5.25 and s["in_pool_area"] == 5.25
    # Little: L = 5.25 / 5 = 1.05 requests inside on average = lambda W = (4 / 5) * (5.25 / 4)
    assert s["in_pool_area"] / 5.0 == pytest.approx((s["completed"] / 5.0) * (s["sojourn_sum"] / s["completed"]))


def test_requests_still_inside_at_the_horizon_count_until_it():
    env, pool = make_pool(workers=1, horizon=4.0)
    page = endpoint(pool, service=1.0)
    clients = Clients(env)
    for name, t in {"a": 0.0, "b": 0.5, "c": 1.25, "d": 3.5}.items():
        clients.send_at(t, page, name)
    env.run_until(4.0)  # d is half served
    assert (pool.busy, pool.in_pool()) == (1, 1)
    s = pool.stats.snapshot(4.0, pool.busy, pool.in_pool())
    assert (s["admitted"], s["started"], s["completed"]) == (4, 4, 3)
    assert s["busy_area"] == 3.5  # a, b, c 1 s each, d 0.5 s
    assert s["in_pool_area"] == 1.0 + 1.5 + 1.75 + 0.5
    assert s["sojourn_sum"] == 1.0 + 1.5 + 1.75  # only those that left
