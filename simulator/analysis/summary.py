"""What a run found: per-replication figures, their means with 95% confidence intervals, the series.

Replications come in as the plain data `model.simulate_once` returns; everything here is a pure
function of them, so the same replications give byte-identical files however they were computed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from simulator.analysis.recovery import recoveries
from simulator.engine import N_BUCKETS, WINDOW, percentile
from simulator.model import OUTCOMES
from simulator.scenario import Scenario, Support
from simulator.units import format_clock

if TYPE_CHECKING:
    pass

# Two-sided 95% Student t quantiles for 1..30 degrees of freedom.
_T95 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with df degrees of freedom."""
    if df <= len(_T95):
        return _T95[df - 1]
    return 1.959964 + 2.37 / df + 2.8 / df**2  # asymptotic expansion, exact to 3 decimals past 30


def stat(values: list[float | None]) -> dict[str, Any]:
    """Mean and 95% CI over replications (None where a replication has no value, e.g. never sold out)."""
    known = [v for v in values if v is not None]
    out: dict[str, Any] = {"mean": None, "ci95": None}
    if known:
        mean = math.fsum(known) / len(known)
        out["mean"] = mean
        if len(known) > 1:
            sd = math.sqrt(math.fsum((v - mean) ** 2 for v in known) / (len(known) - 1))
            half = t95(len(known) - 1) * sd / math.sqrt(len(known))
            out["ci95"] = [mean - half, mean + half]
    if len(known) < len(values):
        out["missing"] = len(values) - len(known)
    return out


def figures(rep: dict) -> dict[str, Any]:
    """The scalar figures of one replication, nested like summary.json."""
    horizon = rep["horizon"]
    shoppers = rep["shoppers"]
    endpoints = {}
    for name, ep in rep["endpoints"].items():
        answered = ep["served"] + ep["rejected"] + ep["timed_out"]
        endpoints[name] = {
            "requests": ep["requests"],
            "served": ep["served"],
            "rejected": ep["rejected"],
            "timed_out": ep["timed_out"],
            "in_flight": ep["in_flight"],
            "retries": ep["retries"],
            "wasted": ep["wasted"],
            "shed": ep["shed"],
            "error_rate": (ep["rejected"] + ep["timed_out"]) / answered if answered else None,
            "amplification": ep["requests"] / (ep["requests"] - ep["retries"]) if ep["requests"] else None,
            "throughput": ep["served"] / horizon,
            "latency_mean": ep["latency_sum"] / ep["served"] if ep["served"] else None,
            "latency_p50": percentile(ep["hist"], 0.50),
            "latency_p95": percentile(ep["hist"], 0.95),
            "latency_p99": percentile(ep["hist"], 0.99),
        }
    pools = {}
    for name, pool in rep["pools"].items():
        mine = [ep for e, ep in rep["endpoints"].items() if rep["pool_of"][e] == name]
        left = pool["completed"] + pool["shed"]
        pools[name] = {
            "workers": pool["workers"],
            "peak_workers": pool["peak_workers"],
            "worker_hours": pool["worker_seconds"] / 3600,
            "utilisation": pool["busy_area"] / pool["worker_seconds"],
            "peak_queue": pool["peak_queue"],
            "p_wait": pool["waited"] / pool["admitted"] if pool["admitted"] else None,
            "mean_wait": pool["wait_sum"] / pool["started"] if pool["started"] else None,
            "mean_in_pool": pool["in_pool_area"] / horizon,
            "mean_queue": (pool["in_pool_area"] - pool["busy_area"]) / horizon,
            "throughput": left / horizon,
            "mean_time_in_pool": pool["sojourn_sum"] / left if left else None,
            "wasted": sum(e["wasted"] for e in mine),
            "shed": pool["shed"],
        }
    stock = {
        name: {
            **{
                k: s[k]
                for k in (
                    "initial",
                    "sold",
                    "reserved",
                    "available",
                    "expired",
                    "declined",
                    "replenished",
                    "restock_reservations",
                    "sold_out_at",
                    "all_sold_at",
                    "revenue",
                )
            },
            "member_orders": sum(row[1] + row[2] for row in s["taken"]),
        }
        for name, s in rep["stock"].items()
    }
    requests = sum(e["requests"] for e in rep["endpoints"].values())
    errors = sum(e["rejected"] + e["timed_out"] for e in rep["endpoints"].values())
    room = rep.get("waiting_room")
    extra = {"waiting_room": _room_figures(room)} if room is not None else {}
    if "presale" in rep:
        extra["presale"] = {k: v for k, v in rep["presale"].items() if k != "series"}
    if "red_packets" in rep:
        extra["red_packets"] = {name: _rain_figures(rain) for name, rain in rep["red_packets"].items()}
    if "support" in rep:
        extra["support"] = _support_figures(rep["support"])
    if "resources" in rep:
        extra["resources"] = _resource_figures(rep["resources"], horizon)
    if "pricing" in rep:
        extra["pricing"] = _pricing_figures(rep["pricing"], list(rep["stock"]))
    if "fulfilment" in rep:
        extra["fulfilment"] = {k: v for k, v in rep["fulfilment"].items() if k != "series"}
    if "incidents" in rep:
        read = recoveries(rep)
        verdicts = [r["recovered"] for r in read]
        extra["incidents"] = {
            "occurrences": len(read),
            "recovered": verdicts.count(True),
            "not_recovered": verdicts.count(False),
            # None unless every one came back: a mean over the ones that did would hide the others
            "slowest_recovery_s": max((r["recovered_after_s"] for r in read), default=0.0) if all(verdicts) else None,
        }
    return {
        **extra,
        "contingency_firings": len(rep["contingency"]),
        "shoppers": {
            "arrivals": shoppers["arrivals"],
            "in_system": shoppers["in_system"],
            **{f"outcome_{o}": shoppers["outcomes"][o] for o in OUTCOMES},
            "charged_but_gave_up": rep["charged_but_gave_up"],
        },
        "endpoints": endpoints,
        "pools": pools,
        "stock": stock,
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests else None,
        "orders": sum(sum(s["series"]["orders"]) for s in rep["stock"].values()),
        "revenue": sum(s["revenue"] for s in rep["stock"].values()) + rep.get("presale", {}).get("deposits", 0),
    }


