"""What people look at after `flashsim compare`: the side-by-side table, overlaid series, an HTML page."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table
from rich.text import Text

from simulator.analysis import BASELINE, Comparison, Row
from simulator.output import interactive
from simulator.output.data import SavedComparison, SavedRun
from simulator.output.plotting import by_column, clock_axis, endpoint_names, plt, prefixed, save, shade
from simulator.units import ClockTime, format_clock

if TYPE_CHECKING:
    from simulator.analysis import RunResult

FIGURES = {
    "compare-open": "Around the open: the first three minutes",
    "compare-traffic": "Traffic",
    "compare-queues": "Queues and servers",
    "compare-stock": "Stock",
}
ZOOM = (-30.0, 180.0)
"""Seconds around the first sale's open shown by compare-open: a flash sale is decided in them."""
UNITS = {
    "count": (1, 0, ""),
    "money": (1, 0, ""),
    "fraction": (100, 2, "%"),
    "seconds": (1, 2, " s"),
    "latency": (1000, 0, " ms"),
    "hours": (1, 1, " h"),
    "clock": (1, 0, " s"),
}
"""unit -> (scale, digits, suffix) for display; a clock figure's difference is in seconds."""
NOTE = (
    "± is the half-width of the 95% confidence interval; Δ is the paired difference, plan minus baseline "
    "replication by replication (common random numbers); * marks a Δ whose interval excludes 0."
)


# -- the table ----------------------------------------------------------------------------------------


def _number(x: float, digits: int, signed: bool = False, exact: bool = False) -> str:
    """Fixed digits; two significant ones when `exact` and fixed digits would round a non-zero value to 0."""
    sign = "+" if signed else ""
    if exact and x != 0 and round(x, digits) == 0:
        return f"{x:{sign}.2g}"
    x = round(x, digits) + 0.0  # + 0.0: no '-0'
    return f"{x:{sign},.{digits}f}" if x or not signed else "0"


def _half(leaf: dict[str, Any]) -> float:
    """Half-width of the 95% CI; 0 when there is none or it is float noise around an exact value."""
    ci = leaf.get("ci95")
    half = (ci[1] - ci[0]) / 2 if ci else 0.0
    return half if half > 1e-9 * max(1.0, abs(leaf["mean"] or 0)) else 0.0


def _value(leaf: dict[str, Any], unit: str, start: ClockTime, n: int) -> str:
    """A mean ± CI half-width; a clock label for instants; '(k/n)' when only k replications have a value."""
    mean = leaf["mean"]
    if mean is None:
        return "never" if unit == "clock" else "-"
    scale, digits, suffix = UNITS[unit]
    half = _half(leaf)
    if unit == "clock":
        text = format_clock(start, mean) + (f" ± {_number(half, digits)}{suffix}" if half else "")
    else:
        text = _number(mean * scale, digits) + (f" ± {_number(half * scale, digits)}" if half else "") + suffix
    missing = leaf.get("missing")
    return f"{text} ({n - missing}/{n})" if missing else text


def _diff(plan: dict[str, Any], unit: str) -> str:
    """'+1,234 ± 56 *': the paired difference, starred when significant."""
    leaf = plan["diff"]
    if leaf["mean"] is None:
        return "-"
    scale, digits, suffix = UNITS[unit]
    half = _half(leaf)
    significant = bool(plan["significant"])  # a significant difference never shows as 0
    text = _number(leaf["mean"] * scale, digits, signed=True, exact=significant)
    text += f" ± {_number(half * scale, digits, exact=significant)}" if half else ""
    return text + suffix + (" *" if significant else "")


def table_rows(comparison: Comparison | SavedComparison) -> tuple[list[str], list[tuple[Row, list[str]]]]:
    """Column names, and each row with its cells: shared by the terminal table and the HTML page."""
    start = comparison.baseline.scenario.clock.start_time
    n = comparison.baseline.summary["replications"]
    columns = ["figure", BASELINE]
    for name in comparison.plans:
        columns += [name, f"Δ {name}"]
    rows = []
    for row in comparison.rows:
        cells = [row.label, _value(row.baseline, row.unit, start, n)]
        for name in comparison.plans:
            cells += [_value(row.plans[name]["value"], row.unit, start, n), _diff(row.plans[name], row.unit)]
        rows.append((row, cells))
    return columns, rows


