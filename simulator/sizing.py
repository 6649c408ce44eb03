"""Sizing: the fewest servers, the least stock and the fewest support agents that meet the targets.

Each question starts from theory (a fluid bound and Erlang C for server pools, Erlang C/A per interval
for agents, the demand distribution for stock) and is then searched on the model with common random
numbers: every candidate meets the same shoppers and contacts, so a difference between two candidates
is the candidate's doing, a target met by c workers is met by c + 1, and a few runs settle each knob.
A configuration meets a target when it holds in at least `targets.confidence` of the replications.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from simulator import support, theory
from simulator.helpdesk import TEAMS
from simulator.model import streams
from simulator.runner import RunResult, seeds, simulate
from simulator.scenario import Scenario
from simulator.summary import figures

K = TypeVar("K")
UNLIMITED = 10**9
"""Stock that never runs out: how much shoppers would take is read off a run with it."""


class Unmet(Exception):
    """A target cannot be met within the bounds given (exit 1)."""


@dataclass
class Evaluation:
    """One model run of a candidate configuration: what was tried and which knobs it passed."""

    what: str
    config: dict[str, int]
    passed: dict[str, bool | None]


@dataclass
class Sizing:
    """What `flashsim size` found: the table, the runs it took, and the sized scenario."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: list[Evaluation] = field(default_factory=list)
    staffing: list[dict[str, Any]] = field(default_factory=list)
    """Agents per interval and team (the staffing table)."""
    roster: list[dict[str, Any]] = field(default_factory=list)
    scenario: Scenario | None = None
    """The scenario with every sized part applied (verified by the caller)."""
    unmet: list[str] = field(default_factory=list)
    on_run: Callable[[Evaluation], None] | None = None
    skipped: list[str] = field(default_factory=list)
    """Parts `all` left out: the scenario sets no target for them."""
    applied: str = ""
    """The server variant applied to the sized scenario (the one as configured)."""

    def log(self, evaluation: Evaluation) -> None:
        self.runs.append(evaluation)
        if self.on_run is not None:
            self.on_run(evaluation)


# -- the search ---------------------------------------------------------------------------------


@dataclass
class _Knob:
    lo: int  # largest value known to fail (low - 1 when none)
    hi: int | None  # smallest value known to pass
    step: int
    tried: bool = False


def search(start: dict[K, int], evaluate: Callable[[dict[K, int]], dict[K, bool | None]], low: int,
           high: dict[K, int], max_runs: int = 40) -> dict[K, int]:
    """The smallest value of every knob whose check passes, all searched at once: from the warm start,
    steps that double (down while passing, up while failing), then bisection; a final run of the
    answers re-opens any knob that fails with the others at their answers. `evaluate` answers True
    (pass), False (fail) or None (inconclusive, e.g. a downstream pool starved by an upstream one)."""
    knobs = {k: _Knob(low - 1, None, max(1, round(0.05 * v))) for k, v in start.items()}
    for _ in range(max_runs):
        candidates: dict[K, int] = {}
        for k, knob in knobs.items():
            if knob.hi is not None and knob.hi - knob.lo <= 1:
                continue
            if not knob.tried:
                candidates[k] = min(max(start[k], low), high[k])
            elif knob.hi is None:
                if knob.lo >= high[k]:
                    raise Unmet(f"{k}: not met even at the bound of {high[k]}")
                candidates[k] = min(knob.lo + knob.step, high[k])
            elif knob.lo < low and knob.step > 0:
                candidates[k] = max(low, knob.hi - knob.step)
            else:
                candidates[k] = (knob.lo + knob.hi) // 2
        final = not candidates
        config = {k: candidates.get(k, knob.hi) for k, knob in knobs.items()}
        passed = evaluate(config)
        for k, value in candidates.items():
            knob = knobs[k]
            knob.tried = knob.tried or passed[k] is not None
            if passed[k] is True:
                knob.step = knob.step * 2 if knob.lo < low else 0
                knob.hi = value
            elif passed[k] is False:
                knob.step = knob.step * 2 if knob.hi is None else 0
                knob.lo = value
        if final:
            if all(passed[k] is True for k in knobs):
                return config
            # passed alone, fails with the others at their answers: search up again
            for k in (k for k in knobs if passed[k] is False):
                knobs[k].lo, knobs[k].hi, knobs[k].step = knobs[k].hi, None, 1
    raise Unmet(f"no answer within {max_runs} runs")


