"""Closed-form queueing results against published values, textbook formulas and brute-force sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.analysis import theory
from simulator.analysis.theory import (
    erlang_a,
    erlang_b,
    erlang_c,
    littles_law_gap,
    mmc,
    mmck,
    servers_for_blocking,
    servers_for_service_level,
    servers_for_wait,
)


def _normalise(weights: list[float]) -> list[float]:
    total = math.fsum(weights)
    return [w / total for w in weights]


def _birth_death_brute(lam: float, death, n_max: int) -> list[float]:
    """Stationary distribution by the plain product formula (small loads only)."""
    w = [1.0]
    for n in range(1, n_max + 1):
        w.append(w[-1] * lam / death(n))
    return _normalise(w)


def _log_sum_exp(xs: list[float]) -> float:
    top = max(xs)
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


# Erlang B and C


def test_erlang_b_matches_published_table_value():
    assert erlang_b(10, 5.0) == pytest.approx(0.018384, abs=1e-6)  # 0.0183846


@pytest.mark.parametrize("a", [0.1, 1.0, 7.5, 300.0])
def test_erlang_b_with_one_server_is_a_over_one_plus_a(a):
    assert erlang_b(1, a) == pytest.approx(a / (1 + a), rel=1e-14)


def test_erlang_b_with_no_servers_blocks_everyone_and_rejects_bad_input():
    assert erlang_b(0, 3.0) == 1.0
    with pytest.raises(ValueError):
        erlang_b(-1, 3.0)
    with pytest.raises(ValueError):
        erlang_b(3, -0.5)


@pytest.mark.parametrize("rho", [0.05, 0.5, 0.93])
def test_erlang_c_with_one_server_is_the_utilisation(rho):
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-14)


def test_erlang_c_two_servers_one_erlang_is_one_third():
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-14)


def test_erlang_c_is_one_when_offered_load_reaches_the_workers():
    assert erlang_c(5, 5.0) == 1.0
    assert erlang_c(5, 9.0) == 1.0
    assert erlang_c(5, 4.999) < 1.0


def test_large_pool_erlang_b_and_c_match_log_space_sums():
    c, a = 2000, 1900.0
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c + 1)]
    b_ref = math.exp(logs[c] - _log_sum_exp(logs))
    top = logs[c] + math.log(c / (c - a))
    c_ref = math.exp(top - _log_sum_exp(logs[:c] + [top]))
    b, cc = erlang_b(c, a), erlang_c(c, a)
    assert 0 < b < cc < 1
    assert b == pytest.approx(b_ref, rel=1e-9)
    assert cc == pytest.approx(c_ref, rel=1e-9)


# M/M/c


def test_mm1_mean_wait_is_rho_over_mu_minus_lam():
    lam, mu = 3.0, 4.0
    q = mmc(lam, mu, 1)
    rho = lam / mu
    assert q.mean_wait == pytest.approx(rho / (mu - lam), rel=1e-13)
    assert q.mean_response == pytest.approx(1 / (mu - lam), rel=1e-13)
    assert q.mean_in_system == pytest.approx(rho / (1 - rho), rel=1e-13)
    assert q.p_wait == pytest.approx(rho, rel=1e-13)


def test_mm2_queue_length_matches_closed_form():
    lam, mu = 3.0, 2.0
    rho = lam / (2 * mu)
    assert mmc(lam, mu, 2).mean_queue == pytest.approx(2 * rho**3 / (1 - rho**2), rel=1e-13)


def test_call_centre_case_matches_brute_force_birth_death_sum():
    # 100 calls/h, 6 min mean handling (10 calls/h per agent), 12 agents, answered within 20 s.
    lam, mu, c, t = 100.0, 10.0, 12, 20 / 3600
    p = _birth_death_brute(lam, lambda n: min(n, c) * mu, 400)  # rho^400 ~ 1e-32
    p_wait = math.fsum(p[c:])
    lq = math.fsum((n - c) * pn for n, pn in enumerate(p) if n > c)
    # An arrival finding n >= c waits for n-c+1 departures at rate c*mu: an Erlang(n-c+1) wait,
    # late (> t) with probability P(Poisson(c*mu*t) <= n-c).
    x = c * mu * t
    term, below, late = math.exp(-x), 0.0, []
    for i, n in enumerate(range(c, len(p))):
        below += term
        term *= x / (i + 1)
        late.append(p[n] * below)
    q = mmc(lam, mu, c)
    assert q.p_wait == pytest.approx(p_wait, rel=1e-10)
    assert q.mean_queue == pytest.approx(lq, rel=1e-10)
    assert q.mean_wait == pytest.approx(lq / lam, rel=1e-10)
    assert q.service_level(t) == pytest.approx(1 - math.fsum(late), rel=1e-10)
    assert q.utilisation == pytest.approx(100 / 120)


def test_mmc_obeys_littles_law():
    q = mmc(47.0, 5.0, 11)
    assert littles_law_gap(q.lam, q.mean_response, q.mean_in_system) < 1e-13
    assert littles_law_gap(q.lam, q.mean_wait, q.mean_queue) < 1e-13


def test_littles_law_gap_is_relative_to_the_mean_number():
    assert littles_law_gap(2.0, 3.0, 5.0) == pytest.approx(0.2)
    assert littles_law_gap(2.0, 3.0, 6.0) == 0.0


def test_service_level_starts_at_one_minus_p_wait_and_rises_to_one():
    q = mmc(9.0, 1.0, 10)
    assert q.service_level(0.0) == pytest.approx(1 - q.p_wait, rel=1e-14)
    assert q.service_level(1.0) == pytest.approx(1 - q.p_wait * math.exp(-1.0), rel=1e-14)
    assert q.service_level(100.0) == pytest.approx(1.0, abs=1e-15)


def test_mmc_rejects_unstable_and_non_positive_inputs():
    with pytest.raises(ValueError, match="unstable"):
        mmc(10.0, 1.0, 10)
    with pytest.raises(ValueError, match="lam"):
        mmc(0.0, 1.0, 3)
    with pytest.raises(ValueError, match="mu"):
        mmc(1.0, -1.0, 3)
    with pytest.raises(ValueError, match="workers"):
        mmc(1.0, 1.0, 0)


# M/M/c/K


def test_mmck_with_huge_capacity_converges_to_mmc():
    big, inf = mmck(9.0, 1.0, 10, 5000), mmc(9.0, 1.0, 10)
    assert big.p_block < 1e-200
    assert big.mean_wait == pytest.approx(inf.mean_wait, rel=1e-9)
    assert big.mean_queue == pytest.approx(inf.mean_queue, rel=1e-9)
    assert big.mean_in_system == pytest.approx(inf.mean_in_system, rel=1e-9)


def test_mmck_without_waiting_room_is_erlang_b():
    q = mmck(5.0, 1.0, 10, 10)
    assert q.p_block == pytest.approx(erlang_b(10, 5.0), rel=1e-12)
    assert q.throughput == pytest.approx(5.0 * (1 - erlang_b(10, 5.0)), rel=1e-12)
    assert q.mean_queue == 0.0
    assert q.mean_response == pytest.approx(1.0, rel=1e-12)


def test_overloaded_mm1k_matches_closed_form():
    lam, mu, k = 3.0, 2.0, 7
    rho = lam / mu
    q = mmck(lam, mu, 1, k)
    assert q.p_block == pytest.approx((1 - rho) * rho**k / (1 - rho ** (k + 1)), rel=1e-12)
    big_l = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
    assert q.mean_in_system == pytest.approx(big_l, rel=1e-12)


def test_mmck_throughput_is_admitted_rate_and_response_is_wait_plus_service():
    q = mmck(14.0, 1.0, 12, 30)
    assert q.throughput == pytest.approx(q.lam * (1 - q.p_block), rel=1e-12)
    assert q.utilisation == pytest.approx(q.throughput / 12, rel=1e-12)
    assert q.mean_response == pytest.approx(q.mean_wait + 1.0, rel=1e-12)
    assert littles_law_gap(q.throughput, q.mean_response, q.mean_in_system) < 1e-12


def test_mmck_handles_huge_capacity_in_overload_and_large_pools():
    q = mmck(2.0, 1.0, 1, 100_000)
    assert q.p_block == pytest.approx(0.5, rel=1e-12)
    assert q.throughput == pytest.approx(1.0, rel=1e-12)
    big = mmck(1900.0, 1.0, 2000, 2500)
    assert 0 <= big.p_block < 1e-12
    assert big.utilisation == pytest.approx(0.95, rel=1e-9)


# Erlang A (M/M/c+M)


def test_erlang_a_with_tiny_abandonment_converges_to_erlang_c():
    q, ref = erlang_a(8.0, 1.0, 10, 1e-9), mmc(8.0, 1.0, 10)
    assert q.p_wait == pytest.approx(ref.p_wait, rel=1e-6)
    assert q.mean_wait == pytest.approx(ref.mean_wait, rel=1e-6)
    assert q.p_abandon < 1e-9
    assert q.p_wait_within(0.5) == pytest.approx(ref.service_level(0.5), rel=1e-6)


def test_erlang_a_with_patience_equal_to_service_is_poisson_like_infinite_servers():
    # theta = mu: every request leaves at rate mu whether waiting or served, so N ~ Poisson(lam/mu).
    a, c = 8.0, 10
    pois = [math.exp(-a + n * math.log(a) - math.lgamma(n + 1)) for n in range(200)]
    q = erlang_a(a, 1.0, c, 1.0)
    assert q.p_wait == pytest.approx(math.fsum(pois[c:]), rel=1e-10)
    lq = math.fsum((n - c) * p for n, p in enumerate(pois) if n > c)
    assert q.mean_queue == pytest.approx(lq, rel=1e-10)


def test_erlang_a_matches_brute_force_birth_death_sum():
    lam, mu, c, theta = 4.0, 1.0, 3, 0.5
    p = _birth_death_brute(lam, lambda n: min(n, c) * mu + max(n - c, 0) * theta, 300)
    lq = math.fsum((n - c) * pn for n, pn in enumerate(p) if n > c)
    q = erlang_a(lam, mu, c, theta)
    assert q.p_wait == pytest.approx(math.fsum(p[c:]), rel=1e-12)
    assert q.mean_queue == pytest.approx(lq, rel=1e-12)
    assert q.p_abandon == pytest.approx(theta * lq / lam, rel=1e-12)
    assert q.utilisation == pytest.approx(lam * (1 - q.p_abandon) / (c * mu), rel=1e-12)


def test_overloaded_erlang_a_serves_at_full_capacity_and_sheds_the_rest():
    lam, mu, c, theta = 1000.0, 1.0, 50, 1.0
    q = erlang_a(lam, mu, c, theta)
    assert lam * (1 - q.p_abandon) == pytest.approx(c * mu, rel=1e-9)
    assert q.p_abandon == pytest.approx(0.95, rel=1e-9)
    assert q.mean_queue == pytest.approx((lam - c * mu) / theta, rel=1e-9)
    assert q.p_wait == pytest.approx(1.0, abs=1e-12)


def _answered_within_by_ode(lam, mu, c, theta, t, depth=40, steps=4000):
    """Tagged arrival with k ahead: k drops at rate c*mu + k*theta, it is served from k = 0 at rate
    c*mu and abandons at rate theta. Integrates the forward equations with RK4."""
    p = _birth_death_brute(lam, lambda n: min(n, c) * mu + max(n - c, 0) * theta, c + depth)
    u = np.array(p[c:])  # P(still waiting, k ahead), started from the arrival's view (PASTA)
    exit_rate = c * mu + (np.arange(len(u)) + 1) * theta

    def deriv(v):
        inflow = np.append(v[1:] * exit_rate[:-1], 0.0)
        return inflow - exit_rate * v

    dt = t / steps
    served = 0.0
    for _ in range(steps):
        k1 = deriv(u)
        k2 = deriv(u + dt / 2 * k1)
        k3 = deriv(u + dt / 2 * k2)
        k4 = deriv(u + dt * k3)
        heads = u[0] + 2 * (u + dt / 2 * k1)[0] + 2 * (u + dt / 2 * k2)[0] + (u + dt * k3)[0]
        served += c * mu * dt / 6 * heads
        u = u + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return math.fsum(p[:c]) + served


def test_erlang_a_answered_within_t_matches_tagged_customer_equations():
    lam, mu, c, theta, t = 4.0, 1.0, 3, 0.5, 0.7
    expected = _answered_within_by_ode(lam, mu, c, theta, t)
    assert erlang_a(lam, mu, c, theta).p_wait_within(t) == pytest.approx(expected, rel=1e-7)


def test_erlang_a_answered_within_runs_from_immediate_service_to_all_not_abandoning():
    q = erlang_a(4.0, 1.0, 3, 0.5)
    assert q.p_wait_within(0.0) == pytest.approx(1 - q.p_wait, rel=1e-14)
    assert q.p_wait_within(math.inf) == pytest.approx(1 - q.p_abandon, rel=1e-12)
    values = [q.p_wait_within(t) for t in (0.1, 0.5, 1.0, 3.0, 10.0)]
    assert values == sorted(values)
    assert 1 - q.p_wait < values[0] and values[-1] < 1 - q.p_abandon


def test_erlang_a_large_pool_runs_with_probabilities_in_range():
    for lam in (1900.0, 2100.0):
        q = erlang_a(lam, 1.0, 2000, 0.01)
        for value in (q.p_wait, q.p_abandon, q.utilisation, q.p_wait_within(0.05)):
            assert 0.0 <= value <= 1.0
        assert q.p_wait_within(math.inf) == pytest.approx(1 - q.p_abandon, rel=1e-9)
    assert erlang_a(2100.0, 1.0, 2000, 0.01).p_abandon == pytest.approx(100 / 2100, rel=1e-9)


def test_erlang_a_rejects_zero_patience_rate():
    with pytest.raises(ValueError, match="theta"):
        erlang_a(1.0, 1.0, 2, 0.0)


# Sizing


def test_servers_for_blocking_reads_the_erlang_b_table():
    assert servers_for_blocking(5.0, 0.02) == 10  # B(10, 5) = 0.0184, B(9, 5) = 0.0375


@pytest.mark.parametrize("a, max_block", [(0.5, 0.3), (12.0, 0.01), (5000.0, 0.001)])
def test_servers_for_blocking_is_the_smallest_pool_meeting_the_bound(a, max_block):
    c = servers_for_blocking(a, max_block)
    assert erlang_b(c, a) <= max_block < erlang_b(c - 1, a)


@pytest.mark.parametrize("lam, mu, bound", [(100.0, 10.0, 0.01), (5000.0, 1.0, 0.001), (0.5, 1.0, 10.0)])
def test_servers_for_wait_is_the_smallest_pool_meeting_the_bound(lam, mu, bound):
    c = servers_for_wait(lam, mu, bound)
    assert mmc(lam, mu, c).mean_wait <= bound
    if (c - 1) * mu > lam:
        assert mmc(lam, mu, c - 1).mean_wait > bound


@pytest.mark.parametrize("lam, mu, t, target", [(100.0, 10.0, 20 / 3600, 0.8), (5000.0, 1.0, 0.02, 0.95)])
def test_servers_for_service_level_is_the_smallest_pool_meeting_the_target(lam, mu, t, target):
    c = servers_for_service_level(lam, mu, t, target)
    assert mmc(lam, mu, c).service_level(t) >= target
    assert (c - 1) * mu <= lam or mmc(lam, mu, c - 1).service_level(t) < target


def test_call_centre_needs_fourteen_agents_for_eighty_percent_in_twenty_seconds():
    # 10 erlangs (100 calls/h, 6 min calls): 13 agents answer 75.9% within 20 s, 14 agents 86.1%.
    assert mmc(100.0, 10.0, 13).service_level(20 / 3600) == pytest.approx(0.7585, abs=1e-4)
    assert mmc(100.0, 10.0, 14).service_level(20 / 3600) == pytest.approx(0.8606, abs=1e-4)
    assert servers_for_service_level(100.0, 10.0, 20 / 3600, 0.8) == 14


@pytest.mark.parametrize("lam, mu, c", [(8.0, 1.0, 10), (2.0, 0.5, 5), (9.0, 1.0, 10), (1.0, 1.0, 2)])
def test_response_tail_integrates_to_the_mean_response(lam, mu, c):
    m = theory.mmc(lam, mu, c)
    assert m.response_tail(0) == pytest.approx(1.0)
    step = 0.01 / mu
    ts = [k * step for k in range(int(80 / mu / step))]
    area = math.fsum(m.response_tail(t) for t in ts) * step - step / 2  # trapezoid from t = 0
    assert area == pytest.approx(m.mean_response, rel=2e-3)


def test_response_tail_is_continuous_where_both_rates_meet():
    # c*mu - lam == mu takes the (1 + mu t) e^(-mu t) branch; its neighbours must agree with it
    at = theory.mmc(3.0, 1.0, 4).response_tail(2.0)
    assert theory.mmc(3.0 + 1e-7, 1.0, 4).response_tail(2.0) == pytest.approx(at, rel=1e-5)


def test_servers_for_response_is_the_fewest_meeting_the_quantile():
    c = theory.servers_for_response(10, 1, 5.5, 0.99)
    assert theory.mmc(10, 1, c).response_tail(5.5) <= 0.01 < theory.mmc(10, 1, c - 1).response_tail(5.5)
    with pytest.raises(ValueError, match="service alone"):
        theory.servers_for_response(10, 1, 2, 0.99)  # e^-2 of requests take longer than 2 s on their own


def test_agents_for_service_level_uses_erlang_c_or_a():
    lam, mu, t = 0.5, 1 / 60, 20
    assert theory.agents_for_service_level(lam, mu, t, 0.8) == theory.servers_for_service_level(lam, mu, t, 0.8)
    c = theory.agents_for_service_level(lam, mu, t, 0.8, theta=1 / 120, max_abandon=0.02)
    ok = theory.erlang_a(lam, mu, c, 1 / 120)
    short = theory.erlang_a(lam, mu, c - 1, 1 / 120)
    assert ok.p_wait_within(t) >= 0.8 and ok.p_abandon <= 0.02
    assert short.p_wait_within(t) < 0.8 or short.p_abandon > 0.02
    brute = next(
        k
        for k in range(1, 200)
        if theory.erlang_a(lam, mu, k, 1 / 120).p_wait_within(t) >= 0.8
        and theory.erlang_a(lam, mu, k, 1 / 120).p_abandon <= 0.02
    )
    assert c == brute


def test_fluid_servers_absorb_a_burst_within_the_delay():
    # 100 worker-seconds arriving in one second, then nothing: c workers clear it in 100/c s, so the
    # last request waits 100/c - 1 s; a delay of 4 s needs c = 100 / (1 + 4) = 20
    assert theory.fluid_servers([0, 0, 100, 0, 0, 0, 0, 0], 4.0) == pytest.approx(20.0)
    # a steady stream needs its rate, however long the delay
    assert theory.fluid_servers([7.0] * 512, 1.0) == pytest.approx(7.0 * 512 / 513)