def _resource_figures(res: dict, horizon: float) -> dict[str, Any]:
    """Locks and connection pools (`<name>`) and each pool's CPU cores (`cpu_<pool>`)."""

    def held(h: dict) -> dict[str, Any]:
        return {
            "units": h["units"],
            "utilisation": h["held_area"] / (h["units"] * horizon),
            "throughput": h["acquired"] / horizon,
            "p_wait": h["waited"] / h["acquired"] if h["acquired"] else None,
            "mean_wait": h["wait_sum"] / h["acquired"] if h["acquired"] else None,
            "peak_queue": h["peak_queue"],
            "queued_at_end": h["queued_at_end"],
        }

    out = {name: held(h) for kind in ("locks", "connections") for name, h in res[kind].items()}
    for pool, cores in res["cores"].items():
        out[f"cpu_{pool}"] = {
            "processes": len(cores),
            "utilisation": sum(c["work"] for c in cores) / (sum(c["cores"] for c in cores) * horizon),
            "peak_jobs": max(c["peak_jobs"] for c in cores),
        }
    return out


def _room_figures(room: dict) -> dict[str, Any]:
    return {
        "admitted": room["admitted"],
        "abandoned": room["abandoned"],
        "balked": room["balked"],
        "told_sold_out": room["told_sold_out"],
        "expired_sessions": room["expired_sessions"],
        "peak_queue": room["peak_queue"],
        "peak_active": room["peak_active"],
        "queued_at_end": room["queued_at_end"],
        "wait_mean": room["latency_sum"] / room["admitted"] if room["admitted"] else None,
        "wait_p50": percentile(room["hist"], 0.50),
        "wait_p95": percentile(room["hist"], 0.95),
        "wait_p99": percentile(room["hist"], 0.99),
    }


def _rain_figures(rain: dict) -> dict[str, Any]:
    return {
        **{
            k: rain[k]
            for k in ("budget", "spent", "packets", "winners", "participants", "taps", "served_taps", "exhausted_at")
        },
        "win_rate": rain["packets"] / rain["served_taps"] if rain["served_taps"] else None,
    }


def _pricing_figures(p: dict, skus: list[str]) -> dict[str, Any]:
    """Money taken off the orders paid, the coupons' budgets, and per SKU the prices paid."""

    def paid(prices: list[tuple[float, int]]) -> dict[str, Any]:
        counts = np.array([n for _, n in prices], dtype=float)
        values = np.array([v for v, _ in prices])
        if not counts.sum():
            return {"orders": 0, "mean": None, "lowest": None, "median": None, "highest": None}
        cumulative = np.cumsum(counts)
        return {
            "orders": int(cumulative[-1]),
            "mean": float(values @ counts / cumulative[-1]),
            "lowest": float(values[0]),
            "median": float(values[np.searchsorted(cumulative, cumulative[-1] / 2)]),
            "highest": float(values[-1]),
        }

    return {
        **{k: p[k] for k in ("orders", "gross", "discounts", "net", "stacked")},
        "coupons": {name: {k: v for k, v in c.items() if k != "series"} for name, c in p["coupons"].items()},
        "price_paid": {sku: paid(p["paid_at"].get(sku, [])) for sku in skus},
    }


