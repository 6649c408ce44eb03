"""What a request holds besides its worker: locks, connection pools, CPU cores, a cache.

Unit cases on hand-worked timelines, then each resource in a stationary model run against its closed
form: a lock alone is an M/G/1 queue (Pollaczek-Khinchine: its wait depends on the hold time's
variability); a core shared by processor sharing has mean response mean / (1 - rho) whatever the demand's
distribution; a lock caps throughput at 1 / hold whatever the workers; a connection pool at size / time held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import simulate
from simulator.analysis.theory import mg1_wait, mg1_wake_response, ps_response
from simulator.engine import Cores, Engine, Holdable, SharedCore
from simulator.scenario import ScenarioError
from tests.conftest import load_text

# -- the resources alone ------------------------------------------------------------------------


def test_a_held_unit_goes_to_the_first_in_line_when_given_back() -> None:
    env = Engine()
    lock = Holdable(env, "row", 1)
    order: list[tuple[str, float]] = []

    def holder(name: str, arrive: float, hold: float):
        yield arrive
        yield lock.acquire()
        order.append((name, env.now))
        yield hold
        lock.release()

    env.drive(holder("a", 0.0, 2.0))
    env.drive(holder("b", 0.5, 1.0))
    env.drive(holder("c", 1.0, 1.0))
    env.run_until(10.0)
    # a holds 0-2, b waited 1.5 s and holds 2-3, c waited 2 s and holds 3-4
    assert order == [("a", 0.0), ("b", 2.0), ("c", 3.0)]
    snap = lock.snapshot(10.0)
    assert snap["acquired"] == 3 and snap["waited"] == 2
    assert snap["wait_sum"] == pytest.approx(3.5)
    assert snap["held_area"] == pytest.approx(4.0)


def test_a_connection_pool_lets_size_requests_hold_at_once() -> None:
    env = Engine()
    pool = Holdable(env, "db", 2)
    started: list[float] = []

    def user():
        yield pool.acquire()
        started.append(env.now)
        yield 1.0
        pool.release()

    for _ in range(5):
        env.drive(user())
    env.run_until(10.0)
    assert started == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert pool.snapshot(10.0)["peak_queue"] == 3


def test_a_shared_core_serves_its_jobs_at_one_over_n_speed() -> None:
    env = Engine()
    core = SharedCore(env, "web:0")
    done: dict[str, float] = {}

    def job(name: str, arrive: float, work: float):
        yield arrive
        yield core.run(work)
        done[name] = env.now

    env.drive(job("a", 0.0, 2.0))
    env.drive(job("b", 1.0, 0.5))
    env.run_until(10.0)
    # a alone for 1 s (1 s of work left); then both at half speed: b's 0.5 s takes 1 s (done at 2),
    # a has 0.5 s left at 2 and finishes alone at 2.5
    assert done == {"b": pytest.approx(2.0), "a": pytest.approx(2.5)}
    snap = core.snapshot(10.0)
    assert snap["busy_area"] == pytest.approx(2.5) and snap["completed"] == 2 and snap["peak_jobs"] == 2


def test_processes_more_than_the_cores_share_them_while_more_have_work() -> None:
    env = Engine()
    cores = Cores(1)
    first, second = SharedCore(env, "web:0", cores=cores), SharedCore(env, "web:1", cores=cores)
    done: dict[str, float] = {}

    def job(name: str, process: SharedCore, arrive: float, work: float):
        yield arrive
        yield process.run(work)
        done[name] = env.now

    env.drive(job("a", first, 0.0, 1.0))
    env.drive(job("b", second, 0.5, 1.0))
    env.run_until(10.0)
    # a alone for 0.5 s; then the two processes at half a core each: a's last 0.5 s takes 1 s (done at 1.5),
    # b has done 0.5 s by then and finishes its last 0.5 s alone at 2.0
    assert done == {"a": pytest.approx(1.5), "b": pytest.approx(2.0)}
    assert first.snapshot(10.0)["work"] == pytest.approx(1.0)
    assert second.snapshot(10.0)["busy_area"] == pytest.approx(1.5)  # busy 1.5 s to do its 1 s of work


# -- stationary model runs against closed forms ----------------------------------------------------

STATIONARY = """
name: resources
clock: {{start: "00:00", horizon: {hours}h}}
seed: 11
replications: 5
audience:
  size: {size}
  arrivals: {{shape: flat}}
  behaviour:
    retry: {{max_retries: 0}}
    funnel: {{buy: 0}}
