"""Closed-form queueing results: oracles for the tests and warm starts for sizing.

Vocabulary: arrival rate `lam`, service rate `mu` of one worker, `c` workers, offered load
`a = lam/mu` (erlangs, the mean number of busy workers if none were ever short), utilisation
`rho = lam/(c*mu)`. Times come out in the unit of the rates. Nothing here forms a factorial: Erlang B
comes from its recursion and stationary distributions are built in log space, so the results stay
finite for thousands of workers, offered loads of thousands of erlangs and capacities of ~10^5.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_TAIL = 1e-17  # relative mass below which the tail of an unbounded chain is dropped
_MAX_STATES = 5_000_000


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:  # also rejects NaN
            raise ValueError(f"{name} must be positive, got {value!r}")


def _check_workers(c: int) -> None:
    if int(c) != c or c < 1:
        raise ValueError(f"c (workers) must be a positive integer, got {c!r}")


def _erlang_b_series(a: float) -> Iterator[tuple[int, float]]:
    """(k, B(k, a)) for k = 0, 1, 2, ...: B(0) = 1, B(k) = a*B(k-1) / (k + a*B(k-1))."""
    k, b = 0, 1.0
    while True:
        yield k, b
        k += 1
        b = a * b / (k + a * b)


def _c_from_b(b: float, rho: float) -> float:
    """Erlang C from Erlang B at the same c and a, for utilisation rho < 1."""
    return b / (1.0 - rho * (1.0 - b))


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (Erlang loss): the share of arrivals that find all c workers
    busy and are turned away, at offered load a erlangs."""
    if int(c) != c or c < 0 or not a >= 0:
        raise ValueError(f"need an integer c >= 0 and a >= 0, got c={c!r}, a={a!r}")
    b = 1.0
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability of wait in M/M/c (Erlang delay): the share of arrivals that find all c workers
    busy and queue. 1.0 when a >= c: the queue grows without bound and everyone waits."""
    if a >= c:
        return 1.0
    return _c_from_b(erlang_b(c, a), a / c)


@dataclass(frozen=True)
class MMc:
    """Steady state of M/M/c: Poisson arrivals, c workers with exponential service, unlimited FIFO
    queue, nobody abandons."""

    lam: float
    mu: float
    c: int
    utilisation: float  # rho = lam / (c*mu): the share of time a worker is busy
    p_wait: float  # Erlang C: P(an arrival queues)
    mean_wait: float  # Wq: mean time in queue, over all arrivals (0 for those served at once)
    mean_response: float  # W = Wq + 1/mu: mean time in system
    mean_queue: float  # Lq: mean number waiting
    mean_in_system: float  # L: mean number waiting or in service

    def service_level(self, t: float) -> float:
        """P(Wq <= t): the share of arrivals that start service within t."""
        if not t >= 0:
            raise ValueError(f"t must be >= 0, got {t!r}")
        return 1.0 - self.p_wait * math.exp(-(self.c * self.mu - self.lam) * t)

    def response_tail(self, t: float) -> float:
        """P(W > t), W = Wq + service: the share of requests answered later than t. Wq is 0 with
        probability 1 - p_wait and else exponential with rate g = c*mu - lam, so W is then a sum of
        two exponentials (rates g and mu)."""
        if not t >= 0:
            raise ValueError(f"t must be >= 0, got {t!r}")
        mu, g = self.mu, self.c * self.mu - self.lam
        both = (
            (1 + mu * t) * math.exp(-mu * t)
            if math.isclose(g, mu)
            else (g * math.exp(-mu * t) - mu * math.exp(-g * t)) / (g - mu)
        )
        return (1 - self.p_wait) * math.exp(-mu * t) + self.p_wait * both


def mmc(lam: float, mu: float, c: int) -> MMc:
    """M/M/c metrics. Raises ValueError unless lam, mu > 0, c >= 1 and lam < c*mu (stable)."""
    _check_positive(lam=lam, mu=mu)
    _check_workers(c)
    rho = lam / (c * mu)
    if rho >= 1:
        raise ValueError(
            f"unstable M/M/c: utilisation lam/(c*mu) = {rho:.6g} >= 1; the queue grows without bound "
            f"(offered load {lam / mu:.6g} erlangs needs more than that many workers)"
        )
    p_wait = _c_from_b(erlang_b(c, lam / mu), rho)
    wq = p_wait / (c * mu - lam)
    w = wq + 1.0 / mu
    return MMc(lam, mu, c, rho, p_wait, wq, w, lam * wq, lam * w)


def _birth_death(lam: float, death: Callable[[int], float], last: int | None) -> list[float]:
    """Stationary distribution of a birth-death chain (birth rate lam, death rate death(n) in state
    n, non-decreasing in n) on 0..last; with last=None the chain is unbounded and is cut where the
    tail beyond is below _TAIL of the largest term. Weights are accumulated as logs."""
    log_lam = math.log(lam)
    logs = [0.0]
    top = 0.0
    n = 0
    while last is None or n < last:
        n += 1
        step = log_lam - math.log(death(n))
        logs.append(logs[-1] + step)
        top = max(top, logs[-1])
        if last is None:
            # Ratios only fall from here on, so the tail beyond n is at most term * r / (1 - r).
            if step < 0 and logs[-1] - top + step - math.log(-math.expm1(step)) < math.log(_TAIL):
                break
            if n >= _MAX_STATES:
                raise ValueError(f"distribution still significant after {n} states; patience too long")
    weights = [math.exp(x - top) for x in logs]
    total = math.fsum(weights)
    return [w / total for w in weights]


@dataclass(frozen=True)
class MMcK:
    """Steady state of M/M/c/K: c workers and room for K requests in all (in service + waiting);
    an arrival finding K present is blocked (rejected at once). Stable at any load."""

    lam: float
    mu: float
    c: int
    K: int
    p_block: float  # P(an arrival is rejected) = P(N = K), by PASTA
    throughput: float  # admitted rate = lam * (1 - p_block) = mu * E[busy workers]
    utilisation: float  # throughput / (c*mu)
    mean_queue: float  # Lq
    mean_in_system: float  # L
    mean_wait: float  # Wq of admitted requests = Lq / throughput (Little)
    mean_response: float  # W of admitted requests = L / throughput = Wq + 1/mu


def mmck(lam: float, mu: float, c: int, K: int) -> MMcK:
    """M/M/c/K metrics; K must be an integer >= c."""
    _check_positive(lam=lam, mu=mu)
    _check_workers(c)
    if int(K) != K or K < c:
        raise ValueError(f"K (capacity, in service + waiting) must be an integer >= c={c}, got {K!r}")
    p = _birth_death(lam, lambda n: min(n, c) * mu, int(K))
    busy = math.fsum(min(n, c) * pn for n, pn in enumerate(p))
    lq = math.fsum((n - c) * p[n] for n in range(c + 1, len(p)))
    tput = mu * busy  # equals lam * (1 - p_block) but keeps its digits when p_block ~ 1
    return MMcK(lam, mu, c, int(K), p[-1], tput, busy / c, lq, lq + busy, lq / tput, (lq + busy) / tput)


def _erlang_a_dist(lam: float, mu: float, c: int, theta: float) -> list[float]:
    return _birth_death(lam, lambda n: min(n, c) * mu + max(n - c, 0) * theta, None)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M (Erlang A): M/M/c where a waiting request abandons after an
    exponential patience with rate theta (mean patience 1/theta). Stable at any load."""

    lam: float
    mu: float
    c: int
    theta: float
    p_wait: float  # P(N >= c): the share of arrivals that queue (PASTA)
    p_abandon: float  # theta * Lq / lam: the share of arrivals that give up waiting
    mean_wait: float  # Lq / lam: mean time in queue over all arrivals, abandoners included
    mean_queue: float  # Lq
    utilisation: float  # served rate lam * (1 - p_abandon) / (c*mu) = E[busy workers] / c

    def p_wait_within(self, t: float) -> float:
        """P(an arrival is answered within t): served at once, or reaching a worker within t before
        abandoning. Exact: finding j ahead, the time to reach a worker (had it infinite patience) is
        a sum of exponentials with rates c*mu + k*theta, k = 0..j, distributed as -ln(U)/theta with
        U ~ Beta(c*mu/theta, j+1); it survives its own patience with probability U. Hence
        P(answered within t | j) = beta/(beta+j+1) * (1 - I_y(beta+1, j+1)), beta = c*mu/theta,
        y = exp(-theta*t), where I_y(beta+1, j+1) is a negative-binomial sum of positive terms."""
        if not t >= 0:
            raise ValueError(f"t must be >= 0, got {t!r}")
        c = self.c
        p = _erlang_a_dist(self.lam, self.mu, c, self.theta)
        answered = math.fsum(p[:c])
        if t == 0:
            return answered
        beta = c * self.mu / self.theta
        log_y = -self.theta * t
        log_1my = math.log(-math.expm1(log_y))
        log_nb = (beta + 1.0) * log_y  # log of the k = 0 term of I_y(beta+1, .)
        cdf = 0.0
        terms = []
        for j, pj in enumerate(p[c:]):
            if j:
                log_nb += math.log1p(beta / j) + log_1my
            cdf += math.exp(log_nb)
            terms.append(pj * beta / (beta + j + 1) * max(0.0, 1.0 - cdf))
        return min(1.0, answered + math.fsum(terms))