def _enough(oks: list[bool], confidence: float) -> bool:
    """Met in at least `confidence` of the replications."""
    return sum(oks) >= math.ceil(confidence * len(oks) - 1e-9)


# -- servers ------------------------------------------------------------------------------------


def with_workers(scenario: Scenario, workers: dict[str, int]) -> Scenario:
    """The scenario with these pool sizes; a bounded queue keeps its length per worker."""
    pools = dict(scenario.system.pools)
    for name, c in workers.items():
        pool = pools[name]
        limit = None if pool.queue_limit is None else max(1, round(pool.queue_limit * c / pool.workers))
        pools[name] = pool.model_copy(update={"workers": c, "queue_limit": limit})
    return scenario.model_copy(update={"system": scenario.system.model_copy(update={"pools": pools})})


def _judged_pools(scenario: Scenario) -> list[str]:
    """Pools with a target to meet, in journey order (upstream first)."""
    t = scenario.targets
    order = []
    for step, ep in scenario.system.endpoints.items():
        if ep.pool not in order and (t.error_rate is not None or step in t.latency):
            order.append(ep.pool)
    return order


def pool_passes(scenario: Scenario, rep: dict, pool: str) -> bool:
    """One replication meets the targets of one pool: its endpoints' latency bounds and error rate."""
    fig = figures(rep)
    mine = [step for step, ep in scenario.system.endpoints.items() if ep.pool == pool]
    for step in mine:
        bounds = scenario.targets.latency.get(step)
        e = fig["endpoints"][step]
        for q in ("p95", "p99"):
            bound = getattr(bounds, q) if bounds is not None else None
            value = e[f"latency_{q}"]
            if bound is not None and e["requests"] and (value is None or value > bound):
                return False
    if scenario.targets.error_rate is not None:
        answered = sum(fig["endpoints"][s]["served"] + fig["endpoints"][s]["rejected"]
                       + fig["endpoints"][s]["timed_out"] for s in mine)
        errors = sum(fig["endpoints"][s]["rejected"] + fig["endpoints"][s]["timed_out"] for s in mine)
        if answered and errors / answered > scenario.targets.error_rate:
            return False
    return True


def warm_start(scenario: Scenario, ample: RunResult, pool: str) -> int:
    """Workers theory asks for, from the demand a run with ample capacity saw: the fluid bound (a queue
    may absorb a surge for as long as the latency bound allows) and Erlang C at the busiest 10 seconds."""
    endpoints = {step: ep for step, ep in scenario.system.endpoints.items() if ep.pool == pool}
    work = np.zeros(len(ample.replications[0]["endpoints"][next(iter(endpoints))]["series"]["requests"]))
    requests = np.zeros_like(work)
    delay = math.inf
    for step, ep in endpoints.items():
        for rep in ample.replications:
            n = np.asarray(rep["endpoints"][step]["series"]["requests"], dtype=float) / len(ample.replications)
            work += n * ep.service.mean
            requests += n
        bound = scenario.targets.latency.get(step)
        allowed = min((b for b in (bound.p95, bound.p99) if b is not None), default=None) if bound else None
        allowed = allowed if allowed is not None else ep.timeout
        if allowed is not None:
            delay = min(delay, max(allowed - ep.service.mean, 0.1 * allowed))
    delay = delay if math.isfinite(delay) else 1.0
    fluid = theory.fluid_servers(work.tolist(), delay)
    tens = np.convolve(requests, np.ones(10) / 10, mode="valid") if len(requests) >= 10 else requests
    peak = int(np.argmax(tens)) if len(tens) else 0
    lam = float(tens[peak]) if len(tens) else 0.0
    mean_service = float(work.sum() / requests.sum()) if requests.sum() else 0.0
    erlang = theory.servers_for_service_level(lam, 1 / mean_service, delay, 0.99) if lam > 0 < mean_service else 1
    return max(1, math.ceil(fluid), erlang)


