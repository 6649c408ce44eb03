"""Figures, an HTML page and a terminal table from a run: everything people look at after `flashsim run`."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from simulator.engine import WINDOW
from simulator.model import OUTCOMES
from simulator.output import interactive
from simulator.output.data import SavedRun
from simulator.output.moments import draw_moments, moments
from simulator.output.plotting import (
    by_column,
    clock_axis,
    endpoint_names,
    finish,
    fmt,
    mark,
    mean_of,
    plt,
    prefixed,
    save,
    shade,
)
from simulator.units import ClockTime, format_clock, format_duration, parse_clock

if TYPE_CHECKING:
    from simulator.analysis import RunResult

FIGURES = {
    "traffic": "Traffic and queues",
    "latency": "Latency",
    "stock": "Stock and orders",
    "outcomes": "Shopper outcomes",
    "waiting_room": "Waiting room",
    "red_packets": "Red-packet rains",
    "presale": "Balance-payment rush",
    "support": "Support contact centre",
}
ROOM = "waiting_room"
"""Name of the waiting room's rows among the latency windows (its queue waits)."""


def plot_traffic(
    cols: dict[str, np.ndarray],
    header: list[str],
    start: ClockTime,
    path: Path,
    firings: Sequence[dict[str, Any]] = (),
    incidents: Sequence[dict[str, Any]] = (),
) -> None:
    t = cols["second"]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    top.plot(t, cols["shoppers.arrivals"], label="shopper arrivals", color="black", ls=":", lw=1.5, zorder=5)
    for ep in endpoint_names(header):
        (line,) = top.plot(t, cols[f"{ep}.requests"], label=f"{ep} requests", lw=1)
        errors = cols[f"{ep}.rejected"] + cols[f"{ep}.timed_out"]
        if errors.any():
            top.plot(t, errors, ls="--", color=line.get_color(), lw=1, label=f"{ep} errors")
    top.set_ylabel("per second")
    top.set_title("Arrivals, requests and errors (rejected + timed out) per second")
    top.legend(fontsize=8, ncol=2)
    top.grid(True, alpha=0.3)
    for pool in prefixed(header, "pool.", ".queue"):
        bottom.plot(t, cols[f"pool.{pool}.queue"], label=f"{pool} queue", lw=1)
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("requests waiting")
    bottom.set_title("Pool queue lengths")
    bottom.legend(fontsize=8)
    for ax in (top, bottom):
        mark(ax, firings)
        shade(ax, incidents)
    clock_axis(bottom, start)
    save(fig, path)


def plot_latency(latency: list[dict[str, Any]], start: ClockTime, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(11, 5))
    styles = {"p50": ":", "p95": "--", "p99": "-"}
    for ep in dict.fromkeys(row["endpoint"] for row in latency if row["endpoint"] != ROOM):
        mine = sorted((r for r in latency if r["endpoint"] == ep), key=lambda r: r["start"])
        color = None
        for q, style in styles.items():
            # NaN where a window has no value, so gaps show as gaps rather than straight lines
            x: list[float] = []
            y: list[float] = []
            for r in mine:
                if x and r["start"] - x[-1] > WINDOW + 1e-9:  # windows with no requests are left out
                    x.append(x[-1] + WINDOW)
                    y.append(np.nan)
                x.append(r["start"])
                y.append(r[q] * 1000 if r[q] is not None and r[q] > 0 else np.nan)
            if not np.isnan(y).all():
                (line,) = ax.plot(x, y, ls=style, color=color, lw=1, label=f"{ep} {q}")
                color = line.get_color()
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Latency percentiles per endpoint (10 s windows)")
    if ax.lines:
        ax.legend(fontsize=8, ncol=4)
    clock_axis(ax, start)
    save(fig, path)