def erlang_a(lam: float, mu: float, c: int, theta: float) -> ErlangA:
    """Erlang A metrics; theta > 0 is the abandonment rate (1 / mean patience)."""
    _check_positive(lam=lam, mu=mu, theta=theta)
    _check_workers(c)
    p = _erlang_a_dist(lam, mu, c, theta)
    lq = math.fsum((n - c) * p[n] for n in range(c + 1, len(p)))
    busy = math.fsum(min(n, c) * pn for n, pn in enumerate(p))
    return ErlangA(lam, mu, c, theta, math.fsum(p[c:]), theta * lq / lam, lq / lam, lq, busy / c)


def servers_for_wait(lam: float, mu: float, max_mean_wait: float) -> int:
    """Fewest workers c for which the M/M/c mean time in queue Wq is at most max_mean_wait."""
    _check_positive(lam=lam, mu=mu, max_mean_wait=max_mean_wait)
    for c, b in _erlang_b_series(lam / mu):
        if c * mu > lam and _c_from_b(b, lam / (c * mu)) / (c * mu - lam) <= max_mean_wait:
            return c
    raise AssertionError("unreachable")


def servers_for_service_level(lam: float, mu: float, t: float, target: float) -> int:
    """Fewest workers c for which P(Wq <= t) >= target in M/M/c (e.g. 80% answered within 20 s)."""
    _check_positive(lam=lam, mu=mu)
    if not t >= 0 or not 0 < target < 1:
        raise ValueError(f"need t >= 0 and 0 < target < 1, got t={t!r}, target={target!r}")
    for c, b in _erlang_b_series(lam / mu):
        if c * mu > lam:
            p_wait = _c_from_b(b, lam / (c * mu))
            if 1.0 - p_wait * math.exp(-(c * mu - lam) * t) >= target:
                return c
    raise AssertionError("unreachable")


