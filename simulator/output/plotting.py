"""Shared plotting: the clock axis, saving, series read from timeseries.csv columns, markers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MultipleLocator

from simulator.units import ClockTime, format_clock


def mean_of(leaf: Any) -> float | None:
    return leaf.get("mean") if isinstance(leaf, dict) else None


def fmt(leaf: Any, scale: float = 1.0, digits: int = 0, suffix: str = "") -> str:
    """'1,234 ± 56' from {"mean", "ci95"}; '-' when there is no value."""
    mean = mean_of(leaf)
    if mean is None:
        return "-"
    text = f"{mean * scale:,.{digits}f}"
    ci = leaf.get("ci95")
    if ci and ci[1] > ci[0]:
        text += f" ± {(ci[1] - ci[0]) / 2 * scale:,.{digits}f}"
    return text + suffix


def clock_axis(ax: Any, start: ClockTime) -> None:
    span = ax.get_xlim()[1] - ax.get_xlim()[0]
    step = next((s for s in (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200) if span / s <= 10), 14400)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_clock(start, max(x, 0.0))))
    ax.set_xlabel("wall-clock time")
    ax.grid(True, alpha=0.3)


def save(fig: Any, path: Path) -> None:
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def by_column(header: list[str], rows: np.ndarray | list[list[float]]) -> dict[str, np.ndarray]:
    data = np.asarray(rows, dtype=float).reshape(len(rows), len(header))
    return {name: data[:, i] for i, name in enumerate(header)}


def endpoint_names(header: list[str]) -> list[str]:
    return [h[: -len(".requests")] for h in header if h.endswith(".requests")]


def prefixed(header: list[str], prefix: str, suffix: str) -> list[str]:
    return [h[len(prefix) : -len(suffix)] for h in header if h.startswith(prefix) and h.endswith(suffix)]


def shade(ax: Any, incidents: Sequence[dict[str, Any]]) -> None:
    """Incidents as grey bands from their start to their end (first replication's)."""
    for incident in (i for i in incidents if i.get("replication", 0) == 0):
        ax.axvspan(incident["start"], incident["end"], color="grey", alpha=0.15, lw=0)


def mark(ax: Any, firings: Sequence[dict[str, Any]]) -> None:
    """Contingency actions as vertical lines at the moment each takes effect (first replication's)."""
    for firing in (f for f in firings if f.get("replication", 0) == 0):
        ax.axvline(firing["effective_at"], color="crimson", ls="-.", lw=1, alpha=0.7)
        ax.annotate(
            firing["rule"],
            (firing["effective_at"], 1),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=7,
            color="crimson",
        )


def finish(fig: Any, axes: list[Any], start: ClockTime, path: Path) -> None:
    """Stacked panels from zero, gridded, with legends, on a clock axis; saved."""
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    clock_axis(axes[-1], start)
    save(fig, path)