def size_servers(scenario: Scenario, label: str, run: Callable[[Scenario], RunResult], sizing: Sizing,
                 max_scale: float) -> tuple[dict[str, int], RunResult]:
    """Workers per pool meeting the pools' targets; the passing run of the answer."""
    pools = _judged_pools(scenario)
    if not pools:
        raise ValueError("targets: give latency bounds or an error_rate to size servers against")
    confidence = scenario.targets.confidence
    high = {p: max(1, math.ceil(scenario.system.pools[p].workers * max_scale)) for p in pools}
    ample = run(with_workers(scenario, high))
    ample_ok = {p: _enough([pool_passes(scenario, r, p) for r in ample.replications], confidence) for p in pools}
    sizing.log(Evaluation(f"{label}: bound", high, dict(ample_ok)))
    short = [p for p in pools if not ample_ok[p]]
    if short:
        raise Unmet(f"{label}: pool(s) {', '.join(short)} miss their targets even at {max_scale:g}x "
                    f"the workers ({', '.join(f'{p} {high[p]}' for p in short)})")
    start = {p: min(warm_start(scenario, ample, p), high[p]) for p in pools}
    runs: dict[tuple, RunResult] = {}

    def evaluate(config: dict[str, int]) -> dict[str, bool | None]:
        key = tuple(sorted(config.items()))
        fresh = key not in runs
        result = runs[key] = runs[key] if not fresh else run(with_workers(scenario, config))
        passed: dict[str, bool | None] = {}
        upstream_failed = False
        for p in pools:  # a pool downstream of a failing one sees less load than it will: no verdict
            ok = _enough([pool_passes(scenario, r, p) for r in result.replications], confidence)
            passed[p] = None if ok and upstream_failed else ok
            upstream_failed = upstream_failed or not ok
        if fresh:
            sizing.log(Evaluation(label, dict(config), dict(passed)))
        return passed

    answer = search(start, evaluate, 1, high)
    final = runs[tuple(sorted(answer.items()))]
    for p in pools:
        hours = [figures(r)["pools"][p]["worker_hours"] for r in final.replications]
        sizing.rows.append({"what": "servers", "variant": label, "item": p,
                            "current": scenario.system.pools[p].workers, "sized": answer[p],
                            "warm_start": start[p], "cost": float(np.mean(hours)), "cost_unit": "server-hours"})
    return answer, final


# -- stock --------------------------------------------------------------------------------------


def with_stock(scenario: Scenario, stock: dict[str, int]) -> Scenario:
    skus = {name: sku.model_copy(update={"stock": stock.get(name, sku.stock)})
            for name, sku in scenario.inventory.skus.items()}
    return scenario.model_copy(update={"inventory": scenario.inventory.model_copy(update={"skus": skus})})


def _transfer_lead(scenario: Scenario, sku: str) -> float | None:
    leads = [r.do.transfer.lead for r in scenario.contingency.values()
             if r.do.transfer is not None and r.do.transfer.sku == sku]
    return max(leads) if leads else None


