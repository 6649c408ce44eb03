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
from typing import Any

import numpy as np

from simulator.analysis import theory
from simulator.analysis.replications import RunResult, simulate
from simulator.analysis.search import Evaluation, Sizing, Unmet, enough, search
from simulator.analysis.staffing import NOTHING_TO_STAFF, size_agents
from simulator.analysis.summary import figures
from simulator.engine import percentile
from simulator.model import contact_centre as support
from simulator.model import fulfilment, kept_share
from simulator.scenario import Scenario

UNLIMITED = 10**9
"""Stock that never runs out: how much shoppers would take is read off a run with it."""


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


def answered_quantile(endpoint: dict, q: float) -> float | None:
    """The q-quantile of response times with rejected and timed-out requests counted as slower than any
    answer: a pool cannot meet a latency bound by turning requests away fast."""
    failed = endpoint["rejected"] + endpoint["timed_out"]
    answered = endpoint["served"] + failed
    if not answered:
        return None
    share = failed / answered
    if share >= 1 - q:
        return math.inf
    return percentile(endpoint["hist"], q / (1 - share))


def pool_passes(scenario: Scenario, rep: dict, pool: str) -> bool:
    """One replication meets the targets of one pool: its endpoints' latency bounds (failed requests
    counting as too slow) and error rate."""
    mine = [step for step, ep in scenario.system.endpoints.items() if ep.pool == pool]
    for step in mine:
        bounds = scenario.targets.latency.get(step)
        for name, q in (("p95", 0.95), ("p99", 0.99)):
            bound = getattr(bounds, name) if bounds is not None else None
            value = answered_quantile(rep["endpoints"][step], q)
            if bound is not None and value is not None and value > bound:
                return False
    if scenario.targets.error_rate is not None:
        errors = sum(rep["endpoints"][s]["rejected"] + rep["endpoints"][s]["timed_out"] for s in mine)
        answered = errors + sum(rep["endpoints"][s]["served"] for s in mine)
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


def size_servers(
    scenario: Scenario, label: str, run: Callable[[Scenario], RunResult], sizing: Sizing, max_scale: float
) -> tuple[dict[str, int], RunResult]:
    """Workers per pool meeting the pools' targets; the passing run of the answer."""
    check(scenario, "servers")
    pools = _judged_pools(scenario)
    confidence = scenario.targets.confidence
    high = {p: max(1, math.ceil(scenario.system.pools[p].workers * max_scale)) for p in pools}
    ample = run(with_workers(scenario, high))
    ample_ok = {p: enough([pool_passes(scenario, r, p) for r in ample.replications], confidence) for p in pools}
    sizing.log(Evaluation(f"{label}: bound", high, dict(ample_ok)))
    short = [p for p in pools if not ample_ok[p]]
    if short:
        raise Unmet(
            f"{label}: pool(s) {', '.join(short)} miss their targets even at {max_scale:g}x "
            f"the workers ({', '.join(f'{p} {high[p]}' for p in short)})"
        )
    start = {p: min(warm_start(scenario, ample, p), high[p]) for p in pools}
    runs: dict[tuple, RunResult] = {}

    def evaluate(config: dict[str, int]) -> dict[str, bool | None]:
        key = tuple(sorted(config.items()))
        fresh = key not in runs
        result = runs[key] = runs[key] if not fresh else run(with_workers(scenario, config))
        passed: dict[str, bool | None] = {}
        upstream_failed = False
        for p in pools:  # a pool downstream of a failing one sees less load than it will: no verdict
            ok = enough([pool_passes(scenario, r, p) for r in result.replications], confidence)
            passed[p] = None if ok and upstream_failed else ok
            upstream_failed = upstream_failed or not ok
        if fresh:
            sizing.log(Evaluation(label, dict(config), dict(passed)))
        return passed

    answer = search(start, evaluate, 1, high)
    final = runs[tuple(sorted(answer.items()))]
    for p in pools:
        hours = [figures(r)["pools"][p]["worker_hours"] for r in final.replications]
        sizing.rows.append(
            {
                "what": "servers",
                "variant": label,
                "item": p,
                "current": scenario.system.pools[p].workers,
                "sized": answer[p],
                "warm_start": start[p],
                "cost": float(np.mean(hours)),
                "cost_unit": "server-hours",
            }
        )
    return answer, final