def comparison_table(comparison: Comparison | SavedComparison) -> Table:
    """The side-by-side table for the terminal."""
    columns, rows = table_rows(comparison)
    baseline = comparison.baseline
    table = Table(
        title=f"{baseline.scenario.name}: plans compared (seed {baseline.summary['seed']}, "
        f"{baseline.summary['replications']} replications each)",
        title_justify="left",
        caption=NOTE,
        caption_justify="left",
    )
    for i, column in enumerate(columns[:2] + comparison.plans):  # a plan's value and its Δ share a cell
        table.add_column(column, justify="left" if i == 0 else "right")
    for row, cells in rows:
        styled = [Text(cells[0]), Text(cells[1])]
        for i, name in enumerate(comparison.plans):
            value, diff = cells[2 + 2 * i : 4 + 2 * i]
            styled.append(Text.assemble(value, "\n", ("Δ " + diff, "bold" if row.plans[name]["significant"] else "")))
        table.add_row(*styled, end_section=True)  # names are data, not markup
    return table


# -- the figures -------------------------------------------------------------------------------------

Panel = tuple[str, str, Callable[[dict[str, np.ndarray]], np.ndarray | None]]
"""(title, y label, the series from a run's columns, or None where that run has none)."""


def _total(cols: dict[str, np.ndarray], names: list[str]) -> np.ndarray | None:
    present = [cols[n] for n in names if n in cols]
    return np.sum(present, axis=0) if present else None


def _panels(header: list[str], runs: dict[str, dict[str, np.ndarray]]) -> dict[str, list[Panel]]:
    """The panels of each figure, from the union of the runs' columns."""
    # mypy cannot type a lambda binding a loop variable by a default argument (mypy#15459): ignores below
    endpoints = endpoint_names(header)
    traffic: list[Panel] = [
        (
            "Requests per second, all endpoints",
            "requests/s",
            lambda c: _total(c, [f"{ep}.requests" for ep in endpoints]),
        ),
        (
            "Errors per second (rejected + timed out), all endpoints",
            "errors/s",
            lambda c: _total(c, [f"{ep}.{k}" for ep in endpoints for k in ("rejected", "timed_out")]),
        ),
        ("Shoppers in the system", "shoppers", lambda c: c.get("shoppers.in_system")),
    ]
    queues: list[Panel] = []
    for pool in prefixed(header, "pool.", ".queue"):
        queues.append(
            (f"Pool {pool}: queue length", "requests waiting", lambda c, pool=pool: c.get(f"pool.{pool}.queue"))  # type: ignore[misc]
        )
        workers = [c[f"pool.{pool}.workers"] for c in runs.values() if f"pool.{pool}.workers" in c]
        if any(w.min() != w.max() or w[0] != workers[0][0] for w in workers):  # flat and equal: nothing to see
            queues.append((f"Pool {pool}: servers", "workers", lambda c, pool=pool: c.get(f"pool.{pool}.workers")))  # type: ignore[misc]
    if "waiting_room.queue" in header:
        queues.append(("Waiting room: queue length", "shoppers waiting", lambda c: c.get("waiting_room.queue")))
    stock: list[Panel] = [
        (f"Stock {sku}: available", "units", lambda c, sku=sku: c.get(f"stock.{sku}.available"))  # type: ignore[misc]
        for sku in prefixed(header, "stock.", ".available")
    ]
    return {"compare-traffic": traffic, "compare-queues": queues, "compare-stock": stock}


def plot_panels(
    runs: dict[str, dict[str, np.ndarray]],
    panels: list[Panel],
    start: ClockTime,
    path: Path,
    xlim: tuple[float, float] | None = None,
    incidents: list[dict[str, Any]] | None = None,
) -> None:
    """One axes per panel, one line per run (the baseline dashed black), on a shared clock axis; the
    baseline's incidents shaded (common random numbers: a plan meets the same ones)."""
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(11, 0.6 + 2.6 * len(panels)), squeeze=False)
    colours = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10)
    # the baseline dashed and on top, so a plan that follows it does not hide it
    styles = {
        name: {"color": "black", "lw": 1.2, "ls": "--", "zorder": 3}
        if name == BASELINE
        else {"color": next(colours), "lw": 1.1}
        for name in runs
    }
    for ax, (title, ylabel, series) in zip(axes[:, 0], panels):
        for name, cols in runs.items():
            y = series(cols)
            if y is not None:
                inside = slice(None) if xlim is None else (cols["second"] >= xlim[0]) & (cols["second"] <= xlim[1])
                ax.plot(cols["second"][inside], y[inside], label=name, **styles[name])
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        shade(ax, incidents or [])
    axes[0, 0].legend(fontsize=8, ncol=min(len(runs), 5))
    clock_axis(axes[-1, 0], start)
    save(fig, path)