def size_stock(scenario: Scenario, run: Callable[[Scenario], RunResult], sizing: Sizing) -> dict[str, int]:
    """Units per SKU for the stock targets: a run with stock that never runs out tells, replication by
    replication, the most units orders held at once; with common random numbers a run with S units
    follows it exactly until that moment, so it runs out exactly when that peak reaches S."""
    target = scenario.targets.stock
    if target is None or (target.stockout_probability is None and target.fill_rate is None):
        raise ValueError("targets.stock: give stockout_probability or fill_rate to size stock against")
    skus = [sale.sku for sale in scenario.sales]
    skus = list(dict.fromkeys(skus))
    rules = {n: r for n, r in scenario.contingency.items() if r.when.stock is None}  # no stock levels to watch
    unlimited = with_stock(scenario, dict.fromkeys(skus, UNLIMITED)).model_copy(update={"contingency": rules})
    result = run(unlimited)
    sizing.log(Evaluation("stock: unlimited", dict.fromkeys(skus, UNLIMITED), dict.fromkeys(skus, True)))
    answer = {}
    for sku in skus:
        peaks = np.array([rep["stock"][sku]["peak_committed"] for rep in result.replications])
        bought = np.array([rep["stock"][sku]["sold"] for rep in result.replications], dtype=float)
        need = 0
        if target.stockout_probability is not None:  # out in at most p of the replications: peak >= S
            allowed = math.floor(target.stockout_probability * len(peaks) + 1e-9)
            need = int(np.sort(peaks)[::-1][allowed]) + 1 if allowed < len(peaks) else 0
        if target.fill_rate is not None and bought.sum() > 0:
            fill = next(s for s in range(int(bought.max()) + 1)
                        if np.minimum(bought, s).sum() >= target.fill_rate * bought.sum() - 1e-9)
            need = max(need, fill)
        answer[sku] = max(need, 1)
        lead = _transfer_lead(scenario, sku)
        row = {"what": "stock", "variant": "", "item": sku, "current": scenario.inventory.skus[sku].stock,
               "sized": answer[sku], "warm_start": None, "cost": answer[sku], "cost_unit": "units",
               "expected_demand": float(bought.mean()), "peak_held_mean": float(peaks.mean()),
               "peak_held_max": int(peaks.max()), "safety_stock": answer[sku] - float(bought.mean())}
        if lead is not None:
            row["lead_time"] = lead
            row["reorder_point"] = reorder_point(result, sku, lead, target.stockout_probability or 0.05)
        sizing.rows.append(row)
    return answer


def reorder_point(result: RunResult, sku: str, lead: float, p: float) -> int:
    """Units available at which a transfer with this lead time must be asked for: the most units orders
    take in any window of that length, exceeded in at most p of the replications."""
    worst = []
    for rep in result.replications:
        series = rep["stock"][sku]["series"]
        held = np.cumsum(series["orders"]) - np.cumsum(series["expired"])
        span = max(1, int(math.ceil(lead)))
        worst.append(int((held[span:] - held[:-span]).max()) if len(held) > span else int(held.max()))
    allowed = math.floor(p * len(worst) + 1e-9)
    return int(np.sort(worst)[::-1][min(allowed, len(worst) - 1)]) + 1


# -- agents -------------------------------------------------------------------------------------