# -- stock --------------------------------------------------------------------------------------


def with_stock(scenario: Scenario, stock: dict[str, int]) -> Scenario:
    skus = {
        name: sku.model_copy(update={"stock": stock.get(name, sku.stock)})
        for name, sku in scenario.inventory.skus.items()
    }
    return scenario.model_copy(update={"inventory": scenario.inventory.model_copy(update={"skus": skus})})


def _transfer(scenario: Scenario, sku: str) -> float | None:
    """Time from a stock signal to units on sale, for the rule that transfers stock to this SKU."""
    times = [
        r.after + r.do.transfer.lead
        for r in scenario.contingency.values()
        if r.do.transfer is not None and r.do.transfer.sku == sku
    ]
    return max(times) if times else None


def units_needed(peak_out: list[int], quota: float, guaranteed: int) -> int:
    """Fewest units with which no bucket a run took units from ever empties: the general bucket holds
    S - round(quota*S) - guaranteed, the member bucket round(quota*S); the set-aside units are the same
    in every run. Without a quota it is the peak of units held plus one, exactly."""
    s = peak_out[0] + guaranteed + 1
    while s - round(quota * s) - guaranteed <= peak_out[0] or (quota > 0 and round(quota * s) <= peak_out[1]):
        s += 1
    return s


def size_stock(scenario: Scenario, run: Callable[[Scenario], RunResult], sizing: Sizing) -> dict[str, int]:
    """Units per SKU for the stock target: a run with stock that never runs out tells, replication by
    replication, the most units taken out of each bucket at once; with common random numbers a run with S
    units follows it exactly until a bucket empties, so without member quotas it runs out exactly when
    the peak of units held reaches S (with quotas the buckets are sized apart: a little more than needed)."""
    check(scenario, "stock")
    target = scenario.targets.stock
    skus = list(dict.fromkeys(sale.sku for sale in scenario.sales))
    rules = {n: r for n, r in scenario.contingency.items() if r.when.stock is None}  # no stock levels to watch
    unlimited = with_stock(scenario, dict.fromkeys(skus, UNLIMITED)).model_copy(update={"contingency": rules})
    result = run(unlimited)
    sizing.log(Evaluation("stock: unlimited", dict.fromkeys(skus, UNLIMITED), dict.fromkeys(skus, True)))
    p = target.stockout_probability  # type: ignore[union-attr]  # check() refuses a scenario without it
    answer = {}
    for sku in skus:
        quota, guaranteed = kept_share(scenario, sku)
        needs = np.array(
            [units_needed(rep["stock"][sku]["peak_out"], quota, guaranteed) for rep in result.replications]
        )
        bought = np.array([rep["stock"][sku]["sold"] for rep in result.replications], dtype=float)
        allowed = math.floor(p * len(needs) + 1e-9)  # replications that may run out
        need = int(np.sort(needs)[::-1][allowed]) if allowed < len(needs) else 1
        floor = scenario.presale.units if scenario.presale is not None and _presale_sku(scenario) == sku else 1
        answer[sku] = max(need, floor)
        row = {
            "what": "stock",
            "variant": "",
            "item": sku,
            "current": scenario.inventory.skus[sku].stock,
            "sized": answer[sku],
            "warm_start": None,
            "cost": answer[sku],
            "cost_unit": "units",
            "expected_demand": float(bought.mean()),
            "need_mean": float(needs.mean()),
            "need_max": int(needs.max()),
            "safety_stock": answer[sku] - float(bought.mean()),
            "replications": len(needs),
        }
        lead = _transfer(scenario, sku)
        if lead is not None:
            row["transfer_time"] = lead
            row["reorder_point"] = reorder_point(result, sku, lead, p)
        sizing.rows.append(row)
    return answer


def _presale_sku(scenario: Scenario) -> str | None:
    # asked only of a scenario with a presale
    return next((sale.sku for sale in scenario.sales if sale.name == scenario.presale.sale), None)  # type: ignore[union-attr]