def write_report(directory: Path, comparison: Comparison | SavedComparison) -> list[str]:
    """The overlaid figures and compare.html; the stems of the figures written."""
    directory.mkdir(parents=True, exist_ok=True)
    runs = {name: by_column(*result.timeseries) for name, result in comparison.results.items()}
    header = list(dict.fromkeys(h for result in comparison.results.values() for h in result.timeseries[0]))
    start = comparison.baseline.scenario.clock.start_time
    panels = _panels(header, runs)
    opens = comparison.baseline.scenario.sales[0].open
    queues = [p for p in panels["compare-queues"] if p[1] != "workers"]
    panels = {"compare-open": panels["compare-traffic"] + queues, **panels}
    written, charts = [], []
    for stem, chosen in panels.items():
        if chosen:
            xlim = (opens + ZOOM[0], opens + ZOOM[1]) if stem == "compare-open" else None
            incidents = comparison.baseline.summary.get("incident_log", [])
            plot_panels(runs, chosen, start, directory / f"{stem}.png", xlim, incidents)
            written.append(stem)
            chart = interactive.runs_chart(runs, chosen, start, FIGURES[stem], xlim)
            charts.append(interactive.embed(chart, stem))
    (directory / "compare.html").write_text(render_html(comparison, written, charts))
    return written


# -- the page ----------------------------------------------------------------------------------------


def _described(result: RunResult | SavedRun, name: str) -> str:
    plan = result.scenario.plans.get(name)
    if plan is None:
        return ""
    overrides = ", ".join(f"{k} = {v}" for k, v in plan.set.items())
    return f"{plan.description} ({overrides})" if plan.description and overrides else plan.description or overrides


def render_html(comparison: Comparison | SavedComparison, figures: list[str], charts: list[str]) -> str:
    """compare.html: the plans, the side-by-side table and the overlaid series, as interactive charts (plotly.js
    inline: it works offline) with the figures' images linked."""
    baseline = comparison.baseline
    title = html.escape(f"{baseline.scenario.name}: plans compared")
    runs = (
        f"seed {baseline.summary['seed']}, {baseline.summary['replications']} replication(s) per plan, "
        f"start {baseline.scenario.clock.start}, horizon {baseline.scenario.clock.horizon:g} s. {NOTE}"
    )
    parts = [
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>\n<style>"
        "body{font-family:sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}th{background:#eee}td:first-child{text-align:left}"
        ".sig{font-weight:bold;background:#ffd}img{max-width:100%}</style>",
        interactive.script(),
        "</head><body>",
        f"<h1>{title}</h1>\n<p>{html.escape(runs)}</p>",
        "<h2>Plans</h2>\n<ul>",
    ]
    for name in comparison.plans:
        parts.append(f"<li><b>{html.escape(name)}</b>: {html.escape(_described(baseline, name))}</li>")
    parts.append("</ul>")
    columns, rows = table_rows(comparison)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row, cells in rows:
        tds = [f"<td>{html.escape(c)}</td>" for c in cells[:2]]
        for i, name in enumerate(comparison.plans):
            plan = row.plans[name]
            classes = " class='sig'" if plan["significant"] else ""  # up is good for revenue, bad for errors
            tds += [f"<td>{html.escape(cells[2 + 2 * i])}</td>", f"<td{classes}>{html.escape(cells[3 + 2 * i])}</td>"]
        body.append(f"<tr title='{html.escape(row.figure)}'>{''.join(tds)}</tr>")
    parts.append(f"<h2>Side by side</h2>\n<table><tr>{head}</tr>{''.join(body)}</table>")
    parts += ["<h2>Over time</h2>\n<p>Drag to zoom, double-click to reset; click a plan to hide or show it.</p>"]
    parts += charts
    links = ", ".join(f"<a href='{stem}.png'>{stem}.png</a>" for stem in figures)
    parts.append(f"<p>As images: {links}</p>")
    parts.append(
        f"<p>Data: compare.csv, compare.json; each run's own summary.json and timeseries.csv in "
        f"{html.escape(', '.join(f'{n}/' for n in comparison.results))}</p>\n</body></html>\n"
    )
    return "\n".join(parts)