def _minutes(per_interval: np.ndarray, interval: float, minutes: int) -> np.ndarray:
    return np.repeat(per_interval, int(interval // 60))[:minutes]


def interval_passes(scenario: Scenario, served: dict, team: str) -> np.ndarray:
    """Per interval: the service level (and abandonment bound) met, or no contact to answer."""
    target = scenario.targets.support
    t = served["teams"][team]["intervals"]
    offered = np.asarray(t["offered"], dtype=float)
    within = np.asarray(t["answered_within"], dtype=float)
    abandoned = np.asarray(t["abandoned"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = within >= target.service_level * offered - 1e-9
        if target.abandonment is not None:
            ok &= abandoned <= target.abandonment * offered + 1e-9
    return ok | (offered == 0)


def agent_warm_start(scenario: Scenario, logs: list[support.ContactLog], team: str, n: int) -> np.ndarray:
    """Agents per interval by Erlang C (Erlang A when customers hang up), from the contacts offered
    (escalations counted at their first contact's time: a start, which the search corrects)."""
    cfg = scenario.support
    target = scenario.targets.support
    channel = cfg.channels.get(team)
    concurrency = channel.concurrency if channel else 1
    patience = channel.patience if channel else cfg.experts.patience
    theta = 1 / patience.mean if patience is not None and patience.mean > 0 else None
    count, work = np.zeros(n), np.zeros(n)
    for log in logs:
        if channel is None:
            mask, handle = log.escalate & ~log.bot, log.expert_handle
        else:
            mask, handle = (log.team == TEAMS.index(team)) & ~log.bot, log.handle
        k = np.minimum((log.time[mask] // cfg.interval).astype(int), n - 1)
        count += np.bincount(k, minlength=n)[:n]
        work += np.bincount(k, weights=handle[mask], minlength=n)[:n]
    need = np.zeros(n, dtype=int)
    for i in np.flatnonzero(count):
        slots = theory.agents_for_service_level(count[i] / len(logs) / cfg.interval, count[i] / work[i],
                                                target.answer_within, target.service_level, theta,
                                                target.abandonment)
        if channel is not None and channel.max_sessions is not None:
            slots = min(slots, channel.max_sessions)
        need[i] = math.ceil(slots / concurrency)
    return need


def size_agents(scenario: Scenario, shop: RunResult, seed: int, sizing: Sizing, max_agents: int) -> Scenario:
    """Agents per interval and team meeting the service level, then the fewest agents per shift of the
    scenario's roster that cover them; returns the scenario with that roster."""
    cfg = scenario.support
    if cfg is None:
        raise ValueError("support: the scenario has no support section to staff")
    children = seeds(seed, len(shop.replications))
    logs = [support.contacts(scenario, rep, streams(child)) for rep, child in zip(shop.replications, children)]
    horizon = support.until(scenario)
    minutes = int(math.ceil(horizon / 60))
    n = int(math.ceil(horizon / cfg.interval))
    confidence = scenario.targets.confidence
    staffed = {name: np.zeros(n, dtype=int) for name in TEAMS}
    served_last: list[dict] = []

    def serve_all(per_interval: dict[str, np.ndarray]) -> list[dict]:
        agents = {name: _minutes(v, cfg.interval, minutes) for name, v in per_interval.items()}
        return [support.serve(scenario, log, agents) for log in logs]

    for group in (("chat", "phone"), ("experts",)):  # experts see what chat and phone pass on
        teams = [t for t in group if t == "experts" or t in cfg.channels]
        start = {(t, i): int(v) for t in teams
                 for i, v in enumerate(agent_warm_start(scenario, logs, t, n))}

        def evaluate(config: dict[tuple[str, int], int], teams=teams) -> dict[tuple[str, int], bool | None]:
            for (t, i), v in config.items():
                staffed[t][i] = v
            served = serve_all(staffed)
            served_last[:] = served
            passed: dict[tuple[str, int], bool | None] = {}
            for t in teams:
                ok = np.array([interval_passes(scenario, s, t) for s in served])
                share = [_enough(ok[:, i].tolist(), confidence) for i in range(n)]
                for i in range(n):  # a backlog from an earlier failing interval makes a later failure no verdict
                    passed[(t, i)] = share[i] if share[i] or all(share[:i]) else None
            sizing.log(Evaluation(f"agents: {'+'.join(teams)}", {f"{t}@{i}": v for (t, i), v in config.items()},
                                          {f"{t}@{i}": v for (t, i), v in passed.items()}))
            return passed

        answer = search(start, evaluate, 0, dict.fromkeys(start, max_agents), max_runs=60)
        for (t, i), v in answer.items():
            staffed[t][i] = v
    roster = cover(scenario, staffed)
    sized = scenario.model_copy(update={"support": cfg.model_copy(update={"roster": roster})})
    _staffing_table(scenario, logs, staffed, served_last, sizing)
    for shift, new in zip(cfg.roster, roster):
        for t in TEAMS:
            sizing.roster.append({"shift": shift.name, "team": t, "start": shift.start, "end": shift.end,
                                  "current": getattr(shift, t), "sized": getattr(new, t),
                                  "temporary": shift.temporary})
    for t in TEAMS:
        hours = support.roster_agents(sized)[t].sum() / 60
        sizing.rows.append({"what": "agents", "variant": "", "item": t,
                            "current": sum(getattr(s, t) for s in cfg.roster),
                            "sized": sum(getattr(s, t) for s in roster), "warm_start": None,
                            "cost": float(hours), "cost_unit": "agent-hours",
                            "peak_per_interval": int(staffed[t].max())})
    return sized


def cover(scenario: Scenario, staffed: dict[str, np.ndarray]) -> list:
    """The fewest agents per shift (the roster's shifts, kept) so that every interval has at least the
    agents it needs: intervals in time order, a shortfall added to the covering shift that ends last
    (optimal for shifts that are intervals of time on one day)."""
    cfg = scenario.support
    interval = cfg.interval
    n = len(next(iter(staffed.values())))
    one = [s.model_copy(update=dict.fromkeys(TEAMS, 1)) for s in cfg.roster]
    on = [support.roster_agents(scenario.model_copy(update={"support": cfg.model_copy(update={"roster": [s]})}))
          ["chat"] for s in one]  # minutes each shift is on
    per = int(interval // 60)
    covers = [[bool(m[i * per:(i + 1) * per].min()) if len(m[i * per:(i + 1) * per]) else False for i in range(n)]
              for m in on]
    ends = [max((i for i in range(n) if c[i]), default=-1) for c in covers]
    counts = {t: [0] * len(cfg.roster) for t in TEAMS}
    for t in TEAMS:
        for i in range(n):
            have = sum(counts[t][k] for k in range(len(cfg.roster)) if covers[k][i])
            if staffed[t][i] > have:
                choices = [k for k in range(len(cfg.roster)) if covers[k][i]]
                if not choices:
                    raise Unmet(f"agents: no shift of the roster covers interval {i} ({t} needs {staffed[t][i]})")
                k = max(choices, key=lambda k: (_run_end(covers[k], i), ends[k]))
                counts[t][k] += int(staffed[t][i] - have)
    return [s.model_copy(update={t: counts[t][k] for t in TEAMS}) for k, s in enumerate(cfg.roster)]


def _run_end(cover: list[bool], i: int) -> int:
    """Last interval of the stretch of consecutive covered intervals starting at i."""
    j = i
    while j + 1 < len(cover) and cover[j + 1]:
        j += 1
    return j


def _staffing_table(scenario: Scenario, logs: list[support.ContactLog], staffed: dict[str, np.ndarray],
                    served: list[dict], sizing: Sizing) -> None:
    cfg = scenario.support
    for i in range(len(staffed["phone"])):
        row: dict[str, Any] = {"interval": i, "start": i * cfg.interval}
        for t in TEAMS:
            if t != "experts" and t not in cfg.channels:
                continue
            offered = [s["teams"][t]["intervals"]["offered"][i] for s in served]
            within = [s["teams"][t]["intervals"]["answered_within"][i] for s in served]
            row[f"{t}_offered"] = float(np.mean(offered))
            row[f"{t}_agents"] = int(staffed[t][i])
            row[f"{t}_service_level"] = float(np.sum(within) / np.sum(offered)) if np.sum(offered) else None
        sizing.staffing.append(row)


# -- all of it ----------------------------------------------------------------------------------

WHAT = ("servers", "stock", "agents")


def sizable(scenario: Scenario, part: str) -> bool:
    """The scenario gives what sizing this part needs: targets for it (and, for agents, a support section)."""
    if part == "servers":
        return bool(_judged_pools(scenario))
    if part == "stock":
        target = scenario.targets.stock
        return target is not None and (target.stockout_probability is not None or target.fill_rate is not None)
    return scenario.support is not None


def size(scenario: Scenario, what: str = "all", seed: int | None = None, replications: int | None = None,
         jobs: int = 1, max_scale: float = 20.0, max_agents: int = 5000,
         on_run: Callable[[Evaluation], None] | None = None) -> Sizing:
    """Size what is asked (servers, stock, agents or all, in that order: each sized part feeds the next)."""
    seed = scenario.seed if seed is None else seed
    count = replications or scenario.replications
    parts = [p for p in WHAT if sizable(scenario, p)] if what == "all" else [what]
    if not parts:
        raise ValueError("targets: nothing to size against (give latency or error_rate, targets.stock, or a "
                         "support section)")
    sizing = Sizing(on_run=on_run, skipped=[p for p in WHAT if p not in parts] if what == "all" else [])

    def run(s: Scenario) -> RunResult:
        return simulate(s, seed, count, jobs)

    sized = scenario
    shop: RunResult | None = None
    if "servers" in parts:
        try:
            room = scenario.waiting_room
            if room is not None:  # the other way round too: what queued entry saves, or costs
                other = room.model_copy(update={"enabled": not room.enabled})
                size_servers(scenario.model_copy(update={"waiting_room": other}),
                             "without queued entry" if room.enabled else "with queued entry", run, sizing, max_scale)
            label = "as configured" if room is None else ("with queued entry" if room.enabled
                                                           else "without queued entry (as configured)")
            sizing.applied = label
            workers, shop = size_servers(scenario, label, run, sizing, max_scale)
            sized = with_workers(sized, workers)
        except Unmet as exc:
            sizing.unmet.append(str(exc))
    if "stock" in parts:
        try:
            sized = with_stock(sized, size_stock(sized, run, sizing))
            shop = None
        except Unmet as exc:
            sizing.unmet.append(str(exc))
    if "agents" in parts:
        try:
            shop = shop if shop is not None else run(sized)
            sized = size_agents(sized, shop, seed, sizing, max_agents)
        except Unmet as exc:
            sizing.unmet.append(str(exc))
    sizing.scenario = sized
    return sizing


def verify(sizing: Sizing, result: RunResult, what: str = "all") -> list[dict[str, Any]]:
    """The sized configuration's own run, judged target by target: the share of replications meeting
    each, against the confidence asked for (stock: the share that ran out, against the bound)."""
    scenario = result.scenario
    parts = WHAT if what == "all" else (what,)
    reps = result.replications
    need = scenario.targets.confidence
    checks = []
    if "servers" in parts:
        for pool in _judged_pools(scenario):
            share = float(np.mean([pool_passes(scenario, r, pool) for r in reps]))
            checks.append({"check": f"pool {pool}: latency and error-rate targets", "value": share,
                           "bound": need, "met": _enough([pool_passes(scenario, r, pool) for r in reps], need)})
    target = scenario.targets.stock
    if "stock" in parts and target is not None:
        for sku in dict.fromkeys(sale.sku for sale in scenario.sales):
            out = [rep["stock"][sku]["sold_out_at"] is not None for rep in reps]
            if target.stockout_probability is not None:
                checks.append({"check": f"stock {sku}: share of replications running out", "value": float(np.mean(out)),
                               "bound": target.stockout_probability,
                               "met": float(np.mean(out)) <= target.stockout_probability + 1e-9})
    if "agents" in parts and scenario.support is not None:
        for team in TEAMS:
            if team != "experts" and team not in scenario.support.channels:
                continue
            ok = np.array([interval_passes(scenario, rep["support"], team) for rep in reps])
            worst = float(ok.mean(axis=0).min()) if ok.size else 1.0
            checks.append({"check": f"support {team}: every interval's service level", "value": worst,
                           "bound": need, "met": all(_enough(ok[:, i].tolist(), need) for i in range(ok.shape[1]))})
    return checks
