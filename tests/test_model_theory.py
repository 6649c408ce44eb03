"""The model's queueing core against closed forms: Erlang C, M/M/c/K and Little's law."""

import pytest

from simulator import load_scenario, simulate
from simulator.analysis.theory import mmc, mmck

STEADY = "scenarios/steady-state.yaml"


def run_steady(workers: int, lam: float, hours: float, extra: tuple[str, ...] = (), reps: int = 5):
    size = int(lam * hours * 3600)
    scenario = load_scenario(
        STEADY, [f"system.pools.web.workers={workers}", f"audience.size={size}", f"clock.horizon={hours}h", *extra]
    )
    return simulate(scenario, replications=reps, jobs=2).summary


def inside(ci: list[float], value: float) -> bool:
    return ci[0] <= value <= ci[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "lam", "hours"),
    [(1, 0.5, 6), (4, 3.2, 2), (10, 9.0, 1.5), (20, 19.0, 3)],  # utilisation 0.5, 0.8, 0.9, 0.95
)
def test_erlang_c_wait_and_probability_of_wait_match_theory(workers, lam, hours):
    pool = run_steady(workers, lam, hours)["pools"]["web"]
    theory = mmc(lam, 1.0, workers)
    assert inside(pool["mean_wait"]["ci95"], theory.mean_wait), (pool["mean_wait"], theory.mean_wait)
    assert inside(pool["p_wait"]["ci95"], theory.p_wait), (pool["p_wait"], theory.p_wait)
    assert inside(pool["utilisation"]["ci95"], theory.utilisation)


def test_bounded_queue_blocking_matches_mmck():
    summary = run_steady(5, 5.0, 1, ("system.pools.web.queue_limit=5",))
    endpoint = summary["endpoints"]["product_page"]
    theory = mmck(5.0, 1.0, 5, 10)
    blocked = endpoint["rejected"]["mean"] / endpoint["requests"]["mean"]
    assert abs(blocked - theory.p_block) < 0.1 * theory.p_block, (blocked, theory.p_block)
    assert endpoint["error_rate"]["ci95"][0] <= theory.p_block <= endpoint["error_rate"]["ci95"][1]


def test_littles_law_holds_on_the_pool():
    pool = run_steady(12, 10.0, 1, reps=2)["pools"]["web"]
    lam, w, n = pool["throughput"]["mean"], pool["mean_time_in_pool"]["mean"], pool["mean_in_pool"]["mean"]
    assert abs(n - lam * w) / n < 0.01
    assert abs(n - mmc(10.0, 1.0, 12).mean_in_system) / n < 0.1


def test_a_step_of_two_requests_queues_twice_as_kellys_network_says():
    """Each shopper's page is two requests in a row on one exponential server: a FIFO queue with one service
    rate for every visit is quasi-reversible (Kelly), so it behaves as M/M/1 at twice the shoppers' rate."""
    lam = 0.3
    summary = run_steady(1, lam, 6, ("system.endpoints.product_page.requests=2",))
    pool, page = summary["pools"]["web"], summary["endpoints"]["product_page"]
    theory = mmc(2 * lam, 1.0, 1)
    assert inside(pool["mean_wait"]["ci95"], theory.mean_wait), (pool["mean_wait"], theory.mean_wait)
    assert inside(pool["utilisation"]["ci95"], theory.utilisation)
    assert abs(page["requests"]["mean"] / (2 * lam * 6 * 3600) - 1) < 0.03