sales:
  - {{name: steady, open: "+0s", sku: item, price: 1}}
system:
  pools:
    web: {{workers: {workers}, processes: 1}}
  locks:
    row: {{}}
  connections:
    db: {{size: {connections}}}
  endpoints:
    product_page:
      pool: web
      timeout: null
{endpoint}
inventory:
  skus:
    item: {{stock: 1}}
"""


def run(
    tmp_path: Path, endpoint: str, lam: float, hours: float = 1.0, workers: int = 500, connections: int = 1
) -> dict:
    size = int(lam * hours * 3600)
    text = STATIONARY.format(hours=hours, size=size, workers=workers, connections=connections, endpoint=endpoint)
    return simulate(load_text(tmp_path, text), jobs=2).summary


def inside(leaf: dict, value: float) -> bool:
    lo, hi = leaf["ci95"]
    return lo <= value <= hi


@pytest.mark.parametrize("hold, cv", [("exp(100ms)", 1.0), ("const(100ms)", 0.0)])
def test_a_lock_alone_waits_as_an_mg1_queue(hold: str, cv: float, tmp_path: Path) -> None:
    # rho = 8/s x 0.1 s = 0.8: Pollaczek-Khinchine gives 0.4 s (exponential hold) and 0.2 s (constant):
    # the lock's wait depends on the hold time's variability, unlike a processor-sharing core's
    summary = run(tmp_path, f"      service: const(0s)\n      lock: row\n      hold: {hold}", lam=8.0)
    lock = summary["resources"]["row"]
    expected = mg1_wait(8.0, 0.1, cv)
    assert inside(lock["mean_wait"], expected), (lock["mean_wait"], expected)
    assert inside(lock["utilisation"], 0.8), lock["utilisation"]


@pytest.mark.parametrize("demand", ["exp(100ms)", "const(100ms)", "gamma(100ms, 2)"])
def test_a_shared_core_responds_in_mean_over_one_less_rho_whatever_the_demand(demand: str, tmp_path: Path) -> None:
    summary = run(tmp_path, f"      service: const(0s)\n      cpu: {demand}", lam=8.0)
    latency = summary["endpoints"]["product_page"]["latency_mean"]
    expected = ps_response(8.0, 0.1)  # 0.5 s for every distribution of the demand
    assert inside(latency, expected), (demand, latency, expected)
    assert inside(summary["resources"]["cpu_web"]["utilisation"], 0.8)


@pytest.mark.parametrize("workers", [50, 500])
def test_a_lock_caps_throughput_at_one_over_hold_whatever_the_workers(workers: int, tmp_path: Path) -> None:
    # 20 requests/s offered to a lock held 100 ms: 10 served a second, whatever the workers behind it
    summary = run(
        tmp_path,
        "      service: const(0s)\n      connection: db\n      lock: row\n"
        "      hold: const(100ms)\n      db: const(10ms)",
        lam=20.0,
        hours=0.25,
        workers=workers,
        connections=workers,
    )
    throughput = summary["endpoints"]["product_page"]["throughput"]["mean"]
    assert throughput == pytest.approx(10.0, rel=0.01)
    assert summary["resources"]["row"]["utilisation"]["mean"] == pytest.approx(1.0, abs=0.01)


def test_a_connection_pool_caps_throughput_at_size_over_time_held(tmp_path: Path) -> None:
    # 2 connections held 200 ms each: 10 requests/s, of 20 offered; the workers wait holding their slot
    summary = run(
        tmp_path,
        "      service: const(0s)\n      connection: db\n      db: const(200ms)",
        lam=20.0,
        hours=0.25,
        connections=2,
    )
    throughput = summary["endpoints"]["product_page"]["throughput"]["mean"]
    assert throughput == pytest.approx(10.0, rel=0.01)
    pool = summary["pools"]["web"]
    assert pool["mean_in_pool"]["mean"] > 100  # the backlog waits inside the web pool, holding workers


def test_a_cache_answers_its_share_at_its_own_time_and_holds_nothing_else(tmp_path: Path) -> None:
    # half the requests in 10 ms from the cache, the rest 110 ms holding the lock (at 2/s: little contention)
    summary = run(
        tmp_path,
        "      service: const(10ms)\n      lock: row\n      hold: const(100ms)\n"
        "      cache: {hit: 50%, service: const(10ms)}",
        lam=2.0,
    )
    lock = summary["resources"]["row"]
    requests = summary["endpoints"]["product_page"]["requests"]["mean"]
    assert lock["throughput"]["mean"] * 3600 / requests == pytest.approx(0.5, abs=0.02)
    wait = mg1_wait(1.0, 0.1, 0.0)  # the lock sees half the arrivals: M/D/1 at rho 0.1
    expected = 0.5 * 0.010 + 0.5 * (0.010 + 0.100 + wait)
    assert inside(summary["endpoints"]["product_page"]["latency_mean"], expected)


def test_a_lock_no_request_takes_stays_idle(tmp_path: Path) -> None:
    summary = run(tmp_path, "      service: exp(100ms)", lam=2.0, hours=0.1)
    assert "resources" in summary  # the scenario declares a lock and a connection pool
    assert summary["resources"]["row"]["throughput"]["mean"] == 0


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ("      service: 1ms\n      lock: row", "lock and hold go together"),
        ("      service: 1ms\n      lock: nope\n      hold: 1ms", "no lock named 'nope'"),
        ("      service: 1ms\n      connection: pool\n      db: 1ms", "no connection pool named 'pool'"),
        ("      service: 1ms\n      db: 1ms", "needs a connection pool"),
        ("      service: 1ms\n      cpu_held: 1ms", "cpu_held: CPU run holding a connection needs a connection pool"),
    ],
)
def test_a_wrong_resource_is_named_in_the_error(endpoint: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(tmp_path, STATIONARY.format(hours=1, size=10, workers=1, connections=1, endpoint=endpoint))
    assert message in str(info.value)


@pytest.mark.parametrize("demand, cv", [("exp(100ms)", 1.0), ("const(100ms)", 0.0)])
def test_a_fifo_core_responds_as_an_mg1_queue(demand: str, cv: float, tmp_path: Path) -> None:
    # one request's CPU at a time, in arrival order (an event loop): Pollaczek-Khinchine's wait plus the demand,
    # 0.5 s (exponential) and 0.3 s (constant), where a shared core gives 0.5 s for both
    endpoint = f"      service: const(0s)\n      cpu: {demand}"
    text = STATIONARY.format(hours=1.0, size=int(8.0 * 3600), workers=500, connections=1, endpoint=endpoint)
    summary = simulate(load_text(tmp_path, text, "system.pools.web.cpu_order=fifo"), jobs=2).summary
    expected = mg1_wait(8.0, 0.1, cv) + 0.1
    assert inside(summary["endpoints"]["product_page"]["latency_mean"], expected)


def test_cores_at_half_speed_in_some_seconds_serve_as_an_mg1_queue_with_twice_the_demand(tmp_path: Path) -> None:
    # the pace of the reference work twice the reference in every second: the same run as a demand twice as big
    # (the same draws, scaled); paced so only for the first half hour, fewer requests wait long
    endpoint = "      service: const(0s)\n      cpu: exp(50ms)"
    text = STATIONARY.format(hours=1.0, size=int(8.0 * 3600), workers=500, connections=1, endpoint=endpoint)
    fifo = "system.pools.web.cpu_order=fifo"
    slow = ["system.pools.web.cpu_reference=1ms", "system.pools.web.cpu_pace=[0.002]"]
    paced = simulate(load_text(tmp_path, text, fifo, *slow), jobs=2).summary["endpoints"]["product_page"]
    doubled = simulate(load_text(tmp_path, text.replace("exp(50ms)", "exp(100ms)"), fifo), jobs=2).summary
    assert paced["latency_mean"]["mean"] == pytest.approx(doubled["endpoints"]["product_page"]["latency_mean"]["mean"])
    assert inside(paced["latency_mean"], mg1_wait(8.0, 0.1, 1.0) + 0.1)
    half = ["system.pools.web.cpu_reference=1ms", f"system.pools.web.cpu_pace=[{', '.join(['0.002'] * 1800)}, 0.001]"]
    partly = simulate(load_text(tmp_path, text, fifo, *half), jobs=2).summary["endpoints"]["product_page"]
    fast = mg1_wait(8.0, 0.05, 1.0) + 0.05
    assert fast < partly["latency_mean"]["mean"] < paced["latency_mean"]["mean"]


@pytest.mark.parametrize("order", ["shared", "fifo"])
def test_processes_sharing_one_core_respond_as_one_mm1_queue(order: str, tmp_path: Path) -> None:
    # four processes on one core, requests dealt to them in turn: the core works whenever any has work and no
    # request's exponential demand is known in advance, so the requests in the server are those of M/M/1 and
    # respond in 1 / (mu - lambda) = 0.5 s at 8/s of exp(100 ms); four processes on four cores respond faster
    endpoint = "      service: const(0s)\n      cpu: exp(100ms)"
    text = STATIONARY.format(hours=1.0, size=int(8.0 * 3600), workers=500, connections=1, endpoint=endpoint)
    settings = [f"system.pools.web.cpu_order={order}", "system.pools.web.processes=4"]
    shared = simulate(load_text(tmp_path, text, *settings, "system.pools.web.cores=1"), jobs=2).summary
    assert inside(shared["endpoints"]["product_page"]["latency_mean"], 0.5)
    assert inside(shared["resources"]["cpu_web"]["utilisation"], 0.8)
    apart = simulate(load_text(tmp_path, text, *settings), jobs=2).summary
    assert apart["endpoints"]["product_page"]["latency_mean"]["mean"] < 0.25
    assert inside(apart["resources"]["cpu_web"]["utilisation"], 0.2)


def test_cores_without_processes_are_refused(tmp_path: Path) -> None:
    text = STATIONARY.format(hours=1.0, size=100, workers=5, connections=1, endpoint="      service: 1ms")
    with pytest.raises(ScenarioError) as info:
        load_text(tmp_path, text.replace("processes: 1", "cores: 1"))
    assert "cores needs processes" in str(info.value)


def test_a_pace_without_its_reference_is_refused(tmp_path: Path) -> None:
    endpoint = "      service: const(0s)\n      cpu: exp(50ms)"
    text = STATIONARY.format(hours=1.0, size=100, workers=5, connections=1, endpoint=endpoint)
    with pytest.raises(ScenarioError) as info:
        load_text(tmp_path, text, "system.pools.web.cpu_pace=[0.002]")
    assert "cpu_pace needs cpu_reference" in str(info.value)


def test_a_fifo_core_that_pays_a_wake_up_when_idle_responds_as_welchs_exceptional_first_service(tmp_path: Path) -> None:
    # a request finding its process idle pays 30 ms more (the loop waking): M/G/1 with exceptional first service,
    # 0.110 s at 8/s of exp(50 ms), where without wake-ups it is 0.083 s and with 30 ms on every request 0.222 s
    endpoint = "      service: const(0s)\n      cpu: exp(50ms)"
    text = STATIONARY.format(hours=1.0, size=int(8.0 * 3600), workers=500, connections=1, endpoint=endpoint)
    summary = simulate(
        load_text(tmp_path, text, "system.pools.web.cpu_order=fifo", "system.pools.web.cpu_wake=30ms"), jobs=2
    ).summary
    mean = summary["endpoints"]["product_page"]["latency_mean"]
    assert inside(mean, mg1_wake_response(8.0, 0.05, 1.0, 0.03))
    assert mg1_wait(8.0, 0.05, 1.0) + 0.05 < mean["mean"] < mg1_wait(8.0, 0.08, 1.0) + 0.08


def two_skus(tmp_path: Path, lam: float, hours: float, per_sku: bool) -> dict:
    """The stationary run with two SKUs, each coming for half the arrivals, and its lock one per SKU or one."""
    endpoint = "      service: const(0s)\n      lock: row\n      hold: const(100ms)"
    text = (
        STATIONARY.format(hours=hours, size=int(lam * hours * 3600), workers=500, connections=1, endpoint=endpoint)
        .replace(
            '  - {name: steady, open: "+0s", sku: item, price: 1}',
            '  - {name: a, open: "+0s", sku: a, price: 1, audience_share: 0.5}\n'
            '  - {name: b, open: "+0s", sku: b, price: 1, audience_share: 0.5}',
        )
        .replace("    item: {stock: 1}", "    a: {stock: 1}\n    b: {stock: 1}")
        .replace("    row: {}", f"    row: {{per_sku: {str(per_sku).lower()}}}")
    )
    return simulate(load_text(tmp_path, text), jobs=2).summary


def test_a_lock_per_sku_is_an_mg1_queue_per_sku(tmp_path: Path) -> None:
    # 16 requests/s, 8 for each SKU, to rows held 100 ms: each row is M/D/1 at rho 0.8 (0.2 s of wait), where
    # one lock for both would be overloaded (rho 1.6)
    summary = two_skus(tmp_path, lam=16.0, hours=1.0, per_sku=True)
    for sku in ("a", "b"):
        row = summary["resources"][f"row[{sku}]"]
        assert inside(row["mean_wait"], mg1_wait(8.0, 0.1, 0.0)), (sku, row["mean_wait"])
        assert inside(row["utilisation"], 0.8), (sku, row["utilisation"])
    assert "row" not in summary["resources"]


@pytest.mark.parametrize("per_sku, capacity", [(True, 20.0), (False, 10.0)])
def test_a_lock_per_sku_caps_each_skus_throughput(per_sku: bool, capacity: float, tmp_path: Path) -> None:
    # 40 requests/s, 20 for each SKU, to locks held 100 ms: 10 served a second per lock, one lock or one per SKU
    summary = two_skus(tmp_path, lam=40.0, hours=0.25, per_sku=per_sku)
    assert summary["endpoints"]["product_page"]["throughput"]["mean"] == pytest.approx(capacity, rel=0.01)


def test_cpu_run_holding_a_connection_makes_the_connection_queue_as_an_mg1_queue(tmp_path: Path) -> None:
    # one connection, held while the request's CPU runs (an asynchronous client reading its reply): requests queue
    # for the connection, not the core, as M/M/1 at rho 0.8 (0.4 s of wait); run before it, the CPU holds none
    held = run(tmp_path, "      service: const(0s)\n      connection: db\n      cpu_held: exp(100ms)", lam=8.0)
    connection = held["resources"]["db"]
    assert inside(connection["mean_wait"], mg1_wait(8.0, 0.1, 1.0)), connection["mean_wait"]
    assert inside(connection["utilisation"], 0.8)
    before = run(tmp_path, "      service: const(0s)\n      connection: db\n      cpu: exp(100ms)", lam=8.0, hours=0.25)
    assert before["resources"]["db"]["mean_wait"]["mean"] == 0