def servers_for_response(lam: float, mu: float, t: float, q: float) -> int:
    """Fewest workers c for which the q-quantile of the M/M/c response time (wait + service) is at most t,
    i.e. P(W > t) <= 1 - q; raises ValueError when service alone exceeds t that often."""
    _check_positive(lam=lam, mu=mu, t=t)
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    if math.exp(-mu * t) >= 1 - q:
        raise ValueError(
            f"no number of workers helps: service alone exceeds {t:g} in more than {1 - q:.3g} of requests"
        )
    c = math.floor(lam / mu) + 1
    while mmc(lam, mu, c).response_tail(t) > 1 - q:
        c += 1
    return c


def agents_for_service_level(
    lam: float, mu: float, t: float, target: float, theta: float | None = None, max_abandon: float | None = None
) -> int:
    """Fewest agents (workers) answering at least `target` of contacts within t: Erlang C without
    abandonment (theta None), else Erlang A with abandonment rate theta, also keeping the share that
    abandons at most max_abandon."""
    if theta is None:
        return servers_for_service_level(lam, mu, t, target)

    def enough(c: int) -> bool:  # both only improve with more agents
        a = erlang_a(lam, mu, c, theta)
        return a.p_wait_within(t) >= target and (max_abandon is None or a.p_abandon <= max_abandon)

    lo, hi = 0, 1  # enough(hi), not enough(lo): doubling, then bisection
    while not enough(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def fluid_servers(work: list[float] | tuple[float, ...], delay: float) -> float:
    """Fewest workers (fractional) for which a fluid queue fed `work[k]` worker-seconds in second k never
    holds a request longer than `delay`: c >= A(s, t) / (t - s + delay) for every window [s, t). Windows of
    1, 2, 4, ... seconds are checked: the bound a surge sets when a queue may absorb part of it."""
    _check_positive(delay=delay)
    cum = [0.0]
    for w in work:
        cum.append(cum[-1] + w)
    need, length = 0.0, 1
    while length <= len(work):
        need = max(need, max(cum[k + length] - cum[k] for k in range(len(work) - length + 1)) / (length + delay))
        length *= 2
    return need


def servers_for_blocking(a: float, max_block: float) -> int:
    """Fewest workers c for which the Erlang B blocking probability at offered load a is at most
    max_block (loss system: no queue)."""
    _check_positive(a=a)
    if not 0 < max_block < 1:
        raise ValueError(f"max_block must be in (0, 1), got {max_block!r}")
    for c, b in _erlang_b_series(a):
        if b <= max_block:
            return c
    raise AssertionError("unreachable")


def littles_law_gap(arrivals_rate: float, mean_time: float, mean_number: float) -> float:
    """Relative gap |L - lam*W| / L between a mean number in system L and arrival rate times mean
    time W; near 0 when the three measurements are consistent (Little's law L = lam*W)."""
    return abs(mean_number - arrivals_rate * mean_time) / max(abs(mean_number), 1e-12)


def mg1_wait(lam: float, mean: float, cv: float) -> float:
    """Mean wait in queue of an M/G/1 queue (Pollaczek-Khinchine): a lock alone, held for a time of this
    mean and coefficient of variation, by requests arriving at random at rate lam."""
    _check_positive(lam=lam, mean=mean)
    rho = lam * mean
    if rho >= 1:
        raise ValueError(f"utilisation {rho:g} >= 1: the queue grows without bound")
    return lam * mean**2 * (1 + cv**2) / (2 * (1 - rho))


def mg1_wake_response(lam: float, mean: float, cv: float, wake: float) -> float:
    """Mean response time of an M/G/1 queue whose work that finds the server idle takes `wake` more (a busy
    period's first service is exceptional: Welch 1964): the wait in queue, the demand, and the wake-up paid by
    the share of arrivals that find the server idle, (1 - rho) / (1 + lam * wake)."""
    idle = (1 - lam * mean) / (1 + lam * wake)  # the share of arrivals that find the server idle
    extra = 2 * mean * wake + wake**2  # E[(X + wake)^2] - E[X^2]
    return mg1_wait(lam, mean, cv) + lam * extra / (2 * (1 + lam * wake)) + mean + wake * idle


def ps_response(lam: float, mean: float) -> float:
    """Mean response time of an M/G/1 processor-sharing queue (one CPU core shared by all in flight):
    mean / (1 - rho), whatever the distribution of the demand (insensitivity)."""
    _check_positive(lam=lam, mean=mean)
    rho = lam * mean
    if rho >= 1:
        raise ValueError(f"utilisation {rho:g} >= 1: the queue grows without bound")
    return mean / (1 - rho)
