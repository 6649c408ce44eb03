"""Plans side by side: the baseline and each contingency plan on the same random numbers.

Every plan runs with the baseline's seed and number of replications, so replication i of a plan meets
the same shoppers and the same draws as replication i of the baseline (common random numbers). A plan's
effect is therefore read from paired differences, plan minus baseline replication by replication: the
noise the two share cancels, and the confidence interval of the difference is far tighter than the
intervals of the two means would suggest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from simulator.analysis.replications import RunResult, simulate_all
from simulator.analysis.summary import figures, stat
from simulator.scenario import Problem, Scenario, ScenarioError, load_scenario, plan_names

BASELINE = "baseline"
"""The scenario without any plan; also the name of its results subdirectory."""


@dataclass(frozen=True)
class Row:
    """One figure compared: the baseline's mean and CI, each plan's, and each plan's paired difference."""

    figure: str
    """Dotted path in summary.json, e.g. `endpoints.buy.latency_p99`."""
    label: str
    unit: str
    """How to read the value: count, money, fraction, seconds, latency (seconds shown in ms), clock, hours."""
    baseline: dict[str, Any]
    plans: dict[str, dict[str, Any]]
    """Plan name -> {"value": stat, "diff": stat of plan minus baseline per replication, "significant"}."""


@dataclass
class Comparison:
    """The baseline's and each plan's replications, run with common random numbers."""

    results: dict[str, RunResult]
    """`baseline` first, then the plans in the order asked for."""

    @property
    def baseline(self) -> RunResult:
        return self.results[BASELINE]

    @property
    def plans(self) -> list[str]:
        return [name for name in self.results if name != BASELINE]

    @cached_property
    def _figures(self) -> dict[str, list[dict]]:
        return {name: [figures(rep) for rep in result.replications] for name, result in self.results.items()}

    def values(self, name: str, figure: str) -> list[float | None]:
        """One figure (dotted path, e.g. `pools.web.utilisation`) of a run, replication by replication."""
        path = tuple(figure.split("."))
        return [_get(f, path) for f in self._figures[name]]

    def difference(self, plan: str, figure: str) -> dict[str, Any]:
        """Mean and 95% CI of the paired difference plan minus baseline, over the replications."""
        pairs = zip(self.values(plan, figure), self.values(BASELINE, figure))
        return stat([a - b if a is not None and b is not None else None for a, b in pairs])

    @cached_property
    def rows(self) -> list[Row]:
        """The figures people compare plans on, in reading order; figures no run has are left out."""
        rows = []
        for path, label, unit in _selection(_union([reps[0] for reps in self._figures.values()])):
            figure = ".".join(path)
            plans = {}
            for name in self.plans:
                diff = self.difference(name, figure)
                plans[name] = {"value": stat(self.values(name, figure)), "diff": diff, "significant": significant(diff)}
            rows.append(Row(figure, label, unit, stat(self.values(BASELINE, figure)), plans))
        return rows

    def data(self) -> dict[str, Any]:
        """compare.json: what was compared, how, and every row."""
        scenario = self.baseline.scenario
        return {
            "scenario": scenario.name,
            "seed": self.baseline.seed,
            "replications": len(self.baseline.replications),
            "clock_start": scenario.clock.start,
            "plans": {name: scenario.plans[name].description if name in scenario.plans else "" for name in self.plans},
            "figures": [
                {"figure": r.figure, "label": r.label, "unit": r.unit, "baseline": r.baseline, "plans": r.plans}
                for r in self.rows
            ],
        }


def significant(diff: dict[str, Any]) -> bool | None:
    """Whether the 95% CI of a paired difference excludes 0; None when there is no interval."""
    ci = diff.get("ci95")
    if not ci:
        return None
    return ci[0] > 0 or ci[1] < 0


def load_plans(
    path: str | Path,
    plans: list[str] | tuple[str, ...] = (),
    overrides: list[str] | tuple[str, ...] = (),
    overlays: list[Path] | tuple[Path, ...] = (),
    scale: float = 1.0,
) -> dict[str, Scenario]:
    """The baseline and each plan (all the scenario's plans when none is named), every one validated.

    Raises one ScenarioError naming every problem of every plan, so nothing is simulated until all can run.
    """
    problems: list[Problem] = []
    scenarios: dict[str, Scenario] = {}
    try:
        scenarios[BASELINE] = load_scenario(path, overrides, overlays=overlays, scale=scale)
    except ScenarioError as exc:
        problems += exc.problems
    names = list(dict.fromkeys(plans)) or (list(scenarios[BASELINE].plans) if scenarios else plan_names(path))
    if not names and scenarios:
        problems.append(Problem(where=str(path), path="plans", message="the scenario has no plans to compare"))
    for name in names:
        if name == BASELINE or not name or Path(name).name != name or name in (".", ".."):
            problems.append(
                Problem(
                    where=str(path),
                    path=f"plans.{name}",
                    message=(
                        "cannot be compared under this name: it is the baseline's"
                        if name == BASELINE
                        else "cannot be compared under this name: it must also name a results directory"
                    ),
                )
            )
            continue
        try:
            scenarios[name] = load_scenario(path, overrides, name, overlays, scale)
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(list({str(p): p for p in problems}.values()))  # a baseline error repeats per plan
    return scenarios