def plot_stock(
    cols: dict[str, np.ndarray], header: list[str], start: ClockTime, path: Path, firings: Sequence[dict[str, Any]] = ()
) -> None:
    t = cols["second"]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    for sku in prefixed(header, "stock.", ".available"):
        for what, style in (("available", "-"), ("reserved", "--"), ("sold", ":")):
            top.plot(t, cols[f"stock.{sku}.{what}"], ls=style, lw=1.2, label=f"{sku} {what}")
        bottom.plot(t, cols[f"stock.{sku}.orders"], lw=1, label=f"{sku} orders")
        bottom.plot(t, cols[f"stock.{sku}.paid"], lw=1, label=f"{sku} paid")
    top.set_ylabel("units")
    top.set_title("Stock: available, reserved (unpaid orders) and sold")
    top.legend(fontsize=8)
    top.grid(True, alpha=0.3)
    bottom.set_ylabel("per second")
    bottom.set_title("Orders created and paid per second")
    bottom.legend(fontsize=8)
    mark(top, firings)
    clock_axis(bottom, start)
    save(fig, path)


def plot_outcomes(cols: dict[str, np.ndarray], start: ClockTime, path: Path) -> None:
    t = cols["second"]
    fig, ax = plt.subplots(figsize=(11, 5))
    for outcome in OUTCOMES:
        if f"shoppers.{outcome}" in cols:
            ax.plot(t, np.cumsum(cols[f"shoppers.{outcome}"]), lw=1.5, label=outcome.replace("_", " "))
    ax.plot(t, cols["shoppers.in_system"], color="black", ls="--", lw=1, label="in system")
    ax.set_ylabel("shoppers (cumulative)")
    ax.set_title("Shopper outcomes over time (cumulative) and shoppers in the system")
    ax.legend(fontsize=8)
    clock_axis(ax, start)
    save(fig, path)


def plot_waiting_room(
    cols: dict[str, np.ndarray],
    latency: list[dict[str, Any]],
    start: ClockTime,
    path: Path,
    firings: Sequence[dict[str, Any]] = (),
) -> None:
    """Queue length and shoppers inside; admissions and abandonment per second; queue-wait percentiles."""
    t = cols["second"]
    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(11, 9))
    top.plot(t, cols["waiting_room.queue"], lw=1.2, label="queued")
    top.plot(t, cols["waiting_room.active"], lw=1.2, ls="--", label="admitted, in the journey")
    top.set_ylabel("shoppers")
    top.set_title("Waiting room: queue length and shoppers let in")
    middle.plot(t, cols["waiting_room.admitted"], lw=1, label="admitted")
    middle.plot(t, cols["waiting_room.abandoned"], lw=1, label="left the queue (abandoned or balked)")
    middle.set_ylabel("per second")
    middle.set_title("Admissions and abandonment per second")
    rows = sorted((r for r in latency if r["endpoint"] == ROOM), key=lambda r: r["start"])
    for q, style in (("p50", ":"), ("p95", "--"), ("p99", "-")):
        bottom.plot(
            [r["start"] for r in rows],
            [r[q] / 60 if r[q] is not None else np.nan for r in rows],
            ls=style,
            lw=1,
            label=f"wait {q}",
        )
    bottom.set_ylabel("minutes")
    bottom.set_title("Queue waits of shoppers let in (10 s windows)")
    for ax in (top, middle, bottom):
        mark(ax, firings)
    finish(fig, [top, middle, bottom], start, path)


def plot_rains(cols: dict[str, np.ndarray], header: list[str], start: ClockTime, path: Path) -> None:
    """Grab requests and packets won per second; the budget spent over time, per rain."""
    t = cols["second"]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    top.plot(t, cols["grab.requests"], lw=1, color="black", label="grab requests (taps)")
    top.plot(t, cols["grab.rejected"] + cols["grab.timed_out"], lw=1, ls="--", color="crimson", label="grab errors")
    for rain in prefixed(header, "red_packets.", ".spent"):
        top.plot(t, cols[f"red_packets.{rain}.packets"], lw=1, label=f"{rain}: packets won")
        bottom.plot(t, np.cumsum(cols[f"red_packets.{rain}.spent"]), lw=1.5, label=f"{rain}: spent")
    top.set_ylabel("per second")
    top.set_title("Red-packet rains: taps and packets won per second")
    bottom.set_ylabel("money")
    bottom.set_title("Budget spent (cumulative)")
    finish(fig, [top, bottom], start, path)


