"""Interactive charts for the pages: zoom, hover values, series on and off, offline.

Plotly draws them: it is well kept, its charts zoom, hover and toggle series with no code of ours, and its
JavaScript ships inside the Python package, so each page embeds it once and never fetches anything. A
chart of the whole horizon keeps at most POINTS points a series (the largest value of each stretch, so no
peak is lost); the moments that matter keep every second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from simulator.output.moments import Moment, moved_skus
from simulator.output.plotting import endpoint_names, prefixed
from simulator.units import ClockTime, format_clock

POINTS = 1500
"""Points a series keeps on a chart of the whole horizon."""
CONFIG = {"displaylogo": False, "responsive": True}
PALETTE = qualitative.Plotly


def script() -> str:
    """plotly.js, inline: the one script a page needs."""
    return f"<script type='text/javascript'>{get_plotlyjs()}</script>"


def embed(fig: go.Figure, name: str) -> str:
    """A chart's div and the call that draws it (plotly.js must come before)."""
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG, div_id=name))


def thin(values: np.ndarray, points: int = POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(index of each stretch's start, its largest value): a long series in at most `points` points."""
    n = len(values)
    if n <= points:
        return np.arange(n), values
    size = -(-n // points)
    padded = np.full(size * (-(-n // size)), -np.inf)
    padded[:n] = values
    return np.arange(0, n, size), padded.reshape(-1, size).max(axis=1)


def _clock(start: ClockTime, seconds: np.ndarray) -> list[str]:
    base = dt.datetime.combine(start.day or dt.date(2000, 1, 1), dt.time()) + dt.timedelta(seconds=start.second_of_day)
    return [(base + dt.timedelta(seconds=float(s))).isoformat(sep=" ") for s in seconds]


def _layout(fig: go.Figure, title: str, start: ClockTime, height: int) -> go.Figure:
    fig.update_layout(title=title, height=height, hovermode="x unified", margin={"l": 60, "r": 20, "t": 50, "b": 40})
    fig.update_xaxes(tickformat="%H:%M:%S" if start.day is None else "%H:%M:%S\n%b %d")
    return fig


def horizon_charts(cols: dict[str, np.ndarray], header: list[str], start: ClockTime) -> list[go.Figure]:
    """Traffic, queues and stock over the whole horizon."""
    t = cols["second"]

    def line(fig: go.Figure, values: np.ndarray, name: str, row: int, **style: Any) -> None:
        at, peak = thin(values)
        fig.add_trace(go.Scatter(x=_clock(start, t[at]), y=peak, name=name, mode="lines", **style), row=row, col=1)

    traffic = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                            subplot_titles=("per second (largest in each stretch)", "requests waiting"))  # fmt: skip
    line(traffic, cols["shoppers.arrivals"], "shopper arrivals", 1, line={"dash": "dot", "color": "black"})
    for ep in endpoint_names(header):
        line(traffic, cols[f"{ep}.requests"], f"{ep} requests", 1)
        errors = cols[f"{ep}.rejected"] + cols[f"{ep}.timed_out"]
        if errors.any():
            line(traffic, errors, f"{ep} errors", 1, line={"dash": "dash"})
    for pool in prefixed(header, "pool.", ".queue"):
        line(traffic, cols[f"pool.{pool}.queue"], f"{pool} queue", 2)
    if "waiting_room.queue" in cols:
        line(traffic, cols["waiting_room.queue"], "waiting room queue", 2, line={"color": "black"})
    stock = make_subplots(rows=1, cols=1)
    for sku in prefixed(header, "stock.", ".available"):
        line(stock, cols[f"stock.{sku}.available"], f"{sku} available", 1)
    return [
        _layout(traffic, "Traffic and queues", start, 650),
        _layout(stock, "Stock available", start, 350),
    ]


def latency_chart(latency: Sequence[dict[str, Any]], start: ClockTime) -> go.Figure:
    """p95 and p99 per endpoint, 10-second windows (log scale)."""
    fig = go.Figure()
    for ep in dict.fromkeys(r["endpoint"] for r in latency):
        mine = sorted((r for r in latency if r["endpoint"] == ep), key=lambda r: r["start"])
        for q, dash in (("p95", "dash"), ("p99", "solid")):
            values = np.array([r[q] * 1000 if r[q] else np.nan for r in mine])
            at, peak = thin(np.nan_to_num(values, nan=-np.inf))
            peak = np.where(np.isfinite(peak), peak, np.nan)
            x = _clock(start, np.array([mine[k]["start"] for k in at]))
            fig.add_trace(go.Scatter(x=x, y=peak, name=f"{ep} {q}", mode="lines", line={"dash": dash}))
    fig.update_yaxes(type="log", title="ms")
    return _layout(fig, "Latency (10 s windows)", start, 400)


def moment_chart(cols: dict[str, np.ndarray], header: list[str], moment: Moment, start: ClockTime) -> go.Figure:
    """One moment a second at a time: traffic, queues, and the stock that moved; x in seconds from its start."""
    t = cols["second"]
    inside = moment.inside(t)
    x = t[inside] - moment.start
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05)

    def step(values: np.ndarray, name: str, row: int, **style: Any) -> None:
        fig.add_trace(go.Scatter(x=x, y=values[inside], name=name, mode="lines", line_shape="hv", **style), row, 1)

    step(cols["shoppers.arrivals"], "shopper arrivals", 1, line={"dash": "dot", "color": "black"})
    for ep in endpoint_names(header):
        step(cols[f"{ep}.requests"], f"{ep} requests", 1)
        errors = cols[f"{ep}.rejected"] + cols[f"{ep}.timed_out"]
        if errors[inside].any():
            step(errors, f"{ep} errors", 1, line={"dash": "dash"})
    for pool in prefixed(header, "pool.", ".queue"):
        step(cols[f"pool.{pool}.queue"], f"{pool} queue", 2)
    for sku in moved_skus(cols, header, inside):
        step(cols[f"stock.{sku}.available"], f"{sku} available", 3)
    fig.update_xaxes(title=f"seconds after {format_clock(start, moment.start)}", row=3, col=1)
    fig.update_yaxes(title="per second", row=1, col=1)
    fig.update_yaxes(title="waiting", row=2, col=1)
    fig.update_yaxes(title="units", row=3, col=1)
    fig.update_layout(title=f"{moment.span(start)}: {moment.title}", height=650, hovermode="x unified",
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})  # fmt: skip
    return fig


def runs_chart(
    runs: dict[str, dict[str, np.ndarray]],
    panels: Sequence[tuple[str, str, Any]],
    start: ClockTime,
    title: str,
    window: tuple[float, float] | None = None,
) -> go.Figure:
    """One row per panel (title, y label, series of a run's columns or None), one line per run, the first (the
    baseline) dashed black; over the whole horizon thinned, or every second of `window`."""
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[p[0] for p in panels])  # fmt: skip
    for row, (_, label, series) in enumerate(panels, start=1):
        for k, (name, cols) in enumerate(runs.items()):
            y = series(cols)
            if y is None:
                continue
            t = cols["second"]
            if window is None:
                at, y = thin(y)
                x = _clock(start, t[at])
            else:
                inside = (t >= window[0]) & (t <= window[1])
                x, y = _clock(start, t[inside]), y[inside]
            colour = "black" if k == 0 else PALETTE[(k - 1) % len(PALETTE)]  # a run keeps its colour in every row
            style = {"line": {"dash": "dash" if k == 0 else "solid", "color": colour}}
            fig.add_trace(
                go.Scatter(x=x, y=y, name=name, legendgroup=name, showlegend=row == 1, mode="lines", **style), row, 1
            )
        fig.update_yaxes(title=label, row=row, col=1)
    return _layout(fig, title, start, 120 + 220 * len(panels))


def validation_charts(
    steps: Sequence[str],
    measured: dict[str, np.ndarray],
    predicted: dict[str, np.ndarray],
    measured_series: dict[str, dict[str, np.ndarray]],
    predicted_series: dict[str, dict[str, np.ndarray]],
    series: dict[str, str],
) -> list[go.Figure]:
    """Response-time distributions per step (measured and predicted, log time axis), and per step each series
    second by second, measured against predicted."""
    colours = {"measured": PALETTE[0], "predicted": PALETTE[1]}
    times = make_subplots(rows=1, cols=len(steps), subplot_titles=list(steps), shared_yaxes=True)
    for col, step in enumerate(steps, start=1):
        for kind, latency in (("measured", np.sort(measured[step])), ("predicted", np.sort(predicted[step]))):
            if len(latency):
                at = np.unique(np.linspace(0, len(latency) - 1, min(len(latency), POINTS)).astype(int))
                line = {"color": colours[kind], "shape": "hv"}
                cdf = go.Scatter(x=latency[at], y=(at + 1) / len(latency), name=kind, legendgroup=kind,
                                 showlegend=col == 1, mode="lines", line=line)  # fmt: skip
                times.add_trace(cdf, 1, col)
        times.update_xaxes(type="log", title="response time (s)", row=1, col=col)
    times.update_yaxes(title="share of answered requests", row=1, col=1)
    times.update_layout(title="Response times: load test (measured) vs flashsim (predicted)", height=380)
    titles = [f"{step}: {label}" for step in steps for label in series.values()]
    over = make_subplots(rows=len(steps), cols=len(series), subplot_titles=titles, shared_xaxes=True)
    for row, step in enumerate(steps, start=1):
        for col, name in enumerate(series, start=1):
            for kind, source in (("measured", measured_series), ("predicted", predicted_series)):
                values = source.get(step, {}).get(name)
                if values is not None:
                    over.add_trace(go.Scatter(y=values, name=kind, legendgroup=kind, showlegend=row == col == 1,
                                              mode="lines", line={"color": colours[kind]}), row, col)  # fmt: skip
    over.update_xaxes(title="seconds into the run", row=len(steps))
    over.update_layout(title="Over time: load test (measured) vs flashsim (predicted)", height=120 + 220 * len(steps))
    return [times, over]


def search_chart(runs: Sequence[Any]) -> go.Figure:
    """Each model run of a sizing: the value it tried of each knob, a filled marker where every target held."""
    fig = go.Figure()
    knobs = list(dict.fromkeys(k for r in runs for k in r.config))
    for k, knob in enumerate(knobs):
        tried = [(n, r.config[knob], all(r.passed.values())) for n, r in enumerate(runs, start=1) if knob in r.config]
        colour = PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=[n for n, _, _ in tried], y=[v for _, v, _ in tried], name=knob, mode="lines+markers",
            line={"color": colour, "width": 1}, text=["met" if ok else "missed" for _, _, ok in tried],
            marker={"size": 9, "symbol": ["circle" if ok else "circle-open" for _, _, ok in tried], "color": colour},
            hovertemplate="run %{x}: %{y} (%{text})",
        ))  # fmt: skip
    fig.update_xaxes(title="model run", dtick=1)
    fig.update_yaxes(title="value tried")
    fig.update_layout(title="The search: each run's values (filled: every target met)", height=380)
    return fig