def reorder_point(result: RunResult, sku: str, lead: float, p: float) -> int:
    """Units available at which a transfer arriving `lead` seconds after the signal must be asked for: the
    most units orders take in any window of that length, exceeded in at most p of the replications."""
    worst = []
    for rep in result.replications:
        series = rep["stock"][sku]["series"]
        held = np.cumsum(series["orders"]) - np.cumsum(series["expired"])
        span = max(1, int(math.ceil(lead)))
        worst.append(int((held[span:] - held[:-span]).max()) if len(held) > span else int(held.max()))
    allowed = math.floor(p * len(worst) + 1e-9)
    return int(np.sort(worst)[::-1][min(allowed, len(worst) - 1)]) + 1


# -- all of it ----------------------------------------------------------------------------------

WHAT = ("servers", "stock", "agents", "warehouse")


def check(scenario: Scenario, what: str) -> list[str]:
    """The parts to size; ValueError (bad input) when the scenario gives nothing to size them against."""
    if what != "all":
        if not sizable(scenario, what):
            raise ValueError(
                {
                    "servers": "targets: give latency bounds or an error_rate to size servers against",
                    "stock": "targets.stock: give stockout_probability to size stock against",
                    "agents": NOTHING_TO_STAFF,
                    "warehouse": "fulfilment.breach_target: give a fulfilment section and its breach_target to size "
                    "the warehouse against",
                }[what]
            )
        return [what]
    parts = [p for p in WHAT if sizable(scenario, p)]
    if not parts:
        raise ValueError(
            "targets: nothing to size against (give latency or error_rate, targets.stock, or a support section)"
        )
    return parts


def sizable(scenario: Scenario, part: str) -> bool:
    """The scenario gives what sizing this part needs: targets for it (and, for agents, a support section)."""
    if part == "servers":
        return bool(_judged_pools(scenario))
    if part == "stock":
        return scenario.targets.stock is not None
    if part == "warehouse":
        return scenario.fulfilment is not None and scenario.fulfilment.breach_target is not None
    return scenario.support is not None


def size(
    scenario: Scenario,
    what: str = "all",
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    max_scale: float = 20.0,
    max_agents: int = 5000,
    on_run: Callable[[Evaluation], None] | None = None,
    cluster: str | None = None,
) -> Sizing:
    """Size what is asked (servers, stock, agents or all, in that order: each sized part feeds the next); the
    candidates' replications run `jobs` at a time, or on the Dask cluster at `cluster`."""
    seed = scenario.seed if seed is None else seed
    count = replications or scenario.replications
    parts = check(scenario, what)
    sizing = Sizing(on_run=on_run, skipped=[p for p in WHAT if p not in parts])

    def run(s: Scenario) -> RunResult:
        return simulate(s, seed, count, jobs, cluster=cluster)

    sized = scenario
    shop: RunResult | None = None
    if "servers" in parts:
        room = scenario.waiting_room
        if room is not None:  # the other way round too, for comparison: what queued entry saves, or costs
            other = "without queued entry" if room.enabled else "with queued entry"
            try:
                size_servers(
                    scenario.model_copy(update={"waiting_room": room.model_copy(update={"enabled": not room.enabled})}),
                    other,
                    run,
                    sizing,
                    max_scale,
                )
            except Unmet as exc:
                sizing.rows.append(
                    {
                        "what": "servers",
                        "variant": other,
                        "item": "all pools",
                        "current": None,
                        "sized": None,
                        "warm_start": None,
                        "cost": None,
                        "cost_unit": "",
                        "note": f"cannot be met: {exc}",
                    }
                )
        label = (
            "as configured"
            if room is None
            else ("with queued entry" if room.enabled else "without queued entry (as configured)")
        )
        sizing.applied = label
        try:
            workers, shop = size_servers(scenario, label, run, sizing, max_scale)
            sized = with_workers(sized, workers)
        except Unmet as exc:
            sizing.unmet.append(f"servers: {exc}")
    if "stock" in parts:
        try:
            sized = with_stock(sized, size_stock(sized, run, sizing))
            shop = None
        except Unmet as exc:
            sizing.unmet.append(f"stock: {exc}")
    if "agents" in parts:
        try:
            shop = shop if shop is not None else run(sized)
            sized = size_agents(sized, shop, seed, sizing, max_agents)
        except Unmet as exc:
            sizing.unmet.append(f"agents: {exc}")
    if "warehouse" in parts:
        try:
            shop = shop if shop is not None else run(sized)
            sized = size_warehouse(sized, shop, sizing)
        except Unmet as exc:
            sizing.unmet.append(f"warehouse: {exc}")
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
            oks = [pool_passes(scenario, r, pool) for r in reps]
            checks.append(
                {
                    "check": f"pool {pool}: latency and error-rate targets",
                    "value": float(np.mean(oks)),
                    "bound": need,
                    "met": enough(oks, need),
                }
            )
    target = scenario.targets.stock
    if "stock" in parts and target is not None:
        for sku in dict.fromkeys(sale.sku for sale in scenario.sales):  # out: a shopper found no unit for them
            out = [s["sold_out_at"] is not None or s["refused_at"] is not None for s in (r["stock"][sku] for r in reps)]
            checks.append(
                {
                    "check": f"stock {sku}: share of replications running out",
                    "value": float(np.mean(out)),
                    "bound": target.stockout_probability,
                    "met": float(np.mean(out)) <= target.stockout_probability + 1e-9,
                }
            )
    if "agents" in parts and scenario.support is not None:
        for team in support.teams(scenario):
            ok = np.array([support.team_met(scenario, rep["support"]["teams"][team]["intervals"]) for rep in reps])
            worst = float(ok.mean(axis=0).min()) if ok.size else 1.0
            checks.append(
                {
                    "check": f"support {team}: every interval's service level",
                    "value": worst,
                    "bound": need,
                    "met": all(enough(ok[:, i].tolist(), need) for i in range(ok.shape[1])),
                }
            )
    warehouse = scenario.fulfilment
    if "warehouse" in parts and warehouse is not None and warehouse.breach_target is not None:
        bound = warehouse.breach_target
        oks = [_kept(r["fulfilment"]["breach_rate"], bound) for r in reps]
        checks.append(
            {
                "check": f"warehouse: at most {bound:.0%} of orders shipped later than promised",
                "value": float(np.mean(oks)),
                "bound": need,
                "met": enough(oks, need),
            }
        )
    return checks