def _pricing_tables(pricing: dict, start: ClockTime) -> list[tuple[str, list[str], list[list[str]]]]:
    """Where the money off went, what each coupon's budget did, and the prices paid per SKU."""
    off = pricing["discounts"]
    money = [
        ["list price of the orders paid", fmt(pricing["gross"], digits=2)],
        ["less the member price", fmt(off["member"], digits=2)],
        ["less tiered discounts", fmt(off["tiers"], digits=2)],
        ["less coupons", fmt(off["coupons"], digits=2)],
        ["paid (revenue net of discounts)", fmt(pricing["net"], digits=2)],
        *([f"orders stacking {k} coupons", fmt(n)] for k, n in enumerate(pricing["stacked"])),
    ]
    tables = [("Prices and discounts (orders paid through the journey and presale balances)", ["", "money"], money)]
    if pricing["coupons"]:
        rows = [
            [
                name,
                fmt(c["claims"]),
                fmt(c["refused_limit"]),
                fmt(c["refused_budget"]),
                fmt(c["redeemed"]),
                fmt(c["left"]),
                format_clock(start, t) if (t := mean_of(c["spent_at"])) is not None else "never",
            ]
            for name, c in pricing["coupons"].items()
        ]
        header = ["coupon", "claimed", "over limit", "budget out", "redeemed", "budget left", "spent at"]
        tables.append(("Coupons", header, rows))
    prices = [
        [sku, fmt(p["orders"]), *(fmt(p[k], digits=2) for k in ("mean", "lowest", "median", "highest"))]
        for sku, p in pricing["price_paid"].items()
        if mean_of(p["orders"])
    ]
    tables.append(("Prices paid", ["sku", "orders", "mean", "lowest", "median", "highest"], prices))
    return tables


def plot_presale(cols: dict[str, np.ndarray], pool: str, start: ClockTime, path: Path) -> None:
    """Balance payments per second; the payment pool's queue and the pay endpoint's errors."""
    t = cols["second"]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    top.plot(t, cols["presale.balance_paid"], lw=1, label="balance payments")
    top.plot(t, cols["pay.rejected"] + cols["pay.timed_out"], lw=1, ls="--", color="crimson", label="pay errors")
    top.set_ylabel("per second")
    top.set_title("Balance-payment rush: payments and payment errors per second")
    bottom.plot(t, cols[f"pool.{pool}.queue"], lw=1, label=f"{pool} queue")
    bottom.plot(t, cols["pay.in_flight"], lw=1, ls=":", label="pay requests in flight")
    bottom.set_ylabel("requests")
    bottom.set_title(f"The pay endpoint's pool ({pool})")
    finish(fig, [top, bottom], start, path)


