"""The moments that matter in a run, each drawn at the scale where it happens.

A flash sale is decided in the seconds after its open, a rain in its minute, a balance rush in its first
minutes: on a figure of the whole horizon each is a spike one pixel wide. The moments are read from the
scenario (sale opens, rains, the balance rush, live-stream drops) and from the run (contingency actions,
incidents); windows that overlap are drawn as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.output.plotting import clock_axis, endpoint_names, mark, plt, prefixed, save, shade
from simulator.scenario import Scenario
from simulator.units import ClockTime, format_clock

MOST = 24
"""Moments drawn at most (the earliest): a day of promotions has a few dozen."""


@dataclass(frozen=True)
class Moment:
    start: float
    end: float
    labels: tuple[str, ...]

    @property
    def title(self) -> str:
        return "; ".join(self.labels)

    def inside(self, seconds: np.ndarray) -> np.ndarray:
        """Which of the per-second samples fall in the window."""
        return (seconds >= self.start) & (seconds <= self.end)

    def span(self, start: ClockTime) -> str:
        """'2026-11-11 20:59:50-21:01:00': the window on the clock (the end's time of day only)."""
        return f"{format_clock(start, self.start)}-{format_clock(start, self.end)[-8:]}"


def moments(scenario: Scenario, summary: dict[str, Any]) -> list[Moment]:
    """The windows worth a close look, in time order, overlapping ones merged, clipped to the horizon."""
    horizon = scenario.clock.horizon
    found: list[tuple[float, float, str]] = []
    for at in sorted({sale.open for sale in scenario.sales}):
        names = [sale.name for sale in scenario.sales if sale.open == at]
        found.append((at - 10, at + 30, f"open of {', '.join(names[:3])}{' and more' if len(names) > 3 else ''}"))
    for sale in scenario.sales:
        if sale.members is not None and sale.members.early_access:
            at = sale.open - sale.members.early_access
            found.append((at - 10, at + 30, f"members' early open of {sale.name}"))
    for name, rain in scenario.red_packets.items():
        found.append((rain.start - 10, rain.start + rain.duration + 30, f"rain {name}"))
    if scenario.presale is not None:
        found.append((scenario.presale.balance_open - 60, scenario.presale.balance_open + 600, "balance rush"))
    for name, stream in scenario.live_streams.items():
        found += [(d.at - 10, d.at + 60, f"{name} drops {d.sale}") for d in stream.drops]
    for firing in summary.get("contingency", []):
        if firing["replication"] == 0:
            found.append((firing["effective_at"] - 60, firing["effective_at"] + 120, f"rule {firing['rule']}"))
    for incident in summary.get("incident_log", []):
        if incident["replication"] == 0:
            found.append((incident["start"] - 60, incident["end"] + 180, f"incident {incident['incident']}"))
    merged: list[Moment] = []
    for a, b, label in sorted((max(a, 0.0), min(b, horizon), label) for a, b, label in found):
        if b <= a:
            continue
        if merged and a <= merged[-1].end:
            last = merged[-1]
            labels = last.labels if label in last.labels else (*last.labels, label)
            merged[-1] = Moment(last.start, max(last.end, b), labels)
        else:
            merged.append(Moment(a, b, (label,)))
    return merged[:MOST]


def plot_moment(
    cols: dict[str, np.ndarray],
    header: list[str],
    moment: Moment,
    start: ClockTime,
    path: Path,
    firings: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
) -> None:
    """Three panels over the moment's window, a point a second: arrivals and requests with their errors, the
    pools' queues, and the stock of the SKUs that moved (or the shoppers inside when none did)."""
    t = cols["second"]
    inside = moment.inside(t)
    x = t[inside]
    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(11, 8))
    step = {"drawstyle": "steps-post", "lw": 1.2}
    top.plot(x, cols["shoppers.arrivals"][inside], label="shopper arrivals", color="black", ls=":", **step)
    for ep in endpoint_names(header):
        (line,) = top.plot(x, cols[f"{ep}.requests"][inside], label=f"{ep} requests", **step)
        errors = cols[f"{ep}.rejected"][inside] + cols[f"{ep}.timed_out"][inside]
        if errors.any():
            top.plot(x, errors, ls="--", color=line.get_color(), label=f"{ep} errors", **step)
    top.set_ylabel("per second")
    top.set_title(f"{moment.span(start)}: {moment.title}")
    for pool in prefixed(header, "pool.", ".queue"):
        middle.plot(x, cols[f"pool.{pool}.queue"][inside], label=f"{pool} queue", **step)
    if "waiting_room.queue" in cols:
        middle.plot(x, cols["waiting_room.queue"][inside], label="waiting room queue", color="black", **step)
    middle.set_ylabel("waiting")
    moved = moved_skus(cols, header, inside)
    for sku in moved:
        bottom.plot(x, cols[f"stock.{sku}.available"][inside], label=f"{sku} available", **step)
    if moved:
        bottom.set_ylabel("units")
    else:
        bottom.plot(x, cols["shoppers.in_system"][inside], label="shoppers in the journey", **step)
        bottom.set_ylabel("shoppers")
    for ax in (top, middle, bottom):
        ax.set_xlim(moment.start, moment.end)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, ncol=3)
        mark(ax, [f for f in firings if moment.start <= f["effective_at"] <= moment.end])
        shade(ax, incidents)
    clock_axis(bottom, start)
    save(fig, path)


def moved_skus(cols: dict[str, np.ndarray], header: list[str], inside: np.ndarray) -> list[str]:
    """The SKUs whose stock moved, or that took orders, in a window (the others would be flat lines)."""
    return [
        sku
        for sku in prefixed(header, "stock.", ".available")
        if np.ptp(cols[f"stock.{sku}.available"][inside]) > 0 or cols[f"stock.{sku}.orders"][inside].any()
    ]


def draw_moments(
    found: list[Moment], summary: dict[str, Any], cols: dict[str, np.ndarray], header: list[str], start: ClockTime,
    directory: Path,
) -> list[str]:  # fmt: skip
    """moment-<k>.png for each moment found: their file names."""
    firings, incidents = summary.get("contingency", []), summary.get("incident_log", [])
    names = [f"moment-{k:02d}.png" for k in range(1, len(found) + 1)]
    for moment, name in zip(found, names):
        plot_moment(cols, header, moment, start, directory / name, firings, incidents)
    return names