def _support_figures(s: dict) -> dict[str, Any]:
    """Support in one replication: per team in total and per interval, per shift, and whether every
    interval met targets.support."""
    length, end = s["interval"], s["until"]
    seconds = [min(length, end - k * length) for k in range(len(s["intervals_met"]))]
    intervals = []
    for k, met in enumerate(s["intervals_met"]):
        teams = {}
        for team, t in s["teams"].items():
            row = {key: values[k] for key, values in t["intervals"].items()}
            teams[team] = {
                **_contact_figures(row),
                "agents": row["agents"],
                "busy_agents": row["busy"] / seconds[k] / t["concurrency"],
                "peak_queue": row["peak_queue"],
            }
        intervals.append({"met": float(met), "teams": teams})
    keep = (
        "completed",
        "escalated",
        "in_service_at_end",
        "queued_at_end",
        "peak_queue",
        "agent_hours",
        "temporary_agent_hours",
    )
    return {
        "all_intervals_met": float(s["met"]),
        "contacts": s["contacts"],
        "sources": dict(s["sources"]),
        "teams": {
            team: {
                **_contact_figures(t),
                **{k: t[k] for k in keep},
                "mean_wait": t["queue_time"] / t["offered"] if t["offered"] else None,
            }
            for team, t in s["teams"].items()
        },
        "intervals": intervals,
        "shifts": {
            name: {
                "agent_hours": shift["agent_hours"],
                "teams": {
                    team: {**_contact_figures(t), "agent_hours": t["agent_hours"]} for team, t in shift["teams"].items()
                },
            }
            for name, shift in s["shifts"].items()
        },
    }


def _contact_figures(t: dict) -> dict[str, Any]:
    """Counts and rates of contacts at one team (in total, in an interval or while a shift is on)."""
    offered, answered = t["offered"], t["answered"]
    out = {key: t[key] for key in ("offered", "deflected", "answered", "answered_within", "abandoned") if key in t}
    out["service_level"] = t["answered_within"] / offered if offered else None
    out["abandonment"] = t["abandoned"] / offered if offered else None
    if "wait_sum" in t:
        out["p_wait"] = t["waited"] / offered if offered else None
        out["asa"] = t["wait_sum"] / answered if answered else None
        worked = t["available"] + t["overtime"]
        out["occupancy"] = t["busy"] / worked if worked else None
    return out


def _combine(items: list[Any]) -> Any:
    """Nested figures of each replication -> the same nesting with a stat at every leaf."""
    first = items[0]
    if isinstance(first, dict):
        return {k: _combine([item[k] for item in items]) for k in first}
    if isinstance(first, list):  # a series of figures (support intervals): element by element
        return [_combine([item[i] for item in items]) for i in range(len(first))]
    return stat(items)


def summarise(scenario: Scenario, seed: int, reps: list[dict]) -> dict[str, Any]:
    """summary.json: the scenario's identity, every figure as mean and 95% CI, and targets met or not."""
    combined = _combine([figures(r) for r in reps])
    if "support" in combined:
        combined["support"] = _label_support(scenario, reps[0]["support"], combined["support"])
    return {
        "scenario": scenario.name,
        "seed": seed,
        "replications": len(reps),
        "clock_start": scenario.clock.start,
        "horizon_s": scenario.clock.horizon,
        **combined,
        "targets": judge(scenario, combined),
        "contingency": [
            {
                "replication": i,
                **firing,
                "fired_clock": format_clock(scenario.clock.start_time, firing["fired_at"]),
                "effective_clock": format_clock(scenario.clock.start_time, firing["effective_at"]),
            }
            for i, rep in enumerate(reps)
            for firing in rep["contingency"]
        ],
        **({"incident_log": _incident_log(scenario, reps)} if "incidents" in reps[0] else {}),
    }


def _incident_log(scenario: Scenario, reps: list[dict]) -> list[dict[str, Any]]:
    """Every incident of every replication: when, what, and whether and when the shop came back."""
    start = scenario.clock.start_time
    return [
        {
            "replication": i,
            **occurrence,
            "start_clock": format_clock(start, occurrence["start"]),
            "end_clock": format_clock(start, occurrence["end"]),
            **read,
        }
        for i, rep in enumerate(reps)
        for occurrence, read in zip(rep["incidents"], recoveries(rep))
    ]