def plot_support(support: dict[str, Any], start: ClockTime, path: Path) -> None:
    """Per interval and team: contacts offered, service level against the target, agents on duty and busy."""
    rows = support["intervals"]
    edges = [row["start"] for row in rows] + [support["until_s"]]
    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(11, 9))

    def step(ax: Any, values: list[float | None], **style: Any) -> Any:
        y = [np.nan if v is None else v for v in values]
        return ax.stairs(y, edges, baseline=None, **style)

    for team in rows[0]["teams"] if rows else []:
        per = [row["teams"][team] for row in rows]
        if not any((mean_of(p["offered"]) or 0) + (mean_of(p["deflected"]) or 0) for p in per) and not any(
            mean_of(p["agents"]) for p in per
        ):
            continue  # a team with neither contacts nor agents
        line = step(top, [mean_of(p["offered"]) for p in per], lw=1.5, label=f"{team} offered")
        color = line.get_edgecolor()
        if any(mean_of(p["deflected"]) for p in per):
            step(top, [mean_of(p["deflected"]) for p in per], lw=1, ls=":", color=color, label=f"{team} chatbot")
        step(middle, [mean_of(p["service_level"]) for p in per], lw=1.5, color=color, label=team)
        step(bottom, [mean_of(p["agents"]) for p in per], lw=1.5, color=color, label=f"{team} agents on duty")
        step(bottom, [mean_of(p["busy_agents"]) for p in per], lw=1, ls="--", color=color, label=f"{team} busy")
    middle.axhline(
        support["service_level_target"],
        color="crimson",
        ls="--",
        lw=1,
        label=f"target {support['service_level_target']:.0%} within {support['answer_within_s']:g} s",
    )
    middle.set_ylim(0, 1.05)
    top.set_ylabel("contacts")
    top.set_title(f"Contacts reaching each team per {support['interval_s'] / 60:g}-minute interval")
    middle.set_ylabel("service level")
    middle.set_title("Share answered within the target time (of contacts offered in the interval)")
    bottom.set_ylabel("agents")
    bottom.set_title("Agents on duty and busy (mean over the interval; chat: busy chats / concurrency)")
    for ax in (top, bottom):
        ax.set_ylim(bottom=0)
    for ax in (top, middle, bottom):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, ncol=2)
    clock_axis(bottom, start)
    save(fig, path)


def write_report(directory: Path, result: RunResult | SavedRun) -> None:
    """traffic.png, latency.png, stock.png, outcomes.png (waiting_room.png) and report.html showing them."""
    directory.mkdir(parents=True, exist_ok=True)
    start = result.scenario.clock.start_time
    header, rows = result.timeseries
    cols = by_column(header, rows)
    firings = result.summary["contingency"]
    plot_traffic(cols, header, start, directory / "traffic.png", firings, result.summary.get("incident_log", []))
    plot_latency(result.latency, start, directory / "latency.png")
    plot_stock(cols, header, start, directory / "stock.png", firings)
    plot_outcomes(cols, start, directory / "outcomes.png")
    if "waiting_room.queue" in cols:
        plot_waiting_room(cols, result.latency, start, directory / "waiting_room.png", firings)
    if "red_packets" in result.summary:
        plot_rains(cols, header, start, directory / "red_packets.png")
    if "presale" in result.summary:
        # the schema gives a presale its pay endpoint
        plot_presale(cols, result.scenario.system.endpoints.pay.pool, start, directory / "presale.png")  # type: ignore[union-attr]
    if "support" in result.summary:
        plot_support(result.summary["support"], start, directory / "support.png")
    found = moments(result.scenario, result.summary)
    images = draw_moments(found, result.summary, cols, header, start, directory)
    charts = [*interactive.horizon_charts(cols, header, start), interactive.latency_chart(result.latency, start)]
    moment_charts = [interactive.moment_chart(cols, header, m, start) for m in found]
    page = render_html(
        result.scenario.name,
        result.summary,
        [interactive.embed(c, f"chart-{k}") for k, c in enumerate(charts)],
        [interactive.embed(c, f"moment-{k}") for k, c in enumerate(moment_charts, start=1)],
        images,
    )
    (directory / "report.html").write_text(page)


def _html_table(heading: str, columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(heading)}</h2>\n<table><tr>{head}</tr>{body}</table>\n"