# -- warehouse ----------------------------------------------------------------------------------------


def with_warehouse_staff(scenario: Scenario, staff: list[int]) -> Scenario:
    """The scenario with these staff on the warehouse's shifts, in roster order."""
    f = scenario.fulfilment
    assert f is not None  # sized only where there is a warehouse
    roster = [shift.model_copy(update={"staff": n}) for shift, n in zip(f.roster, staff)]
    return scenario.model_copy(update={"fulfilment": f.model_copy(update={"roster": roster})})


def _kept(breach: float | None, bound: float) -> bool:
    return breach is None or breach <= bound + 1e-12  # None: no order was due, none late


def size_warehouse(scenario: Scenario, shop: RunResult, sizing: Sizing) -> Scenario:
    """The fewest warehouse staff keeping the promise, the roster's shape kept: every shift's staff as the
    same share of its current number (rounded up), searched on the orders the shop's replications paid (the
    sale does not depend on the warehouse, so one run serves every candidate)."""
    f = scenario.fulfilment
    assert f is not None and f.breach_target is not None  # checked by sizable
    current = [shift.staff for shift in f.roster]
    if not any(current):
        raise Unmet("the roster has no staff to scale; give each shift a number to start from")

    def staff_at(percent: int) -> list[int]:
        return [math.ceil(n * percent / 100) for n in current]

    def evaluate(config: dict[str, int]) -> dict[str, bool | None]:
        staff = staff_at(config["roster"])
        sized = with_warehouse_staff(scenario, staff)
        oks = [_kept(fulfilment.run(sized, rep)["breach_rate"], f.breach_target) for rep in shop.replications]  # type: ignore[arg-type]
        ok = enough(oks, scenario.targets.confidence)
        sizing.log(Evaluation("warehouse", {s.name: n for s, n in zip(f.roster, staff)}, {"roster": ok}))
        return {"roster": ok}

    percent = search({"roster": 100}, evaluate, 1, {"roster": 100 * 50}, describe=lambda _: "warehouse staff")
    staff = staff_at(percent["roster"])
    for shift, before, after in zip(f.roster, current, staff):
        sizing.rows.append(
            {
                "what": "warehouse",
                "variant": "the roster's shape kept",
                "item": shift.name,
                "current": before,
                "sized": after,
                "warm_start": before,
                "cost": None,
                "cost_unit": "",
            }
        )
    return with_warehouse_staff(scenario, staff)