def _label_support(scenario: Scenario, first: dict, combined: dict) -> dict[str, Any]:
    """The combined support figures with what they are measured against: intervals, targets, shifts."""
    start, target = scenario.clock.start_time, scenario.targets.support
    roster = {shift.name: shift for shift in cast(Support, scenario.support).roster}  # a run with support
    return {
        "interval_s": first["interval"],
        "until_s": first["until"],
        "answer_within_s": target.answer_within,
        "service_level_target": target.service_level,
        "abandonment_target": target.abandonment,
        **combined,
        "intervals": [
            {"start": k * first["interval"], "clock": format_clock(start, k * first["interval"]), **row}
            for k, row in enumerate(combined["intervals"])
        ],
        "shifts": {
            name: {
                "start": roster[name].start,
                "end": roster[name].end,
                "temporary": roster[name].temporary,
                **shift,
                "teams": {
                    team: {"agents": getattr(roster[name], team), **figures} for team, figures in shift["teams"].items()
                },
            }
            for name, shift in combined["shifts"].items()
        },
    }


def judge(scenario: Scenario, combined: dict) -> list[dict[str, Any]]:
    """Each target with the value measured (mean over replications) and whether it was met."""
    checks = []
    for step, bounds in scenario.targets.latency.items():
        for q in ("p95", "p99"):
            bound = getattr(bounds, q)
            if bound is not None:
                value = combined["endpoints"][step][f"latency_{q}"]["mean"]
                checks.append(
                    {
                        "target": f"{step} {q}",
                        "bound": bound,
                        "value": value,
                        "met": value is not None and value <= bound,
                    }
                )
    if scenario.targets.error_rate is not None:
        value = combined["error_rate"]["mean"]
        checks.append(
            {
                "target": "error rate",
                "bound": scenario.targets.error_rate,
                "value": value,
                "met": value is not None and value <= scenario.targets.error_rate,
            }
        )
    if "support" in combined:  # as sizing judges it: each interval met in enough of the replications
        target = scenario.targets.support
        shares = [i["met"]["mean"] for i in combined["support"]["intervals"]]
        value = min(shares) if shares else None
        what = f"{target.service_level:.0%} answered within {target.answer_within:g} s"
        what += f", at most {target.abandonment:.0%} hanging up" if target.abandonment is not None else ""
        checks.append(
            {
                "target": f"support: {what}, share of replications meeting it in the worst interval",
                "bound": scenario.targets.confidence,
                "value": value,
                "met": value is not None and value >= scenario.targets.confidence,
            }
        )
    return checks


def timeseries(reps: list[dict]) -> tuple[list[str], np.ndarray]:
    """Per-second columns (mean over replications): shoppers, endpoints, pools, stock; one row per second."""
    columns: dict[str, list[list[float]]] = {}
    first = reps[0]
    for key in first["shoppers"]["series"]:
        columns[f"shoppers.{key}"] = [r["shoppers"]["series"][key] for r in reps]
    for section, prefix in (("endpoints", ""), ("pools", "pool."), ("stock", "stock.")):
        for name in first[section]:
            for key in first[section][name]["series"]:
                columns[f"{prefix}{name}.{key}"] = [r[section][name]["series"][key] for r in reps]
    if "waiting_room" in first:
        for key in first["waiting_room"]["series"]:
            columns[f"waiting_room.{key}"] = [r["waiting_room"]["series"][key] for r in reps]
    if "presale" in first:
        columns["presale.balance_paid"] = [r["presale"]["series"]["paid"] for r in reps]
    for name in first.get("pricing", {}).get("coupons", {}):
        columns[f"coupons.{name}.given"] = [r["pricing"]["coupons"][name]["series"]["given"] for r in reps]
    for name in first.get("red_packets", {}):
        for key in first["red_packets"][name]["series"]:
            columns[f"red_packets.{name}.{key}"] = [r["red_packets"][name]["series"][key] for r in reps]
    length = len(next(iter(columns.values()))[0])
    data = np.empty((length, len(columns) + 1))
    data[:, 0] = np.arange(length)
    for i, per_rep in enumerate(columns.values(), start=1):
        data[:, i] = np.asarray(per_rep, dtype=float).mean(axis=0)
    return ["second", *columns], data


def latency_windows(reps: list[dict]) -> list[dict[str, Any]]:
    """Response-time percentiles per endpoint (and the waiting room's waits) per window, from the
    replications' merged histograms."""
    rows = []
    recorders = {name: [r["endpoints"][name] for r in reps] for name in reps[0]["endpoints"]}
    if "waiting_room" in reps[0]:
        recorders["waiting_room"] = [r["waiting_room"] for r in reps]
    for name, per_rep in recorders.items():
        windows = sorted({w for r in per_rep for w in r["windows"]})
        for w in windows:
            counts = [0] * N_BUCKETS
            for r in per_rep:
                for b, c in enumerate(r["windows"].get(w, ())):
                    counts[b] += c
            rows.append(
                {
                    "endpoint": name,
                    "start": w * WINDOW,
                    "served": sum(counts) / len(reps),
                    **{f"p{q}": percentile(counts, q / 100) for q in (50, 95, 99)},
                }
            )
    return rows