def _tables(summary: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) shared by the HTML page and the terminal table."""
    sh = summary["shoppers"]
    arrivals = mean_of(sh["arrivals"]) or 0
    shoppers = [["arrivals", fmt(sh["arrivals"]), "100.0%"]]
    for key in ["in_system", *(f"outcome_{o}" for o in OUTCOMES), "charged_but_gave_up"]:
        share = f"{(mean_of(sh[key]) or 0) / arrivals:.1%}" if arrivals else "-"
        shoppers.append([key.removeprefix("outcome_").replace("_", " "), fmt(sh[key]), share])
    endpoints = [
        [
            name,
            fmt(e["requests"]),
            fmt(e["served"]),
            fmt(e["rejected"]),
            fmt(e["timed_out"]),
            fmt(e["retries"]),
            fmt(e["amplification"], digits=2),
            fmt(e["wasted"]),
            fmt(e["latency_p50"], 1000),
            fmt(e["latency_p95"], 1000),
            fmt(e["latency_p99"], 1000),
        ]
        for name, e in summary["endpoints"].items()
    ]
    pools = [
        [
            name,
            fmt(p["workers"]),
            fmt(p["peak_workers"]),
            fmt(p["worker_hours"], digits=1),
            fmt(p["utilisation"], 100, 1, "%"),
            fmt(p["peak_queue"]),
        ]
        for name, p in summary["pools"].items()
    ]
    start = parse_clock(summary["clock_start"])
    stock = []
    for sku, s in summary["stock"].items():
        at = mean_of(s["sold_out_at"])
        stock.append(
            [
                sku,
                f"{fmt(s['sold'])} / {mean_of(s['initial']) or 0:,.0f}",
                fmt(s["expired"]),
                format_clock(start, at) if at is not None else "never",
                fmt(s["revenue"], digits=2),
            ]
        )
    totals = [
        ["requests", fmt(summary["requests"])],
        ["error rate", fmt(summary["error_rate"], 100, 2, "%")],
        ["orders", fmt(summary["orders"])],
        ["revenue", fmt(summary["revenue"], digits=2)],
    ]
    room = summary.get("waiting_room")
    extra = []
    if room is not None:
        extra.append(
            (
                "Waiting room",
                ["", "value"],
                [
                    ["admitted", fmt(room["admitted"])],
                    ["left the queue", fmt(room["abandoned"])],
                    ["of which balked", fmt(room["balked"])],
                    ["told sold out", fmt(room["told_sold_out"])],
                    ["sessions expired", fmt(room["expired_sessions"])],
                    ["peak queue", fmt(room["peak_queue"])],
                    ["peak admitted inside", fmt(room["peak_active"])],
                    ["wait mean (s)", fmt(room["wait_mean"], digits=1)],
                    ["wait p95 (s)", fmt(room["wait_p95"], digits=1)],
                    ["wait p99 (s)", fmt(room["wait_p99"], digits=1)],
                ],
            )
        )
    presale = summary.get("presale")
    if presale is not None:
        extra.append(
            (
                "Presale",
                ["", "value"],
                [
                    [key.replace("_", " "), fmt(presale[key])]
                    for key in (
                        "deposit_orders",
                        "holders",
                        "closed_unpaid",
                        "turned_away",
                        "came_to_pay",
                        "balance_paid",
                        "gave_up",
                        "too_late",
                        "forfeited",
                        "returned_units",
                        "deposits",
                        "forfeited_deposits",
                    )
                ],
            )
        )
    pricing = summary.get("pricing")
    if pricing is not None:
        extra += _pricing_tables(pricing, start)
    rains = summary.get("red_packets", {})
    if rains:
        extra.append(
            (
                "Red-packet rains",
                ["rain", "participants", "taps", "served", "packets", "win rate", "spent / budget", "pool empty at"],
                [
                    [
                        name,
                        fmt(r["participants"]),
                        fmt(r["taps"]),
                        fmt(r["served_taps"]),
                        fmt(r["packets"]),
                        fmt(r["win_rate"], 100, 1, "%"),
                        f"{fmt(r['spent'])} / {fmt(r['budget'])}",
                        format_clock(start, mean_of(r["exhausted_at"]))  # type: ignore[arg-type]  # checked below
                        if mean_of(r["exhausted_at"]) is not None
                        else "never",
                    ]
                    for name, r in rains.items()
                ],
            )
        )
    support = summary.get("support")
    if support is not None:
        extra += _support_tables(support)
    firings = summary.get("contingency", [])
    if firings:
        extra.append(
            (
                "Contingency actions",
                ["rule", "replication", "fired", "takes effect", "why", "action"],
                [
                    [f["rule"], str(f["replication"]), f["fired_clock"], f["effective_clock"], f["reason"], f["action"]]
                    for f in firings
                ],
            )
        )
    warehouse = summary.get("fulfilment")
    if warehouse is not None:
        extra.append(
            (
                "Warehouse (paid orders picked, packed and shipped)",
                ["", "value"],
                [
                    [label, fmt(warehouse[key], *scale)]
                    for key, label, scale in (
                        ("orders", "orders in (paid, and restock units arrived)", ()),
                        ("restock_orders", "of which restock reservations", ()),
                        ("shipped", "shipped", ()),
                        ("backlog_at_end", "still to ship at the end", ()),
                        ("peak_backlog", "peak backlog", ()),
                        ("breach_rate", "shipped later than promised", (100, 1, "%")),
                        ("ship_mean_s", "mean time to ship", (1 / 3600, 1, " h")),
                        ("ship_p95_s", "p95 time to ship", (1 / 3600, 1, " h")),
                        ("staff_hours", "staff-hours", (1, 0, " h")),
                    )
                ],
            )
        )
    incidents = summary.get("incident_log", [])
    if incidents:
        extra.append(
            (
                "Incidents",
                ["incident", "replication", "from", "to", "what", "before: errors, p95", "back to it"],
                [
                    [
                        i["incident"],
                        str(i["replication"]),
                        i["start_clock"],
                        i["end_clock"],
                        i["what"],
                        f"{i['error_rate_before']:.1%}, "
                        + (f"{i['p95_before_s'] * 1000:,.0f} ms" if i["p95_before_s"] is not None else "-"),
                        _recovered(i),
                    ]
                    for i in incidents
                ],
            )
        )
    return [
        ("Shoppers and outcomes", ["", "shoppers", "% of arrivals"], shoppers),
        (
            "Endpoints",
            [
                "endpoint",
                "requests",
                "served",
                "rejected",
                "timed out",
                "retries",
                "amplification",
                "wasted",
                "p50 ms",
                "p95 ms",
                "p99 ms",
            ],
            endpoints,
        ),
        ("Pools", ["pool", "workers at end", "peak workers", "worker-hours", "utilisation", "peak queue"], pools),
        ("Stock", ["sku", "sold / initial", "expired", "sold out at", "revenue"], stock),
        ("Totals", ["", "value"], totals),
        *extra,
    ]


def _recovered(incident: dict) -> str:
    """When the shop came back to its level before an incident, or why that cannot be said."""
    if incident["recovered"]:
        return f"after {format_duration(incident['recovered_after_s'])}"
    if incident["recovered"] is None:
        return "too close to the horizon to tell"
    return "not by the horizon (metastable)"


def _support_tables(support: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """Support per team and per shift."""
    teams = [
        [
            team,
            fmt(t["offered"]),
            fmt(t["deflected"]),
            fmt(t["answered"]),
            fmt(t["abandoned"]),
            fmt(t["service_level"], 100, 1, "%"),
            fmt(t["asa"], digits=1),
            fmt(t["occupancy"], 100, 1, "%"),
            f"{fmt(t['agent_hours'], digits=1)} ({fmt(t['temporary_agent_hours'], digits=1)})",
            fmt(t["peak_queue"]),
        ]
        for team, t in support["teams"].items()
    ]
    shifts = [
        [
            name,
            f"{shift['start']}-{shift['end']}" + (" (temporary)" if shift["temporary"] else ""),
            team,
            str(t["agents"]),
            fmt(t["agent_hours"], digits=1),
            fmt(t["offered"]),
            fmt(t["service_level"], 100, 1, "%"),
            fmt(t["abandonment"], 100, 1, "%"),
        ]
        for name, shift in support["shifts"].items()
        for team, t in shift["teams"].items()
    ]
    within = f"within {support['answer_within_s']:g} s"
    return [
        (
            f"Support (service level: answered {within} / offered)",
            [
                "team",
                "offered",
                "chatbot",
                "answered",
                "abandoned",
                "service level",
                "ASA s",
                "occupancy",
                "agent-hours (temporary)",
                "peak queue",
            ],
            teams,
        ),
        (
            "Support shifts (contacts reaching the team while the shift is on)",
            ["shift", "hours", "team", "agents", "agent-hours", "offered", "service level", "abandonment"],
            shifts,
        ),
    ]


def _target_rows(summary: dict) -> list[tuple[str, str, str, bool]]:
    return [
        (t["target"], f"{t['bound']:g}", "-" if t["value"] is None else f"{t['value']:.4g}", bool(t["met"]))
        for t in summary.get("targets", [])
    ]


def render_html(
    name: str, summary: dict, charts: Sequence[str] = (), moment_charts: Sequence[str] = (), images: Sequence[str] = ()
) -> str:
    """report.html, one self-contained page: targets, the tables, interactive charts of the whole horizon and of
    the moments that matter (plotly.js inline: it works offline), then links to the same as PNG images."""
    title = html.escape(name)
    runs = (
        f"seed {summary['seed']}, {summary['replications']} replication(s), "
        f"start {summary['clock_start']}, "
        f"horizon {summary['horizon_s']:g} s; ± is the half-width of the 95% confidence interval"
    )
    parts = [
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>\n<style>"
        "body{font-family:sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#eee}.met{color:#080}.missed{color:#c00;font-weight:bold}"
        "img{max-width:100%}</style>",
        interactive.script() if charts or moment_charts else "",
        "</head><body>",
        f"<h1>{title}</h1>\n<p>{html.escape(runs)}</p>",
    ]
    targets = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{b}</td><td>{v}</td>"
        f"<td class='{'met' if met else 'missed'}'>{'met' if met else 'missed'}</td></tr>"
        for t, b, v, met in _target_rows(summary)
    )
    parts.append(
        f"<h2>Targets</h2>\n<table><tr><th>target</th><th>bound</th><th>value</th><th></th></tr>{targets}</table>\n"
    )
    parts += [_html_table(*table) for table in _tables(summary)]
    if charts:
        parts.append("<h2>The whole horizon</h2>\n<p>Drag to zoom, double-click to reset; click a legend entry to hide "
                     "or show it.</p>")  # fmt: skip
        parts += charts
    if moment_charts:
        parts.append("<h2>The moments that matter</h2>")
        parts += moment_charts
    pngs = [
        f"{stem}.png" for stem in FIGURES if stem not in (ROOM, "red_packets", "presale", "support") or stem in summary
    ]
    links = ", ".join(f"<a href='{html.escape(png)}'>{html.escape(png)}</a>" for png in [*pngs, *images])
    parts.append(f"<h2>As images</h2>\n<p>{links}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def summary_table(summary: dict) -> Group:
    """The run's key figures as rich tables, for the terminal."""
    tables = []
    for title, columns, rows in _tables(summary):
        table = Table(title=title, title_justify="left")
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # names are data, not markup
        tables.append(table)
    targets = Table(title="Targets", title_justify="left")
    for i, column in enumerate(["target", "bound", "value", ""]):
        targets.add_column(column, justify="left" if i == 0 else "right")
    target_rows = _target_rows(summary)
    for t, b, v, met in target_rows:
        targets.add_row(Text(t), b, v, Text("met", "green") if met else Text("missed", "bold red"))
    if target_rows:  # a scenario without targets gets no empty table
        tables.append(targets)
    return Group(*tables)