def run_plans(
    scenarios: dict[str, Scenario],
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    progress: Callable[[], None] | None = None,
    cluster: str | None = None,
) -> Comparison:
    """Simulate every scenario with the baseline's seed and replications (common random numbers), `jobs` at a
    time or on the Dask cluster at `cluster`."""
    # the baseline's seed and replications for all: a plan may not change them, the pairing would break
    return Comparison(simulate_all(scenarios, seed, replications, jobs, progress, cluster=cluster))


def compare(
    path: str | Path,
    plans: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    replications: int | None = None,
    jobs: int = 1,
    overrides: list[str] | tuple[str, ...] = (),
    progress: Callable[[], None] | None = None,
    overlays: list[Path] | tuple[Path, ...] = (),
    scale: float = 1.0,
    cluster: str | None = None,
) -> Comparison:
    """Run the baseline and the plans (default: all) of a scenario file, grown `scale` times, with common
    random numbers."""
    scenarios = load_plans(path, plans, overrides, overlays, scale)
    return run_plans(scenarios, seed, replications, jobs, progress, cluster)


# -- which figures: the ones a plan is meant to move -------------------------------------------------


def _selection(shape: dict) -> list[tuple[tuple[str, ...], str, str]]:
    """(path, label, unit) of each compared figure present in `shape` (the union of the runs' figures)."""
    pools, endpoints, stock = shape.get("pools", {}), shape.get("endpoints", {}), shape.get("stock", {})
    room = shape.get("waiting_room") or {}
    rows = [
        (("shoppers", "outcome_bought"), "shoppers served (bought)", "count"),
        (("orders",), "orders", "count"),
        (("revenue",), "revenue", "money"),
        (("pricing", "discounts", "coupons"), "coupon money off", "money"),
    ]
    rows += [(("stock", sku, "sold_out_at"), f"{sku} sold out at", "clock") for sku in stock]
    rows += [(("stock", sku, "member_orders"), f"{sku} orders by members", "count") for sku in stock]
    rows += [(("endpoints", ep, "latency_p99"), f"{ep} p99", "latency") for ep in endpoints]
    rows += [
        (("requests",), "requests (all endpoints)", "count"),
        (("errors",), "errors (rejected + timed out)", "count"),
        (("error_rate",), "error rate", "fraction"),
    ]
    rows += [(("endpoints", ep, "retries"), f"{ep} retries", "count") for ep in endpoints]
    rows += [(("pools", pool, "wasted"), f"{pool} wasted work (requests)", "count") for pool in pools]
    rows += [(("pools", pool, "mean_wait"), f"{pool} mean queue wait", "seconds") for pool in pools]
    rows += [
        (("waiting_room", key), f"waiting room {label}", "seconds")
        for key, label in (("wait_mean", "mean wait"), ("wait_p95", "p95 wait"))
        if key in room
    ]
    rows += [
        (("shoppers", f"outcome_{key}"), label, "count")
        for key, label in (("abandoned_queue", "abandoned the queue"), ("gave_up", "gave up (errors)"))
        if f"outcome_{key}" in shape.get("shoppers", {})
    ]
    rows += [
        (("pools", pool, key), f"{pool} {label}", unit)
        for pool in pools
        for key, label, unit in (("peak_workers", "peak servers", "count"), ("worker_hours", "server-hours", "hours"))
        if key in pools[pool]
    ]
    teams = (shape.get("support") or {}).get("teams", {})
    rows += [(("support", "contacts"), "support contacts", "count")]
    rows += [
        (("support", "teams", team, key), f"{team} {label}", unit)
        for team in teams
        for key, label, unit in (
            ("service_level", "service level", "fraction"),
            ("asa", "ASA", "seconds"),
            ("abandonment", "abandonment", "fraction"),
            ("agent_hours", "agent-hours", "hours"),
        )
    ]
    rows += [(("support", "all_intervals_met"), "support target met in every interval", "fraction")]
    rows += [(("contingency_firings",), "contingency firings", "count")] if "contingency_firings" in shape else []
    rows += [
        (("fulfilment", "breach_rate"), "orders shipped later than promised", "fraction"),
        (("fulfilment", "staff_hours"), "warehouse staff-hours", "hours"),
        (("incidents", "not_recovered"), "incidents not recovered by the horizon", "count"),
        (("incidents", "slowest_recovery_s"), "slowest recovery after an incident", "seconds"),
    ]
    return [row for row in rows if _has(shape, row[0])]


def _union(items: list[dict]) -> dict:
    """Nested keys of all the dicts, in order of first appearance (a plan may add a pool or a waiting room)."""
    out: dict = {}
    for item in items:
        for key, value in item.items():
            if isinstance(value, dict):
                out[key] = _union([out[key], value]) if isinstance(out.get(key), dict) else _union([value])
            else:
                out.setdefault(key, value)
    return out


def _has(tree: dict, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _get(tree: dict, path: tuple[str, ...]) -> float | None:
    """A figure of one replication; None where this run does not have it."""
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return None if isinstance(tree, dict) else tree
